/**
 * What may suspend, from the best source at hand: the binary's metadata section (or the metadata
 * passed as `options.report`), the transform's report, or — with neither — everything. Also the stand-in
 * each suspending import returns while it starts an unwind: a value of its result type that JS converts
 * without effects (the types come from the metadata, else from the bytes).
 */
import { type AsyncifyMetadata, decodeMetadata, METADATA_SECTION } from './abi.js'
import type { TransformReport } from './types.js'

export interface Plan {
  meta: AsyncifyMetadata | null
  suspends(module: string, name: string): boolean
  exportSuspends(name: string): boolean
  /** Result types of an import in the text format, or null when unknown. */
  results(module: string, name: string): string[] | null
}

/** A stand-in no JS value converts to (a non-nullable function or GC reference, v128). */
export const NO_STAND_IN: unique symbol = Symbol('no stand-in')

export function readMetadata(module: WebAssembly.Module): AsyncifyMetadata | null {
  const payload = WebAssembly.Module.customSections(module, METADATA_SECTION)[0]
  return payload === undefined ? null : decodeMetadata(payload)
}

export const importKey = (module: string, name: string): string => `${module}\0${name}`

/**
 * `report` overrides the lists of `meta` (the binary's own); `fromBytes` reads the result types of every
 * import (`importKey` → types) when the metadata does not have them.
 */
export function makePlan(
  meta: AsyncifyMetadata | null,
  report: TransformReport | AsyncifyMetadata | undefined,
  fromBytes: (() => Map<string, string[]>) | null,
): Plan {
  if (report !== undefined && 'version' in report) meta = report
  const r = report !== undefined && !('version' in report) ? report : null
  const imports = r
    ? new Set(r.suspendingImports)
    : meta && new Set(meta.suspendingImports.map(([m, n]) => `${m}.${n}`))
  const exports = new Set((r ?? meta)?.suspendingExports)
  const results = new Map(
    meta?.suspendingImports.map(([m, n], i) => [importKey(m, n), meta.suspendingImportResults[i]]),
  )
  let parsed: Map<string, string[]> | undefined
  return {
    meta,
    suspends: (m, n) => imports?.has(`${m}.${n}`) ?? true,
    exportSuspends: n => (r ?? meta) === null || exports.has(n),
    results: (m, n) => {
      parsed ??= fromBytes?.() ?? new Map()
      return results.get(importKey(m, n)) ?? parsed.get(importKey(m, n)) ?? null
    },
  }
}

/** 0 for numbers, 0n for i64, null for nullable references, 0 for non-null extern/any/eq/i31 (an i31). */
export function standIn(types: string[] | null): unknown {
  const values = (types ?? []).map(t =>
    t === 'i64'
      ? 0n
      : /^(i32|f32|f64|\(ref (extern|any|eq|i31)\))$/.test(t)
        ? 0
        : t.startsWith('(ref null ')
          ? null
          : NO_STAND_IN,
  )
  return values.includes(NO_STAND_IN) ? NO_STAND_IN : values.length > 1 ? values : values[0]
}

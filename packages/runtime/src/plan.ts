/**
 * What may suspend, from the best source at hand: the binary's metadata section (or the metadata
 * passed as `options.report`), the transform's report, or — with neither — everything. Also the stand-in
 * value each suspending import returns while it starts an unwind (a value of its result type).
 */
import { type AsyncifyMetadata, decodeMetadata, METADATA_SECTION } from './abi.js'
import { NO_STAND_IN } from './asyncify.js'
import { customSection, importResults } from './binary.js'
import type { TransformReport } from './types.js'

export interface Plan {
  meta: AsyncifyMetadata | null
  suspends(module: string, name: string): boolean
  exportSuspends(name: string): boolean
  /** Result types of an import (text format), or null when unknown. */
  results(module: string, name: string): string[] | null
}

export function readMetadata(
  module: WebAssembly.Module | null,
  bytes: Uint8Array | null,
): AsyncifyMetadata | null {
  const payload =
    module !== null
      ? WebAssembly.Module.customSections(module, METADATA_SECTION)[0]
      : bytes && customSection(bytes, METADATA_SECTION)
  return payload == null ? null : decodeMetadata(payload)
}

const key = (module: string, name: string): string => `${module}\0${name}`

export function makePlan(
  meta: AsyncifyMetadata | null,
  report: TransformReport | AsyncifyMetadata | undefined,
  bytes: Uint8Array | null,
): Plan {
  if (report !== undefined && 'version' in report) meta = report
  let parsed: Map<string, string[]> | null | undefined
  const fromBytes = (module: string, name: string): string[] | null => {
    parsed ??= bytes && importResults(bytes)
    return parsed?.get(key(module, name)) ?? null
  }
  if (meta !== null) {
    const results = new Map(
      meta.suspendingImports.map(([m, n], i) => [key(m, n), meta.suspendingImportResults[i]]),
    )
    const exports = new Set(meta.suspendingExports)
    return {
      meta,
      suspends: (m, n) => results.has(key(m, n)),
      exportSuspends: n => exports.has(n),
      results: (m, n) => results.get(key(m, n)) ?? fromBytes(m, n),
    }
  }
  const r = report as TransformReport | undefined
  const imports = r && new Set(r.suspendingImports)
  const exports = r && new Set(r.suspendingExports)
  return {
    meta: null,
    suspends: (m, n) => imports?.has(`${m}.${n}`) ?? true,
    exportSuspends: n => exports?.has(n) ?? true,
    results: fromBytes,
  }
}

/** A value of the given result types that JS converts without effects (NO_STAND_IN when none does). */
export function standIn(types: string[] | null): unknown {
  if (types === null || types.length === 0) return undefined
  const values = types.map(t =>
    t === 'i64'
      ? 0n
      : t === 'i32' || t === 'f32' || t === 'f64' || /^\(ref (extern|any|eq|i31)\)$/.test(t)
        ? 0
        : t.startsWith('(ref null ')
          ? null
          : NO_STAND_IN,
  )
  if (values.includes(NO_STAND_IN)) return NO_STAND_IN
  return values.length === 1 ? values[0] : values
}

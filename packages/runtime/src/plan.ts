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
  /** What import `module.name` returns while it starts an unwind (`NO_STAND_IN` if nothing can be). */
  standIn(module: string, name: string): unknown
}

/** A stand-in no JS value converts to (a non-nullable function or GC reference, v128). */
export const NO_STAND_IN: unique symbol = Symbol()

/** The metadata in a `METADATA_SECTION` payload, if any. */
export const decode = (payload: ArrayBuffer | Uint8Array | null | undefined): AsyncifyMetadata | null =>
  payload ? decodeMetadata(payload) : null

export const readMetadata = (module: WebAssembly.Module): AsyncifyMetadata | null =>
  decode(WebAssembly.Module.customSections(module, METADATA_SECTION)[0])

/** `[module, name, result types]` of imports, as the byte reader gives them. */
export type ImportTypes = [string, string, string[]][]

/**
 * `report` (the transform's) overrides the lists of `meta`; `types` has the result types of every import
 * when there is no metadata (read from the bytes).
 */
export function makePlan(
  meta: AsyncifyMetadata | null,
  report: TransformReport | undefined,
  types: ImportTypes | null,
): Plan {
  const lists = report ?? meta
  const imports = report?.suspendingImports ?? meta?.suspendingImports.map(([m, n]) => `${m}.${n}`) ?? null
  const exports = new Set(lists?.suspendingExports)
  const suspending = new Set(imports)
  const results = new Map<string, string[]>()
  for (const [m, n, r] of types ??
    meta?.suspendingImports.map(([m, n], i): ImportTypes[0] => [m, n, meta.suspendingImportResults[i]]) ??
    [])
    results.set(`${m}.${n}`, r)
  return {
    meta,
    suspends: (m, n) => !imports || suspending.has(`${m}.${n}`),
    exportSuspends: n => !lists || exports.has(n),
    standIn: (m, n) => standIn(results.get(`${m}.${n}`) ?? []),
  }
}

/** 0 for numbers, 0n for i64, null for nullable references, 0 for non-null extern/any/eq/i31 (an i31). */
function standIn(types: string[]): unknown {
  const values = types.map(t =>
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

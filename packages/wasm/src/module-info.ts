/**
 * Facts derived from a module's declarations: index-space sizes, function types, memory widths.
 * Decoding, encoding and transforms all ask these questions, so they live below all of them (this
 * file imports only the IR types) and the decoder and the encoder never need to import each other.
 */
import type { ExternKind, Module } from './ir.js'
import type { FuncType } from './types.js'

/** How many imports of this kind the module has (they come first in that kind's index space). */
export function countImports(module: Module, kind: ExternKind): number {
  let n = 0
  for (const imp of module.imports) if (imp.desc.kind === kind) n++
  return n
}

/** The function type at `typeIndex`; throws when that type is not a function type. */
export function funcTypeAt(module: Module, typeIndex: number): FuncType {
  const t = module.types[typeIndex]?.composite
  if (t === undefined || t.kind !== 'func') throw new Error(`type ${typeIndex} is not a function type`)
  return t
}

/** Per memory index (imported memories first): whether it is a memory64, which decides memarg widths. */
export function memoriesIs64(module: Module): boolean[] {
  const out: boolean[] = []
  for (const imp of module.imports) if (imp.desc.kind === 'memory') out.push(imp.desc.memory.limits.is64)
  for (const m of module.memories) out.push(m.limits.is64)
  return out
}

/** The binaryen feature bits a module actually uses, so binaryen never re-emits with more than that. */
import {
  type Feature,
  type Instr,
  type Module,
  type StorageType,
  type ValType,
  walk,
} from '@unplugin-asyncify/wasm'

/** Bit values of binaryen 132's `Features` enum. */
export const F = {
  Atomics: 1 << 0,
  MutableGlobals: 1 << 1,
  NontrappingFPToInt: 1 << 2,
  SIMD128: 1 << 3,
  BulkMemory: 1 << 4,
  SignExt: 1 << 5,
  ExceptionHandling: 1 << 6,
  TailCall: 1 << 7,
  ReferenceTypes: 1 << 8,
  Multivalue: 1 << 9,
  GC: 1 << 10,
  Memory64: 1 << 11,
  RelaxedSIMD: 1 << 12,
  ExtendedConst: 1 << 13,
  MultiMemory: 1 << 15,
  BulkMemoryOpt: 1 << 19,
  CallIndirectOverlong: 1 << 20,
} as const

/**
 * What each proposal of the instruction table enables in binaryen (which bundles typed function references
 * with GC). The MVP-era extensions are always enabled (see the start of usedFeatures).
 */
const OP_FEATURE_BITS: Record<Feature, number> = {
  mvp: 0,
  'sign-extension': F.SignExt,
  'nontrapping-fptoint': F.NontrappingFPToInt,
  'bulk-memory': F.BulkMemory,
  'reference-types': F.ReferenceTypes | F.CallIndirectOverlong,
  simd: F.SIMD128,
  'relaxed-simd': F.SIMD128 | F.RelaxedSIMD,
  threads: F.Atomics,
  exceptions: F.ExceptionHandling,
  'tail-call': F.TailCall,
  'function-references': F.GC | F.ReferenceTypes,
  gc: F.GC | F.ReferenceTypes,
}

const GC_HEAPS = new Set(['any', 'eq', 'i31', 'struct', 'array', 'none'])

/** Every body must be lifted. */
export function usedFeatures(m: Module): number {
  let f: number = F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt
  const valType = (t: ValType | StorageType): void => {
    if (t === 'v128') f |= F.SIMD128
    else if (typeof t === 'object') {
      f |= F.ReferenceTypes | F.CallIndirectOverlong
      if (typeof t.heap === 'number' || GC_HEAPS.has(t.heap) || !t.nullable) f |= F.GC
      if (t.heap === 'exn' || t.heap === 'noexn') f |= F.ExceptionHandling
    }
  }
  for (const t of m.types) {
    const c = t.composite
    if (c.kind === 'func') {
      c.params.forEach(valType)
      c.results.forEach(valType)
      if (c.results.length > 1) f |= F.Multivalue
    } else {
      f |= F.GC
      for (const fld of c.kind === 'struct' ? c.fields : [c.field]) valType(fld.type)
    }
    if (t.supers.length > 0 || !t.final) f |= F.GC
  }
  if (m.recGroups.some(g => g.size > 1 || g.explicit)) f |= F.GC
  if (m.tags.length > 0 || m.imports.some(i => i.desc.kind === 'tag')) f |= F.ExceptionHandling
  const mems = [
    ...m.memories.map(x => x.limits),
    ...m.imports.flatMap(i => (i.desc.kind === 'memory' ? [i.desc.memory.limits] : [])),
  ]
  if (mems.length > 1) f |= F.MultiMemory
  if (mems.some(l => l.is64)) f |= F.Memory64
  if (mems.some(l => l.shared)) f |= F.Atomics
  const tables = m.tables.length + m.imports.filter(i => i.desc.kind === 'table').length
  if (tables > 1) f |= F.ReferenceTypes | F.CallIndirectOverlong
  for (const g of m.globals) {
    valType(g.type)
    if (g.init.length > 1) f |= F.ExtendedConst
  }
  for (const imp of m.imports) if (imp.desc.kind === 'global') valType(imp.desc.global.type)
  for (const t of m.tables) valType(t.refType)
  const visit = (ins: Instr): void => {
    f |= OP_FEATURE_BITS[ins.op.feature]
    if (ins.blockType !== undefined && typeof ins.blockType === 'number') f |= F.Multivalue
    if (ins.blockType !== undefined && ins.blockType !== null && typeof ins.blockType !== 'number')
      valType(ins.blockType)
    if (ins.selectTypes !== undefined) ins.selectTypes.forEach(valType)
  }
  for (const func of m.funcs) {
    const b = func.body
    if (b === null) throw new Error('internal: usedFeatures on a function that is not lifted')
    b.locals.forEach(valType)
    walk(b.body, visit)
  }
  return f
}

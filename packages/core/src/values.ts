/**
 * Stand-in values for non-nullable types: what an unwinding function returns (its callers are unwinding too
 * and ignore it). Built without side effects; the module may gain a small type or a declarative element
 * segment to make one.
 */
import {
  countImports,
  type Instr,
  type Module,
  opByCode,
  ref,
  type StorageType,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { defaultValue, I } from './build.js'

const refI31 = (): Instr => ({ op: opByCode(0xfb, 0x1c) })
const structNew = (type: number): Instr => ({ op: opByCode(0xfb, 0x00), type })
const structNewDefault = (type: number): Instr => ({ op: opByCode(0xfb, 0x01), type })
const arrayNewFixed = (type: number): Instr => ({ op: opByCode(0xfb, 0x08), type, count: 0 })

function addType(m: Module, composite: Module['types'][number]['composite']): number {
  m.types.push({ composite, final: true, supers: [], explicitSub: false })
  m.recGroups.push({ size: 1, explicit: false })
  return m.types.length - 1
}

/** A function of type `type` (exactly), declared so that `ref.func` may name it. */
function declaredFunction(m: Module, type: number | null): number | null {
  const imported = countImports(m, 'func')
  let found: number | null = null
  let i = 0
  for (const imp of m.imports) {
    if (imp.desc.kind !== 'func') continue
    if (type === null || imp.desc.type === type) {
      found = i
      break
    }
    i++
  }
  if (found === null) {
    const d = m.funcs.findIndex(f => type === null || f.type === type)
    if (d >= 0) found = imported + d
  }
  if (found === null) return null
  const f = found
  if (!m.elems.some(e => e.funcs?.includes(f)))
    m.elems.push({
      mode: 'declarative',
      table: 0,
      offset: null,
      refType: ref('func'),
      funcs: [f],
      exprs: null,
      flags: 3,
    })
  return f
}

/**
 * Some value of type `t`, or null when none can be made (bottom types, an exnref, a function type no
 * function has, recursive non-nullable structs).
 */
export function makeValue(m: Module, t: ValType, seen: Set<number> = new Set()): Instr[] | null {
  const d = defaultValue(t)
  if (d !== null) return [d]
  if (typeof t === 'string') return null
  const h = t.heap
  if (h === 'i31' || h === 'eq' || h === 'any') return [I.i32(0), refI31()]
  if (h === 'extern') return [I.i32(0), refI31(), { op: opByCode(0xfb, 0x1b) }]
  if (h === 'struct') {
    const s = m.types.findIndex(x => x.composite.kind === 'struct' && x.composite.fields.length === 0)
    return [structNewDefault(s >= 0 ? s : addType(m, { kind: 'struct', fields: [] }))]
  }
  if (h === 'array') {
    const a = m.types.findIndex(x => x.composite.kind === 'array')
    return [arrayNewFixed(a >= 0 ? a : addType(m, { kind: 'array', field: { type: 'i8', mutable: false } }))]
  }
  if (h === 'func') {
    const f = declaredFunction(m, null)
    return f === null ? null : [{ op: opByCode(0, 0xd2), func: f }]
  }
  if (typeof h !== 'number' || seen.has(h)) return null
  const c = m.types[h]?.composite
  if (c === undefined) return null
  if (c.kind === 'array') return [arrayNewFixed(h)]
  if (c.kind === 'func') {
    const f = declaredFunction(m, h)
    return f === null ? null : [{ op: opByCode(0, 0xd2), func: f }]
  }
  if (c.fields.every(f => typeof f.type === 'string' || f.type.nullable)) return [structNewDefault(h)]
  seen.add(h)
  const parts: Instr[] = []
  for (const f of c.fields) {
    const v = makeValue(m, unpack(f.type), seen)
    if (v === null) return null
    parts.push(...v)
  }
  seen.delete(h)
  return [...parts, structNew(h)]
}

function unpack(t: StorageType): ValType {
  return t === 'i8' || t === 'i16' ? 'i32' : t
}

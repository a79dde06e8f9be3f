/** Stand-in values for non-nullable types (what an unwinding function returns: callers ignore it). */
import { type Instr, type Module, opByCode, type ValType } from '@unplugin-asyncify/wasm'
import { defaultValue, I } from './build.js'

const refI31 = (): Instr => ({ op: opByCode(0xfb, 0x1c) })

/**
 * Some value of type `t`, or null when none can be made without side effects (non-null exnref, bottom
 * types, function references with no function of that type to point at).
 */
export function makeValue(m: Module, t: ValType): Instr[] | null {
  const d = defaultValue(t)
  if (d !== null) return [d]
  if (typeof t === 'string') return null
  const h = t.heap
  if (h === 'i31' || h === 'eq' || h === 'any') return [I.i32(0), refI31()]
  if (h === 'extern') return [I.i32(0), refI31(), { op: opByCode(0xfb, 0x1b) }]
  if (typeof h === 'number') {
    const c = m.types[h]?.composite
    if (c?.kind === 'struct' && c.fields.every(f => typeof f.type === 'string' || f.type.nullable))
      return [{ op: opByCode(0xfb, 0x01), type: h }]
    if (c?.kind === 'array') return [{ op: opByCode(0xfb, 0x08), type: h, count: 0 }]
  }
  return null
}

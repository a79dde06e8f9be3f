// Small hand-built bodies for the unit tests of the rewrite's parts: a module with one import `sleep`
// (i32) → i32 (function 0), a memory, the state/data globals and stand-ins for the frame helpers.
import {
  emptyModule,
  type FuncBody,
  type Instr,
  type Module,
  opByName,
  typingContext,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { internFuncType } from '../src/api.js'
import type { FunctionEnv } from '../src/function-env.js'
import { StandIns } from '../src/unwind-throw.js'

export const op = (name: string, fields: Partial<Instr> = {}): Instr => ({ op: opByName(name), ...fields })
export const get = (local: number): Instr => op('local.get', { local })
export const set = (local: number): Instr => op('local.set', { local })
export const i32 = (v: number): Instr => op('i32.const', { i32: v })
/** A call of the import `sleep`. */
export const sleep = (): Instr => op('call', { func: 0 })

/** A module with `sleep` and one defined function of type (params) → (results) with `body`. */
export function moduleWith(
  params: ValType[],
  results: ValType[],
  body: FuncBody,
): { m: Module; type: number } {
  const m = emptyModule()
  const sleepType = internFuncType(m, ['i32'], ['i32'])
  m.imports.push({ module: 'env', name: 'sleep', desc: { kind: 'func', type: sleepType } })
  m.memories.push({ limits: { min: 1, max: null, shared: false, is64: false }, pageSizeLog2: null })
  m.globals.push(
    { type: 'i32', mutable: true, init: [i32(0)] },
    { type: 'i32', mutable: true, init: [i32(0)] },
  )
  const type = internFuncType(m, params, results)
  m.funcs.push({ type, body, raw: null, rawOffset: 0 })
  return { m, type }
}

/** A FunctionEnv for `m` whose helpers and slot functions are fake indices (the tests only read code). */
export function envFor(m: Module): FunctionEnv {
  const standIns = new StandIns(m)
  return {
    module: m,
    typing: typingContext(m),
    stateGlobal: 0,
    dataGlobal: 1,
    mem: 0,
    ptr: 'i32',
    blockType: (params, results) =>
      params.length === 0 && results.length <= 1 ? (results[0] ?? null) : internFuncType(m, params, results),
    helpers: { rewindTake: 101, unwindTake: 102 },
    rewindFunction: () => 120,
    refSlot: (_h, dir) => (dir === 'save' ? 110 : 111),
    standIns,
    throwing: { tag: null, isThrower: () => false, mayThrowUnwind: () => false },
  }
}

/** The names of the instructions of a list, structures as `name[...]` with their lists. */
export function shape(list: Instr[]): string {
  return list
    .map(ins => {
      const lists = [ins.body, ins.else].filter(l => l !== undefined).map(l => `[${shape(l)}]`)
      const imm = ins.local !== undefined ? ` ${ins.local}` : ins.i32 !== undefined ? ` ${ins.i32}` : ''
      return `${ins.op.name}${imm}${lists.join('')}`
    })
    .join(' ')
}

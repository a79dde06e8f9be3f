/** The asyncify control API the module exports (and serves to its own `asyncify.*` imports). */

import { API_NAMES, type ApiName, STATE } from '@unplugin-asyncify/runtime/abi'
import type { FuncBody, Instr, Module, ValType } from '@unplugin-asyncify/wasm'
import { I } from './build.js'

export interface ApiEnv {
  stateGlobal: number
  dataGlobal: number
  mem: number
  ptr: 'i32' | 'i64'
  typeFor(params: ValType[], results: ValType[]): number
}

/** The state each state-changing control function sets. */
const API_STATE: Record<Exclude<ApiName, 'get_state'>, number> = {
  start_unwind: STATE.unwinding,
  stop_unwind: STATE.normal,
  start_rewind: STATE.rewinding,
  stop_rewind: STATE.normal,
}

/** Builds the five API functions; returns their type and body, in API_NAMES order. */
export function apiFunctions(env: ApiEnv): { name: ApiName; type: number; body: FuncBody }[] {
  const p = env.ptr
  const endOffset = p === 'i64' ? 8 : 4
  // The buffer must not have overflowed: current > end means an unwind wrote past the end.
  const check: Instr[] = [
    I.globalGet(env.dataGlobal),
    I.load(`${p}.load`, env.mem, 0),
    I.globalGet(env.dataGlobal),
    I.load(`${p}.load`, env.mem, endOffset),
    I.plain(`${p}.gt_u`),
    I.ifElse(null, [I.unreachable()]),
  ]
  const out: { name: ApiName; type: number; body: FuncBody }[] = []
  for (const name of API_NAMES) {
    if (name === 'get_state') continue
    const takesData = name === 'start_unwind' || name === 'start_rewind'
    const body: Instr[] = [I.i32(API_STATE[name]), I.globalSet(env.stateGlobal)]
    if (takesData) body.push(I.localGet(0), I.globalSet(env.dataGlobal))
    body.push(...check.map(i => ({ ...i })))
    out.push({
      name,
      type: env.typeFor(takesData ? [p] : [], []),
      body: { kind: 'func', locals: [], body },
    })
  }
  out.push({
    name: 'get_state',
    type: env.typeFor([], ['i32']),
    body: { kind: 'func', locals: [], body: [I.globalGet(env.stateGlobal)] },
  })
  return out
}

/** Index of a plain (final, no supertype) function type with this signature, added if missing. */
export function internFuncType(m: Module, params: ValType[], results: ValType[]): number {
  const same = (a: ValType[], b: ValType[]): boolean =>
    a.length === b.length &&
    a.every((t, i) => {
      const u = b[i] as ValType
      return (
        t === u ||
        (typeof t === 'object' && typeof u === 'object' && t.heap === u.heap && t.nullable === u.nullable)
      )
    })
  for (let i = 0; i < m.types.length; i++) {
    const t = m.types[i]
    if (t === undefined || t.composite.kind !== 'func' || !t.final || t.supers.length > 0) continue
    if (same(t.composite.params, params) && same(t.composite.results, results)) return i
  }
  m.types.push({ composite: { kind: 'func', params, results }, final: true, supers: [], explicitSub: false })
  m.recGroups.push({ size: 1, explicit: false })
  return m.types.length - 1
}

/**
 * Shared bookkeeping of the asyncify buffer, called once by an instrumented function's entry (while
 * rewinding) and once by its exit (while unwinding): one bump of `current` per frame. Calls rather than
 * inline code: the bump inline made QuickJS's -O1 output 5% larger and its normal path slower in V8's
 * optimized code, which cold code should not affect.
 */
export interface FrameHelpers {
  /** (size: i32) → ptr: pops the frame of `size` bytes on top of the buffer, returns where it starts. */
  rewindTake: number
  /** (size: i32) → ptr: reserves a frame of `size` bytes, returns where it starts. */
  unwindTake: number
}

export function frameHelperFunctions(env: ApiEnv): { name: string; type: number; body: FuncBody }[] {
  const p = env.ptr
  const size: Instr[] = p === 'i64' ? [I.localGet(0), I.plain('i64.extend_i32_u')] : [I.localGet(0)]
  const current = (): Instr[] => [I.globalGet(env.dataGlobal), I.load(`${p}.load`, env.mem, 0)]
  const setCurrent = (value: Instr[]): Instr[] => [
    I.globalGet(env.dataGlobal),
    ...value,
    I.store(`${p}.store`, env.mem, 0),
  ]
  return [
    {
      name: 'asyncify_rewind_take',
      type: env.typeFor(['i32'], [p]),
      body: {
        kind: 'func',
        locals: [p],
        body: [...setCurrent([...current(), ...size, I.plain(`${p}.sub`), I.localTee(1)]), I.localGet(1)],
      },
    },
    {
      name: 'asyncify_unwind_take',
      type: env.typeFor(['i32'], [p]),
      body: {
        kind: 'func',
        locals: [p],
        body: [...setCurrent([...current(), I.localTee(1), ...size, I.plain(`${p}.add`)]), I.localGet(1)],
      },
    },
  ]
}

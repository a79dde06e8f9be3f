// Part 2 of the rewrite (flow-rewrite.ts) on small hand-built bodies: what a site becomes, which code is
// guarded, how values below a call are kept, and how a structure a rewind may pass through is skipped.
import { type FuncBody, type Instr, typingContext } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { FlowRewrite, TempPool } from '../src/flow-rewrite.js'
import { prepareFunction } from '../src/prepare-function.js'
import { envFor, get, i32, moduleWith, op, set, shape, sleep } from './parts.js'

function rewrite(params: Instr['blockType'][] | 'i32'[], results: 'i32'[], body: FuncBody, sites: Instr[]) {
  const { m, type } = moduleWith(params as 'i32'[], results, body)
  const env = envFor(m)
  const fn = prepareFunction(typingContext(m), 'f', type, body, new Set(sites), new Set())
  const idx = fn.locals.add('i32')
  return { flow: new FlowRewrite(env, fn, idx).run(), fn, idx }
}

describe('FlowRewrite', () => {
  it('a lone call: its result goes to the local that takes it, then the unwind check; no guard', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), s, set(0), get(0)] }
    const { flow } = rewrite(['i32'], ['i32'], body, [s])
    // The target of any rewind entering the body is this call: nothing before it is guarded.
    expect(shape(flow.list)).toBe(
      'local.get 0 call local.set 0 i32.const 0 global.get br_if drop local.get 0',
    )
    expect(flow.unwindBranches[0]?.[0]?.target).toBe(flow.unwind)
  })

  it('code before a later call runs only in normal state; pure code stays unguarded', () => {
    const a = sleep()
    const b = sleep()
    const body: FuncBody = {
      kind: 'func',
      locals: [],
      body: [
        i32(1),
        a,
        op('drop'),
        i32(0),
        i32(0),
        op('i32.store', { align: 2, offset: 0, mem: 0 }),
        get(0),
        b,
      ],
    }
    const { flow } = rewrite(['i32'], ['i32'], body, [a, b])
    const text = shape(flow.list)
    // The first call is guarded by `idx <= 0`, the store by `state == 0`; the operand of b is a recomputed
    // local read, pushed inside b's part (no temp).
    expect(text).toContain('local.get 1 i32.const 0 i32.le_u if[i32.const 1 call drop')
    // The store, and the one operand of b, in one normal-state guard: while rewinding a default stands in.
    expect(text).toMatch(
      /global\.get i32\.eqz if\[i32\.const 0 i32\.const 0 i32\.store local\.get 0\]\[i32\.const 0\] call i32\.const 1 global\.get br_if drop$/,
    )
    expect(flow.guards.size).toBeGreaterThan(0)
  })

  it('a value below a call is stored where it is produced and pushed back after it', () => {
    const s = sleep()
    const body: FuncBody = {
      kind: 'func',
      locals: [],
      body: [get(0), i32(7), op('i32.mul'), i32(5), s, op('i32.add')],
    }
    const { flow, fn } = rewrite(['i32'], ['i32'], body, [s])
    const text = shape(flow.list)
    // i32.mul's result goes to a temp (local 2, after idx) inside a normal-state guard; the constant
    // operand is made again at the call; the call's result goes to a temp too; both come back after.
    expect(text).toBe(
      'global.get i32.eqz if[local.get 0 i32.const 7 i32.mul local.set 2] i32.const 5 call local.set 3 ' +
        'i32.const 0 global.get br_if drop local.get 2 local.get 3 i32.add',
    )
    expect(fn.locals.types.length).toBe(4)
  })

  it('a structure a rewind may pass through is wrapped in $after, which its tail leaves when skipping', () => {
    const a = sleep()
    const b = sleep()
    const blk = op('block', {
      blockType: null,
      body: [i32(1), a, op('drop'), i32(0), i32(0), op('i32.store', { align: 2, offset: 0, mem: 0 })],
    })
    const body: FuncBody = { kind: 'func', locals: [], body: [blk, i32(2), b] }
    const { flow } = rewrite([], ['i32'], body, [a, b])
    const after = flow.list[0] as Instr
    expect(after.op.name).toBe('block')
    expect(after.body?.[0]).toBe(blk)
    // The tail of the inner list (the store) runs only in normal state, else leaves for $after.
    const tail = blk.body?.at(-1) as Instr
    expect(tail.op.name).toBe('if')
    expect(tail.else?.[0]?.op.name).toBe('br')
    expect(tail.else?.[0]?.target).toBe(after)
  })
})

describe('FlowRewrite: code a passing rewind cannot reach stays unguarded', () => {
  const store = () => [i32(0), i32(0), op('i32.store', { align: 2, offset: 0, mem: 0 })]

  it('an if arm without sites: a rewind passes through the arm holding them, so the other is not guarded', () => {
    const a = sleep()
    const b = sleep()
    const branch = op('if', { blockType: null, body: [i32(1), a, op('drop')], else: store() })
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), branch, i32(2), b] }
    const { flow } = rewrite(['i32'], ['i32'], body, [a, b])
    // While rewinding the condition is 1 (the then arm, which skips to $after when the target is b).
    expect(shape(flow.list)).toContain('i32.const 1 global.get i32.const 2 i32.ne select if[')
    expect(shape(branch.else ?? [])).toBe('i32.const 0 i32.const 0 i32.store')
  })

  it("the last block of a list a rewind passes through leaves by the list's skip block at its end", () => {
    const a = sleep()
    const b = sleep()
    // Like a C switch: the case code after the inner block's end is reached by a branch to its label.
    const inner = op('block', { blockType: null, body: [i32(1), a, op('drop')] })
    const outer = op('block', { blockType: null, body: [inner, ...store()] })
    const body: FuncBody = { kind: 'func', locals: [], body: [outer, i32(2), b] }
    const { flow } = rewrite([], ['i32'], body, [a, b])
    const after = flow.list[0] as Instr
    expect(after.body?.[0]).toBe(outer)
    // The inner block is not wrapped: its list ends by leaving for the outer $after while rewinding ...
    expect(shape(outer.body ?? [])).toBe(
      'block[local.get 0 i32.const 0 i32.le_u if[i32.const 1 call drop i32.const 0 global.get br_if drop] ' +
        'global.get br_if] ' +
        'i32.const 0 i32.const 0 i32.store',
    )
    expect(inner.body?.at(-1)?.target).toBe(after)
    // ... so the store after it needs no guard. (Without the leave, a rewind targeting b would run it.)
  })
})

describe('FlowRewrite: normal-state code joins the holder before it', () => {
  const store = () => [i32(0), i32(0), op('i32.store', { align: 2, offset: 0, mem: 0 })]

  it("after a call: the code up to the next call goes inside the call's guard", () => {
    const a = sleep()
    const b = sleep()
    const body: FuncBody = {
      kind: 'func',
      locals: [],
      body: [i32(1), a, op('drop'), ...store(), get(0), i32(7), op('i32.mul'), get(0), b, op('i32.add')],
    }
    const { flow } = rewrite(['i32'], ['i32'], body, [a, b])
    // `idx <= 0` holds exactly when the code after a may run: in normal state, or once a has resumed.
    expect(shape(flow.list)).toBe(
      'local.get 1 i32.const 0 i32.le_u if[i32.const 1 call drop i32.const 0 global.get br_if drop ' +
        'i32.const 0 i32.const 0 i32.store local.get 0 i32.const 7 i32.mul local.set 2] ' +
        'local.get 0 call local.set 3 i32.const 1 global.get br_if drop local.get 2 local.get 3 i32.add',
    )
  })

  it('an if without else that a rewind passes through: the then arm is taken and leaves at its end', () => {
    const a = sleep()
    const b = sleep()
    const branch = op('if', { blockType: null, body: [i32(1), a, op('drop')] })
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), branch, ...store(), i32(2), b] }
    const { flow } = rewrite(['i32'], ['i32'], body, [a, b])
    // Falling out of the if would run the store while rewinding to b.
    expect(shape(flow.list)).toContain('i32.const 1 global.get i32.const 2 i32.ne select if[')
    expect(shape((branch.body ?? []).slice(-2))).toBe('global.get br_if')
    expect(branch.body?.at(-1)?.target).toBe(flow.list[0])
  })
})

describe('TempPool', () => {
  it('reuses a temp of the same type once it is released; non-nullable values go to nullable temps', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), s] }
    const { m, type } = moduleWith(['i32'], ['i32'], body)
    const fn = prepareFunction(typingContext(m), 'f', type, body, new Set([s]), new Set())
    const pool = new TempPool(fn)
    const t1 = pool.take('i32')
    const t2 = pool.take('i32')
    expect(t2).not.toBe(t1)
    pool.release([t1])
    expect(pool.take('i32')).toBe(t1)
    const r = pool.take({ heap: 'any', nullable: false })
    expect(fn.locals.typeOf(r)).toEqual({ heap: 'any', nullable: true })
    expect(shape(pool.gets([r]))).toBe(`local.get ${r} ref.as_non_null`)
  })
})

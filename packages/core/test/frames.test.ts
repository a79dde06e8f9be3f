// Part 3 of the rewrite (frames.ts): save groups, the frame layout, and the body around the rewritten code.
import { type FuncBody, type Instr, typingContext } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { buildFrames, frameLayout, saveGroups } from '../src/frames.js'
import { rewriteFlow } from '../src/instrument-function.js'
import { LocalSet } from '../src/liveness.js'
import { prepareFunction } from '../src/prepare-function.js'
import { envFor, get, moduleWith, op, shape, sleep } from './parts.js'

const setOf = (size: number, locals: number[]): LocalSet => {
  const s = new LocalSet(size)
  for (const l of locals) s.add(l)
  return s
}

describe('saveGroups', () => {
  it('sites with the same live set share a group; forced locals join; idx and ptr are never saved', () => {
    const live = new Map([
      [0, setOf(8, [0, 1, 6])],
      [1, setOf(8, [0, 1])],
      [2, setOf(8, [2])],
    ])
    const { groups, groupOfSite } = saveGroups(3, live, new Map([[2, [3]]]), [6, 7])
    expect(groups.map(g => g.locals)).toEqual([
      [0, 1],
      [2, 3],
    ])
    expect(groupOfSite).toEqual([0, 0, 1])
  })

  it('saves the union at every site when per-site groups would cost much more code', () => {
    const live = new Map<number, LocalSet>()
    // 10 sites, each with its own 10 of 19 locals: 100 saves in all versus 19 for the union.
    for (let n = 0; n < 10; n++)
      live.set(
        n,
        setOf(
          32,
          Array.from({ length: 10 }, (_, k) => (n + k) % 20),
        ),
      )
    const { groups, groupOfSite } = saveGroups(10, live, new Map(), [])
    expect(groups).toHaveLength(1)
    expect(groups[0]?.locals).toHaveLength(19)
    expect(new Set(groupOfSite)).toEqual(new Set([0]))
  })
})

describe('frameLayout', () => {
  it('numbers take their size, references 4 bytes (a slot index)', () => {
    const { offsets, size } = frameLayout(
      ['i32', 'i64', 'v128', { heap: 'any', nullable: true }, 'f32'],
      [0, 1, 2, 3, 4],
    )
    expect(offsets).toEqual([0, 4, 12, 28, 32])
    expect(size).toBe(36)
  })
})

describe('buildFrames', () => {
  it('a prologue popping the frame and restoring while rewinding, the unwind exit pushing it', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: ['i64'], body: [get(0), s, get(0), op('i32.add')] }
    const { m, type } = moduleWith(['i32'], ['i32'], body)
    const env = envFor(m)
    const fn = prepareFunction(typingContext(m), 'f', type, body, new Set([s]), new Set())
    const idx = fn.locals.add('i32')
    const ptr = fn.locals.add('i32')
    const { flow, done, live } = rewriteFlow(env, fn, idx)
    // Param 0 is read after the call: live, saved. The i64 local is never read: not saved.
    expect(live.get(0)?.toArray()).toEqual([0])
    const r = buildFrames(env, fn, flow, live, done, { idx, ptr }, false)
    expect(r).toMatchObject({ saveBlocks: 1, maxFrameBytes: 8, savedLocals: 1 })
    const [prologue, , , , outer] = r.body as Instr[]
    expect(prologue?.op.name).toBe('global.get')
    expect(outer).toBe(done)
    // Rewinding: pop the 8-byte frame (helper 101), read the call index after the saved local, load local 0.
    expect(shape(r.body.slice(0, 4))).toBe(
      `global.get i32.const 2 i32.eq if[i32.const 8 call local.set ${ptr} local.get ${ptr} i32.load local.set ${idx} local.get ${ptr} i32.load local.set 0]`,
    )
    // Unwinding: the exit reserves 8 bytes (helper 102), saves local 0 and stores the call index after it.
    const tail = shape(done.body ?? [])
    expect(tail).toMatch(
      new RegExp(
        `^block\\[.*\\] local\\.set ${idx} i32\\.const 8 call local\\.set ${ptr} local\\.get ${ptr} local\\.get 0 i32\\.store local\\.get ${ptr} local\\.get ${idx} i32\\.store i32\\.const 0$`,
      ),
    )
  })

  it('leaves by throwing the tag when the function cannot return a stand-in', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), s, op('drop'), op('unreachable')] }
    const { m, type } = moduleWith(['i32'], [{ heap: 'none', nullable: false } as never], body)
    const env = { ...envFor(m), throwing: { tag: 0, isThrower: () => true, mayThrowUnwind: () => false } }
    const fn = prepareFunction(typingContext(m), 'f', type, body, new Set([s]), new Set())
    const idx = fn.locals.add('i32')
    const ptr = fn.locals.add('i32')
    const { flow, done, live } = rewriteFlow(env, fn, idx)
    buildFrames(env, fn, flow, live, done, { idx, ptr }, true)
    expect(done.body?.at(-1)).toMatchObject({ op: { name: 'throw' }, tag: 0 })
  })
})

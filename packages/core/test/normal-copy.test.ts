// The normal-state copy (normal-copy.ts): which functions get one, and what it stores for the rewind.
import { type FuncBody, type Instr, typingContext } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { internFuncType } from '../src/api.js'
import { rewriteFlow } from '../src/instrument-function.js'
import {
  bodyWithCopy,
  buildNormalCopy,
  chooseNormalCopies,
  moveRewrittenBody,
  snapshotForCopy,
} from '../src/normal-copy.js'
import { prepareFunction } from '../src/prepare-function.js'
import { envFor, get, i32, moduleWith, op, shape, sleep } from './parts.js'

/** Prepares and rewrites `body` of type (i32) → (), then builds its copy. */
function copyOf(body: FuncBody, sites: Instr[], hostSites: Instr[] = []) {
  const { m, type } = moduleWith(['i32'], [], body)
  const env = envFor(m)
  const fn = prepareFunction(typingContext(m), 'f', type, body, new Set(sites), new Set(hostSites))
  const idx = fn.locals.add('i32')
  const snapshot = snapshotForCopy(env, fn)
  if (snapshot === null) throw new Error('no snapshot')
  const { flow } = rewriteFlow(env, fn, idx)
  const exits = buildNormalCopy(env, fn, flow, snapshot)
  // The copy is the body of its own `$unwind`, before the final `br $done`.
  return { env, fn, flow, exits, copy: exits?.unwind.body?.slice(0, -1) ?? null }
}

const CHECK = 'global.get br_if drop'

describe('buildNormalCopy', () => {
  it('copies the prepared body with an unwind check after each site, branches retargeted to the copy', () => {
    const s = sleep()
    const loop = op('loop', { blockType: null, body: [] })
    loop.body = [i32(5), s, op('drop'), get(0), op('br_if', { target: loop })]
    const { env, fn, exits, copy } = copyOf({ kind: 'func', locals: [], body: [loop] }, [s])
    if (copy === null || exits === null) throw new Error('no copy')
    expect(shape(copy)).toBe(`loop[i32.const 5 call i32.const 0 ${CHECK} drop local.get 0 br_if]`)
    const copied = copy[0] as Instr
    expect(copied).not.toBe(loop)
    expect(copied.body?.at(-1)?.target).toBe(copied)
    // The check is site 0's branch to the copy's own `$unwind` (frames.ts retargets it by save group).
    const check = copied.body?.[4] as Instr
    expect(check.target).toBe(exits.unwind)
    expect(exits.unwindBranches[0]).toEqual([check])
    expect(exits.unwind.body?.at(-1)?.target).toBe(exits.done)
    // At entry a rewind goes to the function holding the rewritten body (index 7 here), with the arguments.
    expect(shape(bodyWithCopy(env, fn, 7, exits))).toBe('global.get if[local.get 0 call return] block[]')
  })

  it('tees a value held in a temp across a site where it is produced', () => {
    const s = sleep()
    const mul = op('i32.mul')
    const body: FuncBody = {
      kind: 'func',
      locals: [],
      body: [get(0), get(0), mul, i32(5), s, op('i32.add'), op('drop')],
    }
    const { flow, copy } = copyOf(body, [s])
    const temp = flow.copy.tees.get(mul)
    expect(temp).toBeTypeOf('number')
    expect(shape(copy ?? [])).toBe(
      `local.get 0 local.get 0 i32.mul local.tee ${temp} i32.const 5 call i32.const 0 ${CHECK} i32.add drop`,
    )
  })

  it('stores the arguments of a site that may call host code where the rewritten body keeps them', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), i32(1), op('i32.add'), s, op('drop')] }
    const { flow, copy } = copyOf(body, [s], [s])
    const kept = flow.forced.get(0) ?? []
    expect(kept).toHaveLength(1)
    const t = kept[0]
    expect(shape(copy ?? [])).toBe(
      `local.get 0 i32.const 1 i32.add local.set ${t} local.get ${t} call i32.const 0 ${CHECK} drop`,
    )
  })

  it('gives up where a block parameter is held across a site', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [] }
    const { m } = moduleWith(['i32'], [], body)
    const bt = internFuncType(m, ['i32'], [])
    const block = op('block', { blockType: bt, body: [i32(5), s, op('drop'), op('drop')] })
    body.body = [get(0), block]
    const env = envFor(m)
    const type = internFuncType(m, ['i32'], [])
    const fn = prepareFunction(typingContext(m), 'f', type, body, new Set([s]), new Set())
    const snapshot = snapshotForCopy(env, fn)
    const { flow } = rewriteFlow(env, fn, fn.locals.add('i32'))
    expect(flow.copy.possible).toBe(false)
    expect(buildNormalCopy(env, fn, flow, snapshot as never)).toBeNull()
  })
})

describe('moveRewrittenBody', () => {
  it("retargets the branches to the function's own label, in every kind of branch", () => {
    const from: FuncBody = { kind: 'func', locals: [], body: [] }
    const inner = op('block', { blockType: null, body: [] })
    const br = op('br', { target: from })
    const table = op('br_table', { targets: [inner, from], target: from })
    inner.body = [br, table, op('br', { target: inner })]
    const to: FuncBody = { kind: 'func', locals: [], body: [inner] }
    moveRewrittenBody(from, to)
    expect([br.target, table.targets, table.target, inner.body[2]?.target]).toEqual([
      to,
      [inner, to],
      to,
      inner,
    ])
  })
})

describe('chooseNormalCopies', () => {
  /** A body of `size` instructions: `inLoops` sites inside a loop, padded with nops. */
  function body(inLoops: number, size: number, loop = true) {
    const sites = Array.from({ length: inLoops }, () => sleep())
    const calls = sites.flatMap(c => [i32(1), c, op('drop')])
    const inner = loop ? [op('loop', { blockType: null, body: calls })] : calls
    const pad = size - (loop ? 1 : 0) - calls.length
    return {
      body: {
        kind: 'func',
        locals: [],
        body: [...inner, ...Array.from({ length: pad }, () => op('nop'))],
      } as FuncBody,
      sites: new Set(sites),
    }
  }

  it('takes the functions with the most sites in loops first, each only if it still fits the budget', () => {
    const a = body(3, 40)
    const b = body(2, 20)
    const c = body(1, 10)
    const flat = body(5, 30, false)
    const { m } = moduleWith([], [], a.body)
    for (const f of [b, c, flat]) m.funcs.push({ type: 0, body: f.body, raw: null, rawOffset: 0 })
    const all = [a, b, c, flat]
    // 100 instructions in all: 30% fits a (40)? no; b (20) and c (10) do. flat never: no loop.
    expect(chooseNormalCopies(m, all, 30)).toEqual(new Set([b.body, c.body]))
    expect(chooseNormalCopies(m, all, 50)).toEqual(new Set([a.body, c.body]))
    expect(chooseNormalCopies(m, all, 100)).toEqual(new Set([a.body, b.body, c.body]))
    expect(chooseNormalCopies(m, all, 0)).toEqual(new Set())
  })

  it('counts the sites of a function once more for each call to it from inside a loop', () => {
    // g: two sites, no loop; f: a loop calling g three times. g's sites run 2 x 3 times a loop iteration.
    const g = body(2, 10, false)
    const callG = () => op('call', { func: 2 })
    const f = {
      kind: 'func',
      locals: [],
      body: [op('loop', { blockType: null, body: [callG(), callG(), callG()] })],
    } as FuncBody
    const { m } = moduleWith([], [], f)
    m.funcs.push({ type: 0, body: g.body, raw: null, rawOffset: 0 })
    // Function 1 is f (after the import), 2 is g. f's calls of g are sites of f too.
    const fSites = new Set((f.body[0]?.body ?? []) as Instr[])
    // 14 instructions in all; 75% fits g (10) but not f (4) after it: g goes first, 6 sites run vs 3.
    expect(chooseNormalCopies(m, [{ body: f, sites: fSites }, g], 75)).toEqual(new Set([g.body]))
    expect(chooseNormalCopies(m, [{ body: f, sites: fSites }, g], 100)).toEqual(new Set([g.body, f]))
  })
})

// Bodies nested far deeper than the JS stack allows a recursive pass to go (C++ switch lowering nests
// blocks thousands deep). Every pass of the rewrite is iterative; these modules are built straight in the
// IR, because binaryen's own parser and validator recurse over nesting too.
import { asyncify } from '@unplugin-asyncify/core'
import {
  emptyModule,
  encode,
  type FuncBody,
  type Instr,
  opByName,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { instantiateAsyncified } from '../helpers/asyncify-driver.js'
import { DRIVER, sleeper } from './shared.js'

const op = (name: string, fields: Partial<Instr> = {}): Instr => ({ op: opByName(name), ...fields })

/**
 * `main(x)`: t = x * 3, then `depth` nested structures (blocks, with a loop and an if every `every`
 * levels), at the bottom `t = t + sleep(x)`, and after them all `t`. An if at level k also keeps a
 * value on the stack below it (the level number), added to t after it: spills at every such level.
 */
function deepModule(depth: number, every = 0): Uint8Array<ArrayBuffer> {
  const m = emptyModule()
  const fn = (params: ValType[], results: ValType[]) => {
    m.types.push({
      composite: { kind: 'func', params, results },
      final: true,
      supers: [],
      explicitSub: false,
    })
    m.recGroups.push({ size: 1, explicit: false })
    return m.types.length - 1
  }
  const sleepType = fn(['i32'], ['i32'])
  m.imports.push({ module: 'env', name: 'sleep', desc: { kind: 'func', type: sleepType } })
  m.memories.push({ limits: { min: 1, max: null, shared: false, is64: false }, pageSizeLog2: null })
  m.exports.push({ name: 'memory', kind: 'memory', index: 0 })
  let list: Instr[] = [
    op('local.get', { local: 1 }),
    op('local.get', { local: 0 }),
    op('call', { func: 0 }),
    op('i32.add'),
    op('local.set', { local: 1 }),
  ]
  for (let d = depth; d > 0; d--) {
    if (every > 0 && d % every === 0) {
      const loop = op('loop', { blockType: null, body: list })
      list = [
        op('i32.const', { i32: d }),
        op('local.get', { local: 0 }),
        op('if', { blockType: null, body: [loop], else: [op('nop')] }),
        op('local.get', { local: 1 }),
        op('i32.add'),
        op('local.set', { local: 1 }),
      ]
    } else list = [op('block', { blockType: null, body: list })]
  }
  const body: FuncBody = {
    kind: 'func',
    locals: ['i32'],
    body: [
      op('local.get', { local: 0 }),
      op('i32.const', { i32: 3 }),
      op('i32.mul'),
      op('local.set', { local: 1 }),
      ...list,
      op('local.get', { local: 1 }),
    ],
  }
  m.funcs.push({ type: fn(['i32'], ['i32']), body, raw: null, rawOffset: 0 })
  m.exports.push({ name: 'main', kind: 'func', index: 1 })
  return encode(m)
}

/**
 * What main(x) returns, for a sleep returning `x + 100`. With x = 0 the outermost if (level `every`)
 * takes its else arm: nothing inside runs, nothing suspends.
 */
function expected(x: number, depth: number, every: number): number {
  if (x === 0 && every > 0) return every
  let t = x * 3 + x + 100
  if (every > 0) for (let d = every; d <= depth; d += every) t += d
  return t | 0
}

describe('deeply nested bodies', () => {
  it('a function nested 100,000 blocks deep with a suspending call at the bottom is instrumented and runs', async () => {
    const depth = 100_000
    const { binary, report } = await asyncify(deepModule(depth), {})
    expect(report.sites).toBe(1)
    expect(report.instrumented.map(f => f.name)).toEqual(['1'])
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('main', 7)).toEqual({ result: expected(7, depth, 0), unwinds: 1 })
    expect(sleep.calls).toEqual([[7]])
  }, 120_000)

  it('loops, ifs and spilled values every 100 levels of 20,000, with the if arms picked from the call index', async () => {
    const depth = 20_000
    const every = 100
    const { binary } = await asyncify(deepModule(depth, every), {})
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('main', 5)).toEqual({ result: expected(5, depth, every), unwinds: 1 })
    // x = 0 takes the else arms: nothing suspends.
    expect(await d.callWithStats('main', 0)).toEqual({ result: expected(0, depth, every), unwinds: 0 })
  }, 120_000)

  it('with -O1, asserts and relocatable too (every pass over every body)', async () => {
    const input = deepModule(5_000, 50)
    for (const options of [{ optimize: 1 as const }, { asserts: true }, { relocatable: true }]) {
      const { binary } = await asyncify(input, options)
      expect(WebAssembly.validate(binary), JSON.stringify(options)).toBe(true)
    }
  }, 120_000)
})

// The optimizer rows reach binaryen's process-wide settings for exactly one run, and change its output.
import { decode, liftFunction, printBody } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { asyncify } from '../src/asyncify.js'
import type { BinaryenApi, BinaryenModule } from '../src/binaryen.js'
import { optimizeModule, withBinaryenSettings } from '../src/optimize.js'
import { resolveOptions } from '../src/options.js'
import { watToWasm } from '../src/wat.js'

/** binaryen's global settings API over a plain record, logging the setters called. */
function fakeBinaryen(): { b: BinaryenApi; state: Record<string, unknown>; skipped: Set<string> } {
  const state: Record<string, unknown> = {
    OptimizeLevel: 2,
    ShrinkLevel: 1,
    LowMemoryUnused: false,
    ZeroFilledMemory: false,
    TrapsNeverHappen: false,
    FastMath: false,
    ClosedWorld: false,
    AllowInliningFunctionsWithLoops: false,
    AlwaysInlineMaxSize: 2,
    FlexibleInlineMaxSize: 20,
    OneCallerInlineMaxSize: -1,
  }
  const args = new Map<string, string | null>()
  const skipped = new Set<string>()
  const api: Record<string, unknown> = {
    getPassArgument: (k: string) => args.get(k) ?? null,
    setPassArgument: (k: string, v: string | null) => args.set(k, v),
    hasPassToSkip: (p: string) => skipped.has(p),
    addPassToSkip: (p: string) => skipped.add(p),
    clearPassesToSkip: () => skipped.clear(),
  }
  for (const key of Object.keys(state)) {
    api[`get${key}`] = () => state[key]
    api[`set${key}`] = (v: unknown) => {
      state[key] = v
    }
  }
  Object.defineProperty(state, 'passArgs', { get: () => Object.fromEntries(args), enumerable: false })
  return { b: api as unknown as BinaryenApi, state, skipped }
}

describe('withBinaryenSettings', () => {
  it('sets every optimizer row for the run and restores the previous settings', () => {
    const { b, state, skipped } = fakeBinaryen()
    const opts = resolveOptions({
      optimize: 'z',
      lowMemoryUnused: true,
      zeroFilledMemory: true,
      trapsNeverHappen: true,
      fastMath: true,
      closedWorld: true,
      inlineFunctionsWithLoops: true,
      alwaysInlineMaxSize: 7,
      flexibleInlineMaxSize: 30,
      oneCallerInlineMaxSize: 5,
      skipPasses: ['inlining'],
      passArgs: { 'directize-initial-contents-immutable': '1' },
    })
    const before = { ...state }
    const during = withBinaryenSettings(b, opts, () => ({
      ...state,
      passArgs: (state as { passArgs?: unknown }).passArgs,
      skipped: [...skipped],
    }))
    expect(during).toEqual({
      OptimizeLevel: 2,
      ShrinkLevel: 2,
      LowMemoryUnused: true,
      ZeroFilledMemory: true,
      TrapsNeverHappen: true,
      FastMath: true,
      ClosedWorld: true,
      AllowInliningFunctionsWithLoops: true,
      AlwaysInlineMaxSize: 7,
      FlexibleInlineMaxSize: 30,
      OneCallerInlineMaxSize: 5,
      passArgs: { 'directize-initial-contents-immutable': '1' },
      skipped: ['inlining'],
    })
    expect({ ...state }).toEqual(before)
    expect((state as { passArgs?: unknown }).passArgs).toEqual({
      'directize-initial-contents-immutable': null,
    })
    expect(skipped.size).toBe(0)
  })

  it('leaves binaryen’s inlining defaults alone unless asked, and restores after a throw', () => {
    const { b, state } = fakeBinaryen()
    expect(() =>
      withBinaryenSettings(b, resolveOptions({ optimize: 3, fastMath: true }), () => {
        expect(state).toMatchObject({
          OptimizeLevel: 3,
          ShrinkLevel: 0,
          FastMath: true,
          AlwaysInlineMaxSize: 2,
        })
        throw new Error('pass failed')
      }),
    ).toThrow('pass failed')
    expect(state).toMatchObject({ OptimizeLevel: 2, ShrinkLevel: 1, FastMath: false })
  })
})

describe('the optimizer rows change binaryen’s output', () => {
  const LOAD = `(module
    (import "env" "sleep" (func $sleep))
    (memory (export "memory") 1)
    (func $get (export "get") (param $p i32) (result i32)
      (i32.load (i32.add (local.get $p) (i32.const 8)))))`

  it('lowMemoryUnused lets binaryen fold an added constant into the load offset', async () => {
    const input = await watToWasm(LOAD, 'load.wat')
    const body = async (lowMemoryUnused: boolean): Promise<string> => {
      const { binary } = await asyncify(input, { optimize: 1, imports: [], lowMemoryUnused })
      return printBody(liftFunction(decode(binary), 0))
    }
    expect(await body(false)).toMatch(/i32\.add\s+i32\.load$/)
    expect(await body(true)).toMatch(/i32\.load offset=8$/)
  })

  it('converge optimizes until the size stops shrinking', async () => {
    const { b } = fakeBinaryen()
    const sizes = [100, 90, 80, 80, 70]
    let runs = 0
    const mod = {
      optimize: () => runs++,
      emitBinary: () => new Uint8Array(sizes[runs - 1] as number),
    } as unknown as BinaryenModule
    optimizeModule(b, mod, resolveOptions({ optimize: 2 }))
    expect(runs).toBe(1)
    runs = 0
    optimizeModule(b, mod, resolveOptions({ optimize: 2, converge: true }))
    expect(runs).toBe(4) // 100 → 90 → 80 → 80: stop
    const input = await watToWasm(LOAD, 'load.wat')
    const converged = await asyncify(input, { optimize: 'z', converge: true })
    expect(WebAssembly.validate(converged.binary)).toBe(true)
  })
})

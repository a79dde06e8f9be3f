// The drivers of test/helpers/asyncify-driver.ts: the suspend-everywhere runner the differential fuzzer
// uses (checked against plain runs, on our output and on binaryen's), and the async driver's edge cases.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type AsyncifyControl,
  instantiateAsyncified,
  runSuspendingEverywhere,
  STATE_NORMAL,
  suspendEverywhereImports,
} from '../helpers/asyncify-driver.js'
import { features, runWasmOpt } from '../helpers/binaryen.js'
import { build, DRIVER, LEVELS, wat } from './shared.js'

const PROGRAM = `(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "get" (func $get (param i32) (result i64)))
  (import "env" "half" (func $half (param f64) (result f64)))
  (import "env" "check" (func $check (param i32)))
  (import "env" "callB" (func $callB (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $fib (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (call $get (local.get $n)))
      (else (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "run") (param $n i32) (result i64) (local $i i32) (local $acc f64)
    (loop $l
      (call $log (local.get $i))
      (local.set $acc (f64.add (local.get $acc) (call $half (f64.convert_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add (call $fib (local.get $n)) (i64.trunc_f64_s (local.get $acc))))
  (func (export "checked") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (call $check (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "spin") (result i32) (local $i i32)
    (loop $l
      (call $log (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.get $i))
  (func (export "A") (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 3)) (call $callB (local.get $x))))
  (func (export "B") (param $y i32) (result i32)
    (call $log (local.get $y))
    (i32.wrap_i64 (call $get (local.get $y)))))`

interface Recorder {
  imports: Record<string, Record<string, unknown>>
  events: unknown[]
  setExports(e: WebAssembly.Exports): void
}

function recorder(): Recorder {
  const events: unknown[] = []
  let exports: WebAssembly.Exports = {}
  return {
    events,
    setExports: e => {
      exports = e
    },
    imports: {
      env: {
        log: (v: number) => events.push(['log', v]),
        get: (n: number) => {
          events.push(['get', n])
          return BigInt(n) * 1000n + 1n
        },
        half: (x: number) => {
          events.push(['half', x])
          return x / 2
        },
        check: (v: number) => {
          events.push(['check', v])
          if (v === 3) throw new Error('check failed at 3')
        },
        callB: (x: number) => {
          events.push(['callB', x])
          return (exports as { B(y: number): number }).B(x + 1)
        },
      },
    },
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'asyncify-driver-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function binaryenAsyncified(input: Uint8Array): Uint8Array {
  const inPath = join(tmp, 'in.wasm')
  const outPath = join(tmp, 'out.wasm')
  writeFileSync(inPath, input)
  runWasmOpt([inPath, '--asyncify', '-o', outPath])
  return new Uint8Array(readFileSync(outPath))
}

async function plainRun(name: string, args: unknown[]): Promise<{ result: unknown; events: unknown[] }> {
  const rec = recorder()
  const { instance } = await WebAssembly.instantiate(wat(PROGRAM), rec.imports as WebAssembly.Imports)
  rec.setExports(instance.exports)
  const result = (instance.exports[name] as (...a: unknown[]) => unknown)(...args)
  return { result, events: rec.events }
}

async function everywhere(binary: Uint8Array): Promise<{ instance: WebAssembly.Instance; rec: Recorder }> {
  const rec = recorder()
  const { instance } = await WebAssembly.instantiate(
    binary as BufferSource,
    suspendEverywhereImports(rec.imports),
  )
  rec.setExports(instance.exports)
  return { instance, rec }
}

describe('runSuspendingEverywhere', () => {
  describe.each(LEVELS)('optimize %s', optimize => {
    it('computes what the plain module computes, unwinding at every import call', async () => {
      const { binary } = await build(wat(PROGRAM), { optimize })
      const plain = await plainRun('run', [8])
      const { instance, rec } = await everywhere(binary)
      const r = runSuspendingEverywhere(instance, 'run', [8], { dataAddr: DRIVER.dataAddr })
      expect(r.result).toBe(plain.result)
      expect(rec.events).toEqual(plain.events)
      // 8 log + 8 half + 34 get (the leaves of fib(8))
      expect(r.unwinds).toBe(plain.events.length)
      expect(r.unwinds).toBe(50)
      // Again on the same instance.
      rec.events.length = 0
      expect(runSuspendingEverywhere(instance, 'run', [3], { dataAddr: DRIVER.dataAddr }).result).toBe(
        (await plainRun('run', [3])).result,
      )
    })

    it('a throwing import throws at once; the instance stays usable', async () => {
      const { binary } = await build(wat(PROGRAM), { optimize })
      const { instance, rec } = await everywhere(binary)
      expect(() => runSuspendingEverywhere(instance, 'checked', [10])).toThrow('check failed at 3')
      expect(rec.events).toEqual([0, 1, 2, 3].map(v => ['check', v]))
      expect((instance.exports as unknown as AsyncifyControl).asyncify_get_state()).toBe(STATE_NORMAL)
      expect(runSuspendingEverywhere(instance, 'checked', [3])).toEqual({ result: 3, unwinds: 3 })
    })

    it('re-entrant calls (import → export → import) run the inner imports without suspending', async () => {
      const { binary } = await build(wat(PROGRAM), { optimize })
      const plain = await plainRun('A', [5])
      const { instance, rec } = await everywhere(binary)
      const r = runSuspendingEverywhere(instance, 'A', [5])
      expect(r).toEqual({ result: plain.result, unwinds: 1 })
      expect(rec.events).toEqual(plain.events)
    })

    it('maxUnwinds stops a run, leaving the instance in the normal state', async () => {
      const { binary } = await build(wat(PROGRAM), { optimize })
      const { instance } = await everywhere(binary)
      expect(() => runSuspendingEverywhere(instance, 'spin', [], { maxUnwinds: 100 })).toThrow(
        /more than 100 unwinds/,
      )
      expect((instance.exports as unknown as AsyncifyControl).asyncify_get_state()).toBe(STATE_NORMAL)
      expect(runSuspendingEverywhere(instance, 'spin', [])).toEqual({ result: 1000, unwinds: 1000 })
    })

    it('suspend: only the imports the rewrite treats as suspending', async () => {
      const { binary, report } = await build(wat(PROGRAM), { optimize, imports: ['env.get'] })
      const rec = recorder()
      const { instance } = await WebAssembly.instantiate(
        binary,
        suspendEverywhereImports(rec.imports, { suspend: report.suspendingImports }),
      )
      rec.setExports(instance.exports)
      const plain = await plainRun('run', [8])
      expect(runSuspendingEverywhere(instance, 'run', [8])).toEqual({ result: plain.result, unwinds: 34 })
    })
  })

  it('works on binaryen asyncify output too', async () => {
    const { instance, rec } = await everywhere(binaryenAsyncified(wat(PROGRAM)))
    const plain = await plainRun('run', [8])
    expect(runSuspendingEverywhere(instance, 'run', [8])).toEqual({ result: plain.result, unwinds: 50 })
    expect(rec.events).toEqual(plain.events)
  })

  it('memory64 pointers are detected', async () => {
    const src = `(module
      (import "env" "next" (func $next (param i64) (result i64)))
      (memory (export "memory") i64 1)
      (func (export "sum") (param $n i64) (result i64) (local $i i64) (local $s i64)
        (loop $l
          (local.set $s (i64.add (local.get $s) (call $next (local.get $i))))
          (local.set $i (i64.add (local.get $i) (i64.const 1)))
          (br_if $l (i64.lt_u (local.get $i) (local.get $n))))
        (local.get $s)))`
    const { binary } = await build(wat(src, features.Memory64), {})
    const { instance } = await WebAssembly.instantiate(
      binary,
      suspendEverywhereImports({ env: { next: (i: bigint) => i * i } }),
    )
    expect(runSuspendingEverywhere(instance, 'sum', [10n])).toEqual({ result: 285n, unwinds: 10 })
  })
})

describe('instantiateAsyncified', () => {
  const SLEEP = `(module
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "main") (param $x i32) (result i32)
      (i32.add (local.get $x) (call $sleep (local.get $x)))))`

  it('a rejected promise is thrown into wasm after the rewind; the instance stays usable', async () => {
    const { binary } = await build(wat(SLEEP), {})
    const d = await instantiateAsyncified(
      binary,
      {
        env: {
          sleep: async (x: number) => {
            await Promise.resolve()
            if (x < 0) throw new Error(`negative ${x}`)
            return x
          },
        },
      },
      DRIVER,
    )
    await expect(d.call('main', -1)).rejects.toThrow('negative -1')
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
    expect(await d.callWithStats('main', 4)).toEqual({ result: 8, unwinds: 1 })
    expect([d.unwinds, d.rewinds]).toEqual([2, 2])
  })

  it('synchronous import results need no unwind; concurrent calls take separate buffers', async () => {
    const { binary } = await build(wat(SLEEP), {})
    let resolveAll: () => void = () => {}
    const gate = new Promise<void>(r => {
      resolveAll = r
    })
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: (x: number) => (x === 0 ? 0 : gate.then(() => x * 10)) } },
      { ...DRIVER, buffers: 2 },
    )
    expect(await d.callWithStats('main', 0)).toEqual({ result: 0, unwinds: 0 })
    const a = d.callWithStats('main', 1)
    const b = d.callWithStats('main', 2)
    await expect(d.call('main', 3)).rejects.toThrow(/more than 2 calls in flight/)
    resolveAll()
    expect(await Promise.all([a, b])).toEqual([
      { result: 11, unwinds: 1 },
      { result: 22, unwinds: 1 },
    ])
  })
})

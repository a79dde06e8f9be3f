// The asyncify ABI: buffer overflow traps, memory64 data, relocatable and exported globals, the data in a
// secondary memory, and the in-module `asyncify.*` imports driving a scheduler written in wasm.
import { asyncify } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import {
  type AsyncifyControl,
  instantiateAsyncified,
  readAsyncifyData,
  STATE_NORMAL,
  STATE_REWINDING,
  STATE_UNWINDING,
  writeAsyncifyData,
} from '../helpers/asyncify-driver.js'
import { features } from '../helpers/binaryen.js'
import { build, DRIVER, instrumentedNames, LEVELS, wat } from './shared.js'

const DEEP = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $rec (param $n i32) (param $a i64) (param $b i64) (result i64)
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.extend_i32_u (call $sleep (i32.const 0))))
      (else (i64.add (i64.add (local.get $a) (local.get $b))
                     (call $rec (i32.sub (local.get $n) (i32.const 1)) (local.get $b)
                                (i64.add (local.get $a) (i64.const 1)))))))
  (func $deep (export "deep") (param $n i32) (result i64)
    (call $rec (local.get $n) (i64.const 1) (i64.const 2))))`

function deepExpected(n: number, sleepResult: bigint): bigint {
  let a = 1n
  let b = 2n
  let sum = 0n
  for (let k = n; k > 0; k--) {
    sum += a + b
    ;[a, b] = [b, a + 1n]
  }
  return sum + sleepResult
}

const MEM64 = `(module
  (import "env" "sleep" (func $sleep (param i64) (result i64)))
  (memory (export "memory") i64 1)
  (func (export "main") (param $p i64) (result i64) (local $v i64)
    (i64.store (local.get $p) (i64.const 0x1122334455667788))
    (local.set $v (call $sleep (local.get $p)))
    (i64.add (local.get $v) (i64.load (local.get $p)))))`

// An imported global before the ones relocatable adds, and a defined one after: indices shift.
const GLOBALS = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "base" (global $base i32))
  (memory (export "memory") 1)
  (global $acc (mut i32) (i32.const 5))
  (func (export "acc") (result i32) (global.get $acc))
  (func (export "main") (param $x i32) (result i32)
    (global.set $acc (i32.add (global.get $acc) (global.get $base)))
    (i32.add (i32.mul (global.get $acc) (local.get $x)) (call $sleep (global.get $acc)))))`

const SINGLE_GLOBAL = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $x i32) (result i32)
    (i32.add (local.get $x) (call $sleep (local.get $x)))))`

// Writes at the same address the driver uses for its struct (1024) in the main memory.
const SECONDARY = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $x i32) (result i32)
    (i32.store (i32.const 1024) (i32.const 0x01020304))
    (i32.store (i32.const 1028) (i32.const 0x05060708))
    (i32.add (call $sleep (local.get $x))
             (i32.add (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))))`

const NO_MEMORY = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (func (export "main") (param $x i32) (result i32) (i32.add (local.get $x) (call $sleep (local.get $x)))))`

const TWO_MEMORIES = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory $a (export "memory") 1)
  (memory $b (export "aux") 1)
  (func (export "main") (param $x i32) (result i32)
    (i32.store $a (i32.const 1024) (i32.const 77))
    (i32.add (i32.load $a (i32.const 1024)) (i32.add (local.get $x) (call $sleep (local.get $x))))))`

// A coroutine scheduler in wasm on the module's own asyncify API: $yield unwinds (start_unwind) and, when
// rewound into, stops the rewind (stop_rewind); $step starts or resumes a coroutine (start_rewind) and
// stops its unwind (stop_unwind); `run` rotates over three coroutines until all are done.
const SCHEDULER = `(module
  (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
  (import "asyncify" "stop_unwind" (func $stop_unwind))
  (import "asyncify" "start_rewind" (func $start_rewind (param i32)))
  (import "asyncify" "stop_rewind" (func $stop_rewind))
  (import "asyncify" "get_state" (func $get_state (result i32)))
  (import "env" "emit" (func $emit (param i32)))
  (memory (export "memory") 1)
  (global $current (mut i32) (i32.const 0))
  (func $data (export "data") (param $k i32) (result i32)
    (i32.add (i32.const 1024) (i32.mul (local.get $k) (i32.const 512))))
  (func (export "set_current") (param $k i32) (global.set $current (local.get $k)))
  (func $yield
    (local $d i32)
    (if (i32.eq (call $get_state) (i32.const 2))
      (then (call $stop_rewind) (return)))
    (local.set $d (call $data (global.get $current)))
    (i32.store (local.get $d) (i32.add (local.get $d) (i32.const 8)))
    (i32.store offset=4 (local.get $d) (i32.add (local.get $d) (i32.const 512)))
    (call $start_unwind (local.get $d)))
  (func $co (export "co") (param $id i32) (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $v i32)
    (loop $l
      (local.set $v (i32.add (i32.mul (local.get $id) (i32.const 10)) (local.get $i)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (local.get $v)))
      (call $emit (local.get $v))
      (call $yield)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  ;; Starts (resume = 0) or resumes coroutine k; returns 1 once it has finished.
  (func $step (param $k i32) (param $n i32) (param $resume i32) (result i32) (local $r i32)
    (global.set $current (local.get $k))
    (if (local.get $resume) (then (call $start_rewind (call $data (local.get $k)))))
    (local.set $r (call $co (local.get $k) (local.get $n)))
    (if (result i32) (i32.eq (call $get_state) (i32.const 1))
      (then (call $stop_unwind) (i32.const 0))
      (else (call $emit (i32.add (i32.const 1000) (local.get $r))) (i32.const 1))))
  (func $run (export "run") (param $n i32) (result i32) (local $k i32) (local $done i32) (local $round i32) (local $j i32)
    (loop $start
      (if (call $step (local.get $k) (local.get $n) (i32.const 0))
        (then (local.set $done (i32.or (local.get $done) (i32.shl (i32.const 1) (local.get $k))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $start (i32.lt_u (local.get $k) (i32.const 3))))
    (block $all_done
      (loop $rounds
        (br_if $all_done (i32.eq (local.get $done) (i32.const 7)))
        (local.set $j (i32.const 0))
        (loop $turn
          (local.set $k (i32.rem_u (i32.add (local.get $round) (local.get $j)) (i32.const 3)))
          (if (i32.eqz (i32.and (local.get $done) (i32.shl (i32.const 1) (local.get $k))))
            (then (if (call $step (local.get $k) (local.get $n) (i32.const 1))
              (then (local.set $done (i32.or (local.get $done) (i32.shl (i32.const 1) (local.get $k))))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $turn (i32.lt_u (local.get $j) (i32.const 3))))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br $rounds)))
    (local.get $round)))`

/** The emits of SCHEDULER's run(n): values id*10+i, and 1000+result when a coroutine finishes. */
function schedulerExpected(n: number): number[] {
  const out: number[] = []
  const next = [0, 0, 0]
  const acc = [0, 0, 0]
  const step = (id: number): boolean => {
    if (next[id]! > 0 && next[id]! >= n) {
      out.push(1000 + acc[id]!)
      return true
    }
    const v = id * 10 + next[id]!
    acc[id] = acc[id]! * 3 + v
    out.push(v)
    next[id]!++
    return false
  }
  let done = 0
  for (let k = 0; k < 3; k++) if (step(k)) done |= 1 << k
  for (let round = 0; done !== 7; round++)
    for (let j = 0; j < 3; j++) {
      const k = (round + j) % 3
      if (!(done & (1 << k)) && step(k)) done |= 1 << k
    }
  return out
}

describe.each(LEVELS)('optimize %s', optimize => {
  it('stack-buffer overflow: stop_unwind traps, and all four control functions trap while current > end', async () => {
    const { binary } = await build(wat(DEEP), { optimize })
    let ex: AsyncifyControl & { memory: WebAssembly.Memory; deep(n: number): bigint }
    const { instance } = await WebAssembly.instantiate(binary, {
      env: {
        sleep: () => {
          if (ex.asyncify_get_state() === STATE_REWINDING) {
            ex.asyncify_stop_rewind()
            return 9
          }
          ex.asyncify_start_unwind(writeAsyncifyData(ex.memory, 1024, 16, false))
          return 0
        },
      },
    })
    ex = instance.exports as unknown as typeof ex
    ex.deep(20)
    expect(ex.asyncify_get_state()).toBe(STATE_UNWINDING)
    const { current, end } = readAsyncifyData(ex.memory, 1024, false)
    expect(end).toBe(1024 + 8 + 16)
    expect(current).toBeGreaterThan(end)
    expect(() => ex.asyncify_stop_unwind()).toThrow(WebAssembly.RuntimeError)
    expect(() => ex.asyncify_start_unwind(1024)).toThrow(WebAssembly.RuntimeError)
    expect(() => ex.asyncify_start_rewind(1024)).toThrow(WebAssembly.RuntimeError)
    expect(() => ex.asyncify_stop_rewind()).toThrow(WebAssembly.RuntimeError)
    expect(() => ex.asyncify_stop_unwind()).toThrow(WebAssembly.RuntimeError)
    // current ≤ end: they no longer trap.
    writeAsyncifyData(ex.memory, 1024, 16, false)
    ex.asyncify_stop_unwind()
    expect(ex.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  it('stack-buffer overflow through the driver rejects the call; a big enough buffer works', async () => {
    const { binary, report } = await build(wat(DEEP), { optimize })
    expect(instrumentedNames({ binary, report })).toEqual(['deep', 'rec'])
    const small = await instantiateAsyncified(
      binary,
      { env: { sleep: async () => 9 } },
      { dataAddr: 1024, bufferSize: 32 },
    )
    await expect(small.call('deep', 20)).rejects.toThrow(WebAssembly.RuntimeError)
    const big = await instantiateAsyncified(
      binary,
      { env: { sleep: async () => 9 } },
      { dataAddr: 1024, bufferSize: 4096 },
    )
    expect(await big.callWithStats('deep', 20)).toEqual({ result: deepExpected(20, 9n), unwinds: 1 })
  })

  it('memory64: the data struct is { i64, i64 }', async () => {
    const { binary } = await build(wat(MEM64, features.Memory64), { optimize })
    let snapshot: { low: number; high: number; current: number; end: number } | null = null
    const d = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          sleep: async (p: bigint) => {
            await Promise.resolve()
            // The unwind is over: the struct holds the frames' extent.
            const view = new DataView(driver.memory.buffer)
            const addr = driver.slotAddress(0)
            snapshot = {
              low: view.getUint32(addr, true),
              high: view.getUint32(addr + 4, true),
              ...readAsyncifyData(driver.memory, addr, true),
            }
            return p * 2n
          },
        },
      }),
      DRIVER,
    )
    expect(d.memory64).toBe(true)
    expect(d.exports.memory).toBe(d.memory)
    expect(await d.callWithStats('main', 512n)).toEqual({ result: 1024n + 0x1122334455667788n, unwinds: 1 })
    const start = DRIVER.dataAddr + 16
    expect(snapshot).not.toBeNull()
    const s = snapshot as unknown as { low: number; high: number; current: number; end: number }
    expect(s.high).toBe(0)
    expect(s.current).toBeGreaterThan(start)
    expect(s.current).toBe(s.low)
    expect(s.end).toBe(start + DRIVER.bufferSize)
    // After the rewind the frames are consumed again.
    expect(readAsyncifyData(d.memory, d.slotAddress(0), true).current).toBe(start)
  })

  it('relocatable: state and data are globals imported from env', async () => {
    const { binary } = await build(wat(GLOBALS), { optimize, relocatable: true })
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(binary))
    expect(imports).toEqual(
      expect.arrayContaining([
        { module: 'env', name: '__asyncify_state', kind: 'global' },
        { module: 'env', name: '__asyncify_data', kind: 'global' },
        { module: 'env', name: 'base', kind: 'global' },
      ]),
    )
    const state = new WebAssembly.Global({ value: 'i32', mutable: true }, 0)
    const data = new WebAssembly.Global({ value: 'i32', mutable: true }, 0)
    const seen: number[][] = []
    const d = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          base: new WebAssembly.Global({ value: 'i32', mutable: false }, 100),
          __asyncify_state: state,
          __asyncify_data: data,
          sleep: async (v: number) => {
            await Promise.resolve()
            seen.push([state.value, data.value, driver.slotAddress(0)])
            return v + 1
          },
        },
      }),
      DRIVER,
    )
    // acc = 5 + 100 = 105; 105 * 2 + sleep(105)
    expect(await d.callWithStats('main', 2)).toEqual({ result: 210 + 106, unwinds: 1 })
    expect((d.exports as { acc(): number }).acc()).toBe(105)
    expect(seen).toEqual([[STATE_NORMAL, DRIVER.dataAddr, DRIVER.dataAddr]])
    expect(state.value).toBe(STATE_NORMAL)
  })

  it('relocatable with memory64: __asyncify_data is an i64 global', async () => {
    const { binary } = await build(wat(MEM64, features.Memory64), { optimize, relocatable: true })
    const state = new WebAssembly.Global({ value: 'i32', mutable: true }, 0)
    const data = new WebAssembly.Global({ value: 'i64', mutable: true }, 0n)
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: async (p: bigint) => p, __asyncify_state: state, __asyncify_data: data } },
      DRIVER,
    )
    expect(await d.callWithStats('main', 64n)).toEqual({ result: 64n + 0x1122334455667788n, unwinds: 1 })
    expect(data.value).toBe(BigInt(DRIVER.dataAddr))
  })

  it('exportGlobals: __asyncify_state and __asyncify_data are exported', async () => {
    const { binary } = await build(wat(SINGLE_GLOBAL), { optimize, exportGlobals: true })
    const seen: unknown[] = []
    const d = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          sleep: async (v: number) => {
            const g = driver.exports as {
              __asyncify_state: WebAssembly.Global
              __asyncify_data: WebAssembly.Global
            }
            seen.push(['call', g.__asyncify_state.value])
            await Promise.resolve()
            seen.push(['wait', g.__asyncify_state.value, g.__asyncify_data.value])
            return v * 2
          },
        },
      }),
      DRIVER,
    )
    expect(d.exports.__asyncify_state).toBeInstanceOf(WebAssembly.Global)
    expect(d.exports.__asyncify_data).toBeInstanceOf(WebAssembly.Global)
    expect(await d.callWithStats('main', 4)).toEqual({ result: 12, unwinds: 1 })
    expect(seen).toEqual([
      ['call', STATE_NORMAL],
      ['wait', STATE_NORMAL, DRIVER.dataAddr],
    ])
  })

  it('inSecondaryMemory: the data lives in asyncify_memory', async () => {
    const { binary } = await build(wat(SECONDARY), {
      optimize,
      inSecondaryMemory: true,
      secondaryMemorySize: 2,
    })
    const exportNames = WebAssembly.Module.exports(new WebAssembly.Module(binary)).map(
      e => `${e.kind}:${e.name}`,
    )
    expect(exportNames).toEqual(expect.arrayContaining(['memory:memory', 'memory:asyncify_memory']))
    let snapshot: { current: number; end: number } | null = null
    const d = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          sleep: async (v: number) => {
            await Promise.resolve()
            snapshot = readAsyncifyData(driver.memory, driver.slotAddress(0), false)
            return v + 1
          },
        },
      }),
      { ...DRIVER, memoryExport: 'asyncify_memory' },
    )
    const aux = d.exports.asyncify_memory as WebAssembly.Memory
    expect(d.memory).toBe(aux)
    expect(aux.buffer.byteLength).toBe(2 * 65536)
    expect(await d.callWithStats('main', 10)).toEqual({ result: 11 + 0x01020304 + 0x05060708, unwinds: 1 })
    const start = d.slotAddress(0) + 8
    expect(snapshot).toEqual({ current: expect.any(Number), end: start + DRIVER.bufferSize })
    expect((snapshot as unknown as { current: number }).current).toBeGreaterThan(start)
    // The main memory at the struct's address keeps the module's own data.
    const main = new DataView((d.exports.memory as WebAssembly.Memory).buffer)
    expect([main.getUint32(1024, true), main.getUint32(1028, true)]).toEqual([0x01020304, 0x05060708])
  })

  it('inSecondaryMemory on a memory64 module: the new memory is 32-bit', async () => {
    const { binary } = await build(wat(MEM64, features.Memory64), { optimize, inSecondaryMemory: true })
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: async (p: bigint) => p } },
      { ...DRIVER, memoryExport: 'asyncify_memory' },
    )
    expect(d.memory64).toBe(false)
    expect(await d.callWithStats('main', 64n)).toEqual({ result: 64n + 0x1122334455667788n, unwinds: 1 })
  })

  it('a module without memory gets one, exported as memory', async () => {
    const { binary } = await build(wat(NO_MEMORY), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: async (x: number) => x * 2 } }, DRIVER)
    expect(d.exports.memory).toBeInstanceOf(WebAssembly.Memory)
    expect(await d.callWithStats('main', 5)).toEqual({ result: 15, unwinds: 1 })
  })

  it('several memories: the one exported as memory, or the one named by the memory option', async () => {
    const input = wat(TWO_MEMORIES, features.MultiMemory)
    const byDefault = await build(input, { optimize })
    const d1 = await instantiateAsyncified(
      byDefault.binary,
      { env: { sleep: async (x: number) => x * 2 } },
      { ...DRIVER, dataAddr: 2048 },
    )
    expect(await d1.callWithStats('main', 5)).toEqual({ result: 77 + 15, unwinds: 1 })
    const { binary } = await build(input, { optimize, memory: 'aux' })
    let snapshot: { current: number; end: number } | null = null
    const d2 = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          sleep: async (x: number) => {
            await Promise.resolve()
            snapshot = readAsyncifyData(driver.memory, DRIVER.dataAddr, false)
            return x * 2
          },
        },
      }),
      { ...DRIVER, memoryExport: 'aux' },
    )
    // The struct shares address 1024 with the module's data in the other memory.
    expect(await d2.callWithStats('main', 5)).toEqual({ result: 77 + 15, unwinds: 1 })
    expect((snapshot as unknown as { current: number }).current).toBeGreaterThan(DRIVER.dataAddr + 8)
    await expect(asyncify(input, { memory: 'nope' })).rejects.toThrow(/no exported memory is named nope/)
  })

  it('in-module asyncify.* imports: a coroutine scheduler written in wasm', async () => {
    const result = await build(wat(SCHEDULER), { optimize, ignoreImports: true })
    // $yield calls start_unwind/stop_rewind (top-most runtime), $step start_rewind/stop_unwind (bottom-most
    // runtime): neither is instrumented, and neither is $run above $step.
    expect(instrumentedNames(result)).toEqual(['co'])
    const importNames = WebAssembly.Module.imports(new WebAssembly.Module(result.binary)).map(
      i => `${i.module}.${i.name}`,
    )
    expect(importNames).toEqual(['env.emit'])
    const out: number[] = []
    const { instance } = await WebAssembly.instantiate(result.binary, {
      env: { emit: (v: number) => out.push(v) },
    })
    const ex = instance.exports as unknown as AsyncifyControl & { run(n: number): number }
    const rounds = ex.run(4)
    expect(out).toEqual(schedulerExpected(4))
    expect(rounds).toBeGreaterThan(0)
    expect(ex.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  it('in-module asyncify.* imports: the same coroutines scheduled from JS', async () => {
    const { binary } = await build(wat(SCHEDULER), { optimize, ignoreImports: true })
    const out: number[] = []
    const { instance } = await WebAssembly.instantiate(binary, { env: { emit: (v: number) => out.push(v) } })
    const ex = instance.exports as unknown as AsyncifyControl & {
      co(id: number, n: number): number
      data(k: number): number
      set_current(k: number): void
    }
    const n = 3
    const results = new Map<number, number>()
    const step = (k: number, resume: boolean): void => {
      ex.set_current(k)
      if (resume) ex.asyncify_start_rewind(ex.data(k))
      const r = ex.co(k, n)
      if (ex.asyncify_get_state() === STATE_UNWINDING) ex.asyncify_stop_unwind()
      else {
        out.push(1000 + r)
        results.set(k, r)
      }
    }
    for (let k = 0; k < 3; k++) step(k, false)
    for (let round = 0; results.size < 3; round++)
      for (let j = 0; j < 3; j++) {
        const k = (round + j) % 3
        if (!results.has(k)) step(k, true)
      }
    expect(out).toEqual(schedulerExpected(n))
  })
})

// Fibers from JS, in both modes: fibers.create(entry, arg, sizes) with an export name or a table index,
// fiber.resume(value) / the fiber.yield import, fibers.current, destroy; many fibers, many switches with
// no growth, a fiber suspended in a catch handler, async imports inside fibers.
import type { Fiber, Fibers } from '@unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { exportSlotTables, SLOT_TABLE_EXPORTS } from '../asyncify/shared.js'
import { cStackModule, delay, fixture, MODES, run } from './helpers.js'

const FIBERS = `(module
  (import "fiber" "yield" (func $yield (param i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "who" (func $who))
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (elem (i32.const 1) $count)
  ;; Yields 0..n-1; each yield returns what resume passed; returns their sum.
  (func $count (export "count") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $who)
        (local.set $acc (i32.add (local.get $acc) (call $yield (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc))
  ;; Sleeps (an async import inside the fiber), yields what it got, returns it doubled.
  (func (export "sleepy") (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $sleep (local.get $x)))
    (drop (call $yield (local.get $v)))
    (i32.mul (local.get $v) (i32.const 2)))
  ;; Not a fiber entry: yield from a plain call.
  (func (export "yieldOutside") (result i32) (call $yield (i32.const 0))))`

const OPTIONS = { imports: ['fiber.yield', 'env.sleep'], inSecondaryMemory: true, secondaryMemorySize: 8 }
const SMALL = { asyncifyStackSize: 256 }

type Exports = { memory: WebAssembly.Memory; table: WebAssembly.Table; yieldOutside(): Promise<number> }

async function setup(mode: (typeof MODES)[number], seen: (number | null)[] = []) {
  const f = await fixture(FIBERS, OPTIONS)
  let fibers: Fibers | null = null
  const r = await run<Exports>(f, mode, {
    env: {
      sleep: (x: number) => delay(2).then(() => x + 100),
      who: () => seen.push(fibers?.current?.id ?? null),
    },
  })
  fibers = r.fibers
  return r
}

for (const mode of MODES)
  describe(`${mode} mode`, () => {
    it('resume runs to the next yield; the value resumed with is what yield returns; the return value ends it', async () => {
      const seen: (number | null)[] = []
      const { fibers } = await setup(mode, seen)
      for (const entry of ['count', 1] as const) {
        const fiber = fibers.create(entry, 3, SMALL)
        expect(fiber.state).toBe('created')
        expect(await fiber.resume()).toEqual({ done: false, value: 0 })
        expect(fiber.state).toBe('suspended')
        expect(await fiber.resume(10)).toEqual({ done: false, value: 1 })
        expect(await fiber.resume(20)).toEqual({ done: false, value: 2 })
        expect(await fiber.resume(30)).toEqual({ done: true, value: 60 })
        expect(fiber.state).toBe('done')
        await expect(fiber.resume()).rejects.toThrow(/cannot be resumed: it is done/)
      }
      // fibers.current inside the fibers' imports, null outside.
      expect(seen).toHaveLength(6)
      expect(new Set(seen).size).toBe(2)
      expect(seen.every(id => typeof id === 'number')).toBe(true)
      expect(fibers.current).toBeNull()
    })

    it('an async import inside a fiber suspends it until the promise settles', async () => {
      const { fibers } = await setup(mode)
      const fiber = fibers.create('sleepy', 5, SMALL)
      const first = fiber.resume()
      expect(fiber.state).toBe('running')
      await expect(fiber.resume()).rejects.toThrow(/it is running/)
      expect(() => fiber.destroy()).toThrow(/is running/)
      expect(await first).toEqual({ done: false, value: 105 })
      expect(await fiber.resume()).toEqual({ done: true, value: 210 })
    })

    it('yield outside a fiber, and bad entries, are clear errors', async () => {
      const { fibers, exports } = await setup(mode)
      await expect(exports.yieldOutside()).rejects.toThrow(/fiber.yield called outside a fiber/)
      expect(() => fibers.create('nope')).toThrow(/exports no function nope/)
      expect(() => fibers.create(7)).toThrow(/entry 7 is no function/)
      expect(() => fibers.create('count', 1, { stackSize: -1 })).toThrow(
        /stackSize must be a positive integer/,
      )
    })

    it('1,000 fibers ping-ponging with the resumer', async () => {
      const { fibers } = await setup(mode)
      const all: Fiber[] = Array.from({ length: 1000 }, () => fibers.create('count', 5, SMALL))
      expect(await Promise.all(all.map(f => f.resume()))).toEqual(all.map(() => ({ done: false, value: 0 })))
      for (let round = 1; round < 5; round++) {
        const steps = await Promise.all(all.map((f, i) => f.resume(i + round)))
        expect(steps).toEqual(all.map(() => ({ done: false, value: round })))
      }
      // count returns the sum of what it was resumed with: Σ_{r=1..5} (i + r).
      const ends = await Promise.all(all.map((f, i) => f.resume(i + 5)))
      expect(ends).toEqual(all.map((_, i) => ({ done: true, value: 5 * i + 15 })))
    })

    it('10,000 switches grow neither memory nor tables', async () => {
      const { fibers, exports, instance } = await setup(mode)
      const memories = Object.values(instance.exports).filter(v => v instanceof WebAssembly.Memory)
      const sizes = () => [...memories.map(m => m.buffer.byteLength), exports.table.length]
      const fiber = fibers.create('count', 5000, SMALL)
      await fiber.resume()
      const before = sizes()
      let last = await fiber.resume(1)
      for (let i = 2; i < 5000; i++) last = await fiber.resume(1)
      expect(last).toEqual({ done: false, value: 4999 })
      expect(await fiber.resume(1)).toEqual({ done: true, value: 5000 })
      expect(sizes()).toEqual(before)
    })
  })

// A fiber suspended inside a catch handler: its exnref is saved across the yield (in asyncify mode in the
// rewrite's reference slots); when it is resumed later, its throw_ref rethrows that fiber's exception.
const HANDLER = `(module
  (import "fiber" "yield" (func $yield (param i32 externref) (result i32)))
  (tag $e (param i32))
  (memory (export "memory") 1)
  (func $handler (param $v i32) (param $held externref) (result i32)
    (local $ex exnref)
    (local.set $ex
      (block $caught (result exnref)
        (try_table (catch_all_ref $caught) (throw $e (local.get $v)))
        (unreachable)))
    (drop (call $yield (local.get $v) (local.get $held)))
    (throw_ref (local.get $ex)))
  (func (export "body") (param $v i32) (param $held externref) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) (drop (call $handler (local.get $v) (local.get $held))))
      (i32.const -1))))`

for (const mode of MODES)
  describe(`${mode} mode: fibers and exceptions, destroy`, () => {
    const handlerFixture = async () => {
      const { binary, original } = await fixture(HANDLER, { inSecondaryMemory: true, secondaryMemorySize: 1 })
      return { binary: exportSlotTables(binary).binary, original }
    }

    it('fibers suspended in catch handlers resume later and rethrow their own exceptions', async () => {
      const { fibers } = await run(await handlerFixture(), mode)
      const all = [1, 2, 3, 4].map(v => fibers.create('body', v, SMALL))
      // body(v) takes (i32, externref): the second argument is the fiber's arg only for i32; resume them all.
      for (const [i, f] of all.entries()) expect(await f.resume()).toEqual({ done: false, value: i + 1 })
      for (const i of [2, 0, 3, 1])
        expect(await (all[i] as Fiber).resume()).toEqual({ done: true, value: i + 1 })
    })

    it('destroy frees the buffer and the reference slots of a suspended fiber', async () => {
      const { fibers, instance } = await run(await handlerFixture(), mode)
      const tables = Object.values(SLOT_TABLE_EXPORTS)
        .map(n => instance.exports[n])
        .filter(t => t instanceof WebAssembly.Table)
      if (mode === 'asyncify') expect(tables.length).toBeGreaterThan(0)
      const lengths = () => tables.map(t => t.length)
      // 4 KiB buffers in a 64 KiB secondary memory: without freeing, the 16th fiber would not fit.
      let first: number[] | null = null
      for (let i = 0; i < 200; i++) {
        const batch = [0, 1, 2].map(() => fibers.create('body', i, { asyncifyStackSize: 4096 }))
        for (const f of batch) expect(await f.resume()).toEqual({ done: false, value: i })
        for (const f of batch) f.destroy()
        expect(batch.every(f => f.state === 'destroyed')).toBe(true)
        first ??= lengths()
      }
      expect(lengths()).toEqual(first)
      await expect((fibers.create('body', 1, SMALL) as Fiber).resume()).resolves.toEqual({
        done: false,
        value: 1,
      })
    })
  })

// JS fibers in a module with a C stack pointer: each fiber runs on a C stack of its own (from
// options.region here), and every switch saves and restores the stack pointer. Each frame keeps 16 bytes
// on the C stack across its yields and traps if anything overwrote them.
const STACK_FIBERS = `${cStackModule({
  imports: '(import "fiber" "yield" (func $yield (param i32) (result i32)))',
  exportSp: true,
  name: 'nest',
  body: `(local.set $r (call $yield (i32.add (i32.mul (local.get $id) (i32.const 100)) (local.get $n))))
    (if (i32.gt_u (local.get $n) (i32.const 0))
      (then (local.set $r (i32.add (local.get $r) (call $nest (local.get $id) (i32.sub (local.get $n) (i32.const 1)))))))`,
})}
  ;; The fibers' entry: three nested frames, yielding 100·id + 2, + 1, + 0.
  (func (export "deep") (param $id i32) (result i32) (call $nest (local.get $id) (i32.const 2))))`

for (const mode of MODES)
  describe(`${mode} mode: fibers with C stacks`, () => {
    it('interleaved fibers keep their C frames; destroy gives the stacks back', async () => {
      const f = await fixture(STACK_FIBERS, { imports: ['fiber.yield'] })
      const { fibers, exports } = await run<{ __stack_pointer: WebAssembly.Global }>(
        f,
        mode,
        {},
        {
          region: { start: 65536, size: 8 * 2576 },
          asyncifyStackSize: 512,
          stackSize: 2048,
        },
      )
      const sizes = { asyncifyStackSize: 512, stackSize: 2048 }
      const all = [1, 2, 3, 4].map(id => fibers.create('deep', id, sizes))
      expect((await Promise.all(all.map(f => f.resume()))).map(r => r.value)).toEqual([102, 202, 302, 402])
      expect((await Promise.all(all.map(f => f.resume(1)))).map(r => r.value)).toEqual([101, 201, 301, 401])
      // Every fiber is suspended with its frames on its own stack; the pointer is the caller's again.
      expect(exports.__stack_pointer.value).toBe(65536)
      // Fibers 1 and 3 are dropped while suspended; 2 and 4 run to the end: 1 + 1 + the last value.
      all[0]?.destroy()
      all[2]?.destroy()
      for (const i of [1, 3]) {
        expect(await all[i]?.resume(1)).toEqual({ done: false, value: (i + 1) * 100 })
        expect(await all[i]?.resume(5)).toEqual({ done: true, value: 7 })
      }
      // The region holds 8 slots: creating many more works only because destroy and the ends free them.
      for (let i = 0; i < 40; i++) {
        const g = fibers.create('deep', 9, sizes)
        expect((await g.resume()).value).toBe(902)
        g.destroy()
      }
      expect(exports.__stack_pointer.value).toBe(65536)
    })
  })

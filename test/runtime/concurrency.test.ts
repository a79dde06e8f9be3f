// Calls in flight at the same time, in both modes. With a C stack pointer each call runs on a C stack
// of its own (from options.region here, from malloc in the C fixture's tests); without one, calls are
// queued in call order; an import may call back into an export that suspends (reentrancy).
import { describe, expect, it } from 'vitest'
import { cStackModule, delay, fixture, MODES, random, run } from './helpers.js'

/**
 * work(id, n): n + 1 nested frames, each pushing 16 bytes on the C stack (id, depth, a canary), sleeping,
 * and checking them after waking: a frame another call overwrote traps. Returns Σ sleep results.
 */
const stackModule = (exportSp: boolean) =>
  `${cStackModule({
    imports: '(import "env" "sleep" (func $sleep (param i32 i32) (result i32)))',
    exportSp,
    name: 'work',
    store: '(i32.store offset=8 (local.get $fp) (i32.xor (local.get $id) (i32.const 0x5a5a5a5a)))',
    body: `(local.set $r (call $sleep (local.get $id) (local.get $n)))
    (if (i32.gt_u (local.get $n) (i32.const 0))
      (then (local.set $r (i32.add (local.get $r) (call $work (local.get $id) (i32.sub (local.get $n) (i32.const 1)))))))`,
    check: '(i32.ne (i32.load offset=8 (local.get $fp)) (i32.xor (local.get $id) (i32.const 0x5a5a5a5a)))',
  })})`

/** Room for 100 calls: a 512-byte buffer and a 1 KiB C stack each, above the module's own stack. */
const REGION = { region: { start: 65536, size: 100 * 1552 }, asyncifyStackSize: 512, stackSize: 1024 }

type Work = { work(id: number, n: number): Promise<number>; __stack_pointer: WebAssembly.Global }

const expected = (id: number, n: number) => (n + 1) * id

for (const mode of MODES)
  describe(`${mode} mode`, () => {
    it('100 concurrent calls with random delays, each on a C stack of its own', async () => {
      const f = await fixture(stackModule(true))
      const rnd = random(8)
      const { exports } = await run<Work>(
        f,
        mode,
        { env: { sleep: (id: number) => delay(rnd() * 8).then(() => id) } },
        REGION,
      )
      const ids = Array.from({ length: 100 }, (_, i) => i + 1)
      const results = await Promise.all(ids.map(id => exports.work(id, 3 + (id % 4))))
      expect(results).toEqual(ids.map(id => expected(id, 3 + (id % 4))))
      // Every call gave the stack pointer back.
      expect(exports.__stack_pointer.value).toBe(65536)
      // The slots are reused: another round fits the same region.
      expect(await Promise.all(ids.map(id => exports.work(id, 2)))).toEqual(ids.map(id => expected(id, 2)))
    })

    it('the frames would collide without per-call C stacks (stackPointer: false declares none)', async () => {
      const f = await fixture(stackModule(true))
      const naps: Record<number, number> = { 1: 1, 2: 20, 3: 1 }
      const { exports } = await run<Work>(
        f,
        mode,
        { env: { sleep: (id: number) => delay(naps[id] ?? 1).then(() => id) } },
        {
          ...REGION,
          stackPointer: false,
        },
      )
      // 1 ends first and puts the pointer back above 2's frames, which 3 then overwrites.
      const [one, two] = [exports.work(1, 0), exports.work(2, 3)]
      expect(await one).toBe(1)
      const three = exports.work(3, 3)
      await expect(two).rejects.toThrow(WebAssembly.RuntimeError)
      await three.catch(() => {})
    })

    it('without a known stack pointer, calls are queued and run one at a time, in call order', async () => {
      const f = await fixture(stackModule(false), { inSecondaryMemory: true })
      const events: string[] = []
      let active = 0
      let most = 0
      const { exports } = await run<Work>(f, mode, {
        env: {
          sleep: async (id: number, n: number) => {
            events.push(`${id}:${n}`)
            most = Math.max(most, ++active)
            await delay(1 + ((id * 7) % 3))
            active--
            return id
          },
        },
      })
      const ids = [1, 2, 3, 4, 5]
      expect(await Promise.all(ids.map(id => exports.work(id, 2)))).toEqual(ids.map(id => expected(id, 2)))
      expect(most).toBe(1)
      expect(events).toEqual(ids.flatMap(id => [`${id}:2`, `${id}:1`, `${id}:0`]))
    })

    it('an import may call back into an export that suspends, while the outer call is suspended too', async () => {
      const f = await fixture(
        `(module
          (import "env" "sleep" (func $sleep (param i32) (result i32)))
          (import "env" "callback" (func $callback (param i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "inner") (param i32) (result i32) (i32.mul (call $sleep (local.get 0)) (i32.const 2)))
          (func (export "outer") (param i32) (result i32)
            (i32.add (call $callback (local.get 0)) (call $sleep (i32.const 1000)))))`,
        { inSecondaryMemory: true },
      )
      const r = await run<{ inner(x: number): Promise<number>; outer(x: number): Promise<number> }>(f, mode, {
        env: {
          sleep: (x: number) => delay(2).then(() => x + 1),
          // Calls the export and hands its promise back: the outer call suspends on it.
          callback: (x: number) => r.exports.inner(x * 10),
        },
      })
      expect(await r.exports.outer(3)).toBe((30 + 1) * 2 + 1001)
      const many = await Promise.all([1, 2, 3].map(x => r.exports.outer(x)))
      expect(many).toEqual([1, 2, 3].map(x => (x * 10 + 1) * 2 + 1001))
    })
  })

describe('a raw export called from an import (JS between wasm frames)', () => {
  const MIDDLE = `(module
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (import "env" "callB" (func $callB (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "B") (param i32) (result i32) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
    (func (export "A") (param i32) (result i32) (i32.mul (call $callB (local.get 0)) (i32.const 2))))`
  type Holder = { instance?: WebAssembly.Instance }
  const imports = (holder: Holder, entered: number[]) => ({
    env: {
      sleep: (x: number) => delay(1).then(() => x * 10),
      callB: (y: number) => {
        entered.push(y)
        return ((holder.instance as WebAssembly.Instance).exports.B as (y: number) => number)(y)
      },
    },
  })

  it('asyncify mode: the stack unwinds through it and the rewind calls it again', async () => {
    const f = await fixture(MIDDLE, { inSecondaryMemory: true })
    const [holder, entered]: [Holder, number[]] = [{}, []]
    const r = await run<{ A(x: number): Promise<number> }>(f, 'asyncify', imports(holder, entered))
    holder.instance = r.instance
    expect(await r.exports.A(3)).toBe((30 + 1) * 2)
    expect(entered).toEqual([3, 3])
  })

  it('asyncify mode: an async import may call the raw export (its first promise is dropped: the rewind runs it again)', async () => {
    const f = await fixture(MIDDLE, { inSecondaryMemory: true })
    const [holder, entered]: [Holder, number[]] = [{}, []]
    const sync = imports(holder, entered)
    const r = await run<{ A(x: number): Promise<number> }>(f, 'asyncify', {
      env: { ...sync.env, callB: async (y: number) => sync.env.callB(y) + 5 },
    })
    holder.instance = r.instance
    expect(await r.exports.A(3)).toBe((30 + 1 + 5) * 2)
    expect(entered).toEqual([3, 3])
  })

  // hop(x): x > 0 calls the raw B(x - 1) and adds 1; hop(0) sleeps. The same import is then both a JS
  // frame between wasm frames and, further in, the import that suspended: the rewind must run the outer
  // one again rather than hand it the inner one's value.
  const HOP = `(module
    (import "env" "hop" (func $hop (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "B") (param i32) (result i32) (i32.add (call $hop (local.get 0)) (i32.const 100)))
    (func (export "A") (param i32) (result i32) (i32.mul (call $hop (local.get 0)) (i32.const 2))))`

  it('asyncify mode: the same import as the JS frame and as the suspended import further in', async () => {
    const f = await fixture(HOP, { inSecondaryMemory: true })
    const holder: Holder = {}
    const calls: number[] = []
    const hop = (x: number): number | Promise<number> => {
      calls.push(x)
      if (x === 0) return delay(1).then(() => 7)
      return ((holder.instance as WebAssembly.Instance).exports.B as (y: number) => number)(x - 1) + 1
    }
    const r = await run<{ A(x: number): Promise<number> }>(f, 'asyncify', { env: { hop } })
    holder.instance = r.instance
    // hop(0) = 7, B(0) = 107, hop(1) = 108, B(1) = 208, hop(2) = 209.
    expect(await r.exports.A(1)).toBe(216)
    expect(calls).toEqual([1, 0, 1])
    expect(await r.exports.A(2)).toBe(418)
    expect(await Promise.all([r.exports.A(1), r.exports.A(2)])).toEqual([216, 418])
  })

  it('asyncify mode: an import run again by the rewind must call the raw export again (else a clear error)', async () => {
    const f = await fixture(MIDDLE, { inSecondaryMemory: true })
    const [holder, entered]: [Holder, number[]] = [{}, []]
    const sync = imports(holder, entered)
    let runs = 0
    const r = await run<{ A(x: number): Promise<number> }>(f, 'asyncify', {
      // The first run calls B, which suspends; the rewind's run returns a promise without calling B.
      env: { ...sync.env, callB: (y: number) => (++runs === 1 ? sync.env.callB(y) : delay(1).then(() => y)) },
    })
    holder.instance = r.instance
    await expect(r.exports.A(3)).rejects.toThrow(
      'import env.callB returned a promise before calling again the raw export the rewind waits in',
    )
    expect((r.instance.exports.asyncify_get_state as () => number)()).toBe(0)
  })

  it('JSPI mode cannot suspend through JS frames: the export rejects (call the wrapped export instead)', async () => {
    const f = await fixture(MIDDLE, { inSecondaryMemory: true })
    const holder: Holder = {}
    const r = await run<{ A(x: number): Promise<number> }>(f, 'jspi', imports(holder, []))
    holder.instance = r.instance
    await expect(r.exports.A(3)).rejects.toThrow(/suspend/i)
  })
})

describe('where the C stack pointer and the memory come from', () => {
  /** stackModule's frames, the pointer reached through emscripten's accessor exports. */
  const emscriptenModule = stackModule(false).replace(
    '(func $work',
    `(func (export "emscripten_stack_get_current") (result i32) (global.get $__stack_pointer))
  (func (export "_emscripten_stack_restore") (param i32) (global.set $__stack_pointer (local.get 0)))
  (func $work`,
  )
  const sleep = (rnd: () => number) => ({ env: { sleep: (id: number) => delay(rnd() * 6).then(() => id) } })
  const ids = Array.from({ length: 20 }, (_, i) => i + 1)

  for (const mode of MODES)
    it(`${mode} mode: emscripten's stack accessors give each call its C stack`, async () => {
      const f = await fixture(emscriptenModule)
      const { exports } = await run<Work>(f, mode, sleep(random(3)), REGION)
      expect(await Promise.all(ids.map(id => exports.work(id, 3)))).toEqual(ids.map(id => expected(id, 3)))
    })

  it('asyncify mode: a global the name section calls __stack_pointer, which the rewrite exports', async () => {
    const f = await fixture(stackModule(false))
    expect(WebAssembly.Module.exports(new WebAssembly.Module(f.original)).map(e => e.name)).not.toContain(
      '__stack_pointer',
    )
    const { exports, instance } = await run<Work>(f, 'asyncify', sleep(random(4)), REGION)
    expect(instance.exports.__stack_pointer).toBeInstanceOf(WebAssembly.Global)
    expect(await Promise.all(ids.map(id => exports.work(id, 3)))).toEqual(ids.map(id => expected(id, 3)))
  })

  it("asyncify mode: buffers and C stacks from the module's allocator, named by options.allocator", async () => {
    // A bump allocator with a free counter, exported under names of its own.
    const f = await fixture(
      stackModule(true).replace(
        '(func $work',
        `(global $next (mut i32) (i32.const 131072))
  (global $freed (export "freed") (mut i32) (i32.const 0))
  (func (export "grab") (param $n i32) (result i32)
    (global.get $next) (global.set $next (i32.add (global.get $next) (local.get $n))))
  (func (export "drop_block") (param i32) (global.set $freed (i32.add (global.get $freed) (i32.const 1))))
  (func $work`,
      ),
    )
    const { exports, instance } = await run<Work>(f, 'asyncify', sleep(random(5)), {
      allocator: { malloc: 'grab', free: 'drop_block' },
      asyncifyStackSize: 512,
      stackSize: 1024,
    })
    const many = Array.from({ length: 30 }, (_, i) => i + 1)
    expect(await Promise.all(many.map(id => exports.work(id, 2)))).toEqual(many.map(id => expected(id, 2)))
    // 30 calls in flight took 30 slots; 16 go back to the pool, the other 14 slots' two blocks were freed.
    expect((instance.exports.freed as WebAssembly.Global).value).toBe(28)
  })

  it("inSecondaryMemory 'auto': buffers in the rewrite's own memory, grown when full; C stacks from the region", async () => {
    // No allocator: 'auto' makes a secondary memory of 1 page, which may grow.
    const f = await fixture(stackModule(true), { inSecondaryMemory: 'auto' })
    const data = (i: WebAssembly.Instance) => i.exports.asyncify_memory as WebAssembly.Memory
    const { exports, instance } = await run<Work>(f, 'asyncify', sleep(random(6)), {
      region: { start: 65536, size: 100 * 1024 },
      stackSize: 1024,
    })
    expect(data(instance).buffer.byteLength).toBe(65536)
    // 100 calls in flight need 100 buffers of 16 KiB (the default): the memory grows to hold them.
    const many = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(await Promise.all(many.map(id => exports.work(id, 3)))).toEqual(many.map(id => expected(id, 3)))
    expect(data(instance).buffer.byteLength).toBeGreaterThanOrEqual(100 * 16 * 1024)
    // The region gave each call a C stack (so calls ran side by side, not queued); each gave the pointer back.
    expect(exports.__stack_pointer.value).toBe(65536)
  })

  it('inSecondaryMemory true keeps its fixed size: a full memory is the clear error', async () => {
    const f = await fixture(stackModule(true), { inSecondaryMemory: true })
    const { exports } = await run<Work>(f, 'asyncify', sleep(random(7)), {
      region: { start: 65536, size: 10 * 1024 },
      stackSize: 1024,
    })
    const ten = Array.from({ length: 10 }, (_, i) => i + 1)
    await expect(Promise.all(ten.map(id => exports.work(id, 1)))).rejects.toThrow(
      /the secondary memory \(65520 bytes\) has no room for another 16400-byte block/,
    )
  })
})

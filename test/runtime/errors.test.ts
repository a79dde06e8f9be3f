// Clear errors instead of traps deep in a stack: buffer overflows name the export or fiber, the size
// and the option that raises it; bad options and modules the runtime cannot drive name what is wrong.
import { BufferOverflowError, instantiate } from '@unplugin-asyncify/runtime'
import { decodeMetadata } from '@unplugin-asyncify/runtime/abi'
import { describe, expect, it } from 'vitest'
import { delay, fixture, run } from './helpers.js'

/** deep(n): n frames with live locals, the innermost sleeping. */
const DEEP = `(module
  (import "env" "sleep" (func $sleep (result i32)))
  (import "fiber" "yield" (func $yield (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $deep (export "deep") (param $n i32) (result i32)
    (local $a i64) (local $b f64)
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $b (f64.convert_i32_u (local.get $n)))
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $sleep))
      (else (i32.add (call $deep (i32.sub (local.get $n) (i32.const 1)))
        (i32.add (i32.wrap_i64 (local.get $a)) (i32.trunc_f64_u (local.get $b)))))))
  (func (export "deepYield") (param $n i32) (result i32)
    (drop (call $yield (i32.const 0)))
    (call $deep (local.get $n))))`

const DEEP_OPTIONS = { imports: ['env.sleep', 'fiber.yield'], inSecondaryMemory: true }
type Deep = { deep(n: number): Promise<number>; asyncify_get_state(): number }
const deepResult = (n: number) => 7 + n * (n + 1)

describe('buffer overflow', () => {
  it('names the export, the size and the option; the instance stays usable', async () => {
    const f = await fixture(DEEP, DEEP_OPTIONS)
    const { exports, instance } = await run<Deep>(
      f,
      'asyncify',
      { env: { sleep: () => delay(1).then(() => 7) } },
      { asyncifyStackSize: 64 },
    )
    const error = await exports.deep(20).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BufferOverflowError)
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError)
    expect((error as Error).message).toBe(
      'export "deep" overflowed its 64-byte asyncify buffer: raise options.asyncifyStackSize',
    )
    expect(error).toMatchObject({ owner: 'export "deep"', size: 64, option: 'options.asyncifyStackSize' })
    expect((instance.exports as unknown as Deep).asyncify_get_state()).toBe(0)
    expect(await exports.deep(1)).toBe(deepResult(1))
  })

  it('names the fiber and the fibers.create option', async () => {
    const f = await fixture(DEEP, DEEP_OPTIONS)
    const { fibers } = await run(f, 'asyncify', { env: { sleep: () => delay(1).then(() => 7) } })
    const fiber = fibers.create('deepYield', 30, { asyncifyStackSize: 128 })
    expect(await fiber.resume()).toEqual({ done: false, value: 0 })
    const error = await fiber.resume().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BufferOverflowError)
    expect((error as Error).message).toMatch(
      /^fiber 1 overflowed its 128-byte asyncify buffer: raise asyncifyStackSize in the fibers.create options$/,
    )
    expect(fiber.state).toBe('done')
    const ok = fibers.create('deepYield', 3, { asyncifyStackSize: 4096 })
    await ok.resume()
    expect(await ok.resume()).toEqual({ done: true, value: deepResult(3) })
  })

  it("names the emscripten fiber and emscripten_fiber_init's size", async () => {
    const f = await fixture(
      `(module
        (import "env" "emscripten_fiber_init" (func $init (param i32 i32 i32 i32 i32 i32 i32)))
        (import "env" "emscripten_fiber_init_from_current_context" (func $current (param i32 i32 i32)))
        (import "env" "emscripten_fiber_swap" (func $swap (param i32 i32)))
        (memory (export "memory") 1)
        (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 8192))
        (table (export "table") 2 funcref)
        (elem (i32.const 1) $entry)
        (func $entry (param i32) (call $swap (i32.const 100) (i32.const 200)))
        ;; main fiber at 200 with 8 bytes of asyncify buffer: too small for main's frame.
        (func (export "main") (result i64) (local $a i64)
          (local.set $a (i64.const 0x1234567890))
          (call $current (i32.const 200) (i32.const 300) (i32.const 8))
          (call $init (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 16384) (i32.const 4096) (i32.const 400) (i32.const 256))
          (call $swap (i32.const 200) (i32.const 100))
          (local.get $a)))`,
      { imports: ['env.emscripten_fiber_swap'] },
    )
    const { exports } = await run<{ main(): Promise<bigint> }>(
      f,
      'asyncify',
      {},
      {
        region: { start: 32768, size: 32768 },
        asyncifyStackSize: 1024,
        stackSize: 4096,
      },
    )
    await expect(exports.main()).rejects.toThrow(
      'export "main" (emscripten fiber 200) overflowed its 8-byte asyncify buffer: raise the asyncify stack size passed to emscripten_fiber_init',
    )
  })
})

describe('bad options and modules', () => {
  const SLEEP = `(module
    (import "env" "sleep" (func $sleep (result i32)))
    (memory (export "memory") 1)
    (func (export "main") (result i32) (call $sleep)))`
  const sleep = { env: { sleep: () => delay(1).then(() => 1) } }

  it('asyncify mode without an allocator, a region or a secondary memory', async () => {
    const f = await fixture(SLEEP)
    const { exports } = await run<{ main(): Promise<number> }>(f, 'asyncify', sleep)
    await expect(exports.main()).rejects.toThrow(
      /needs memory for its buffers: .*malloc\/free.*options.region.*inSecondaryMemory/,
    )
    const ok = await run<{ main(): Promise<number> }>(f, 'asyncify', sleep, {
      region: { start: 1024, size: 8192 },
      asyncifyStackSize: 1024,
    })
    expect(await ok.exports.main()).toBe(1)
  })

  it('a region outside the memory, sizes that are not positive integers, a missing allocator or stack pointer', async () => {
    const f = await fixture(SLEEP)
    await expect(run(f, 'asyncify', sleep, { region: { start: 60000, size: 8192 } })).rejects.toThrow(
      'options.region 60000+8192 is not inside the 65536-byte memory',
    )
    await expect(run(f, 'asyncify', sleep, { asyncifyStackSize: 0 })).rejects.toThrow(
      /options.asyncifyStackSize must be a positive integer/,
    )
    await expect(
      run(f, 'asyncify', sleep, { allocator: { malloc: 'alloc', free: 'release' } }),
    ).rejects.toThrow('options.allocator: the module exports no alloc and release')
    await expect(run(f, 'asyncify', sleep, { stackPointer: 'sp' })).rejects.toThrow(
      'options.stackPointer: the module exports no global sp',
    )
    await expect(
      run(f, 'asyncify', sleep, { region: { start: 1024, size: 100 }, asyncifyStackSize: 1024 }).then(r =>
        (r.exports.main as () => Promise<number>)(),
      ),
    ).rejects.toThrow(/options.region \(100 bytes\) has no room for another 1040-byte block/)
  })

  it('an import returning a promise where nothing can suspend', async () => {
    const f = await fixture(SLEEP, { inSecondaryMemory: true })
    // A report claiming no export suspends: main is handed out raw, and its import cannot suspend.
    const { exports } = await instantiate<{ main(): number }>(f.binary, sleep, {
      report: { suspendingImports: ['env.sleep'], suspendingExports: [] },
    })
    expect(() => exports.main()).toThrow(
      /import env.sleep returned a promise outside a call that may suspend/,
    )
  })

  it('fiber imports the rewrite was not told may suspend, and fibers without a C stack of their own', async () => {
    const wat = `(module
      (import "fiber" "yield" (func $yield (param i32) (result i32)))
      (import "env" "sleep" (func $sleep (result i32)))
      (memory (export "memory") 1)
      (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 4096))
      (func (export "main") (result i32) (i32.add (call $sleep) (call $yield (i32.const 1)))))`
    const f = await fixture(wat, { imports: ['env.sleep'], inSecondaryMemory: true })
    await expect(run(f, 'asyncify', sleep)).rejects.toThrow(
      'import fiber.yield suspends, but wasm-asyncify was told it does not: add it to its imports option',
    )
    const g = await fixture(wat, { imports: ['env.sleep', 'fiber.yield'], inSecondaryMemory: true })
    const { fibers } = await run(g, 'asyncify', sleep)
    expect(() => fibers.create('main')).toThrow(/each fiber needs a C stack of its own/)
  })
})

describe('the no-fibers entry', () => {
  it('has the same instantiate without fibers: create throws, fiber imports fail to link by name', async () => {
    const { instantiate: plain } = await import('@unplugin-asyncify/runtime/no-fibers')
    const f = await fixture(DEEP, DEEP_OPTIONS)
    await expect(plain(f.binary, { env: { sleep: async () => 7 } })).rejects.toThrow(/fiber.*yield/)
    const g = await fixture(
      `(module (import "env" "sleep" (func $sleep (result i32))) (memory (export "memory") 1)
        (func (export "main") (result i32) (call $sleep)))`,
      { inSecondaryMemory: true },
    )
    const { exports, fibers } = await plain<{ main(): Promise<number> }>(g.binary, {
      env: { sleep: async () => 7 },
    })
    expect(await exports.main()).toBe(7)
    expect(() => fibers.create('main')).toThrow(/no-fibers build/)
  })
})

describe('the metadata section', () => {
  const valid = {
    version: 1,
    pointer: 'i32',
    memory: 'memory',
    secondaryMemory: false,
    suspendingImports: [['env', 'sleep']],
    suspendingImportResults: [['i32']],
    suspendingExports: ['main'],
    stackPointer: { kind: 'global', export: '__stack_pointer' },
    releaseRefs: false,
  }
  const decode = (v: unknown) => decodeMetadata(new TextEncoder().encode(JSON.stringify(v)))

  it('a malformed one names the field; a valid one decodes as it is', () => {
    expect(decode(valid)).toEqual(valid)
    expect(decode({ ...valid, stackPointer: null }).stackPointer).toBeNull()
    for (const [field, bad] of [
      ['pointer', 'i16'],
      ['suspendingImports', [['env']]],
      ['suspendingImportResults', []],
      ['suspendingExports', [1]],
      ['stackPointer', { kind: 'functions', get: 'g' }],
      ['releaseRefs', 'no'],
    ] as const)
      expect(() => decode({ ...valid, [field]: bad }), field).toThrow(
        `the unplugin-asyncify custom section is malformed: ${field}`,
      )
    expect(() => decode([1])).toThrow(/version undefined.*rebuild/)
    expect(() => decodeMetadata(new TextEncoder().encode('7'))).toThrow(/not valid JSON of an object/)
  })
})

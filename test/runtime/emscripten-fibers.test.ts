// A C program of our own on emscripten's Fibers API (fixtures/fibers.c), built with clang-19 + wasi-libc
// against the runtime's emscripten/fiber.h at -O0 and -O2 (fixtures/build.mjs), in both modes: generators
// that swap with their consumer and await the host while switched in, ping-pong, concurrent calls.
import { readFileSync } from 'node:fs'
import { ASYNCIFY_DATA_T, EMSCRIPTEN_FIBER } from '@unplugin-asyncify/runtime/abi'
import { describe, expect, it } from 'vitest'
import { cFixture, delay, MODES, pipelineResult as pipeline, random, run } from './helpers.js'
import { wasiShim } from './wasi.js'

const OPTIONS = { imports: ['env.emscripten_fiber_swap', 'env.pause'] }

type Program = {
  memory: WebAssembly.Memory
  __stack_pointer: WebAssembly.Global
  __indirect_function_table: WebAssembly.Table
  _initialize(): unknown
  pipeline(limit: number): Promise<number>
  pingpong(switches: number): Promise<number>
}

async function load(
  level: string,
  mode: (typeof MODES)[number],
  pause = (c: number) => delay(1).then(() => 2 * c),
) {
  const wasi = wasiShim()
  const r = await run<Program>(await cFixture(`fibers-${level}`, OPTIONS), mode, {
    ...wasi.imports,
    env: { pause },
  })
  wasi.bind(r.exports.memory)
  await r.exports._initialize()
  return { ...r, wasi }
}

describe('the header', () => {
  it('declares the layout abi.ts has (and checks it with _Static_assert)', () => {
    const header = readFileSync(
      new URL('../../packages/runtime/include/emscripten/fiber.h', import.meta.url),
      'utf8',
    )
    const asserted = (type: string, field: string) =>
      Number(new RegExp(`offsetof\\(${type}, ${field}\\) == (\\d+)`).exec(header)?.[1])
    const sizeOf = (type: string) => Number(new RegExp(`sizeof\\(${type}\\) == (\\d+)`).exec(header)?.[1])
    expect(sizeOf('emscripten_fiber_t')).toBe(EMSCRIPTEN_FIBER.size)
    expect(sizeOf('asyncify_data_t')).toBe(ASYNCIFY_DATA_T.size)
    const fiber = {
      stack_base: 'stackBase',
      stack_limit: 'stackLimit',
      stack_ptr: 'stackPtr',
      entry: 'entry',
      user_data: 'userData',
      asyncify_data: 'asyncifyData',
    } as const
    for (const [c, js] of Object.entries(fiber))
      expect(asserted('emscripten_fiber_t', c)).toBe(EMSCRIPTEN_FIBER[js])
    const data = { stack_ptr: 'stackPtr', stack_limit: 'stackLimit', rewind_id: 'rewindId' } as const
    for (const [c, js] of Object.entries(data))
      expect(asserted('asyncify_data_t', c)).toBe(ASYNCIFY_DATA_T[js])
  })
})

for (const level of ['O0', 'O2'])
  for (const mode of MODES)
    describe(`fibers.c -${level}, ${mode} mode`, () => {
      it('generators on emscripten_fiber_swap, one awaiting the host while switched in', async () => {
        const { exports, wasi } = await load(level, mode)
        expect(await exports.pipeline(100)).toBe(pipeline(100))
        expect(await exports.pipeline(257)).toBe(pipeline(257))
        expect(wasi.output()).toBe('pipeline(100): 50 values\npipeline(257): 128 values\n')
      })

      it('10,000 switches between two fibers grow neither memory nor the table', async () => {
        const { exports } = await load(level, mode)
        expect(await exports.pingpong(10)).toBe(10)
        const before = [exports.memory.buffer.byteLength, exports.__indirect_function_table.length]
        const sp = exports.__stack_pointer.value
        expect(await exports.pingpong(10_000)).toBe(10_000)
        expect([exports.memory.buffer.byteLength, exports.__indirect_function_table.length]).toEqual(before)
        expect(exports.__stack_pointer.value).toBe(sp)
      })

      it('concurrent calls, each with its consumer context on its own C stack', async () => {
        const rnd = random(level.length + mode.length)
        const { exports } = await load(level, mode, c => delay(rnd() * 5).then(() => 2 * c))
        const sp = exports.__stack_pointer.value
        const limits = [40, 80, 120, 160, 200, 240, 280, 320]
        expect(await Promise.all(limits.map(l => exports.pipeline(l)))).toEqual(limits.map(pipeline))
        expect(exports.__stack_pointer.value).toBe(sp)
      })
    })

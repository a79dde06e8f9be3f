// Where modules come from and what describes them: bytes, a compiled Module, a Response (streamed when
// it says application/wasm, read as bytes otherwise), a promise of one, a path or file: URL in Node; the
// metadata section, the transform's report, or nothing (every import may suspend); the mode picked.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { AsyncifyError, instantiate } from '@unplugin-asyncify/runtime'
import { decodeMetadata, METADATA_SECTION } from '@unplugin-asyncify/runtime/abi'
import { describe, expect, it } from 'vitest'
import { binaryen, features } from '../helpers/binaryen.js'
import { delay, fixture, MODES, run } from './helpers.js'

const SLEEP = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "main") (param i32) (result i32) (call $log (local.get 0)) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
  (func (export "pure") (result i32) (i32.const 7)))`
const OPTIONS = { imports: ['env.sleep'], inSecondaryMemory: true }
const env = (log: number[] = []) => ({
  env: { sleep: (x: number) => delay(1).then(() => x * 2), log: (x: number) => log.push(x) },
})
type Main = { main(x: number): Promise<number>; pure(): number }

const response = (bytes: Uint8Array, type: string) =>
  new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': type } })

describe('sources', () => {
  it('bytes, a Module, a Response with or without the wasm MIME type, a promise of one, a path, a file: URL', async () => {
    const { binary } = await fixture(SLEEP, OPTIONS)
    const dir = mkdtempSync(join(tmpdir(), 'runtime-sources-'))
    const file = join(dir, 'main.wasm')
    writeFileSync(file, binary)
    const sources = [
      binary,
      binary.buffer,
      new DataView(binary.buffer),
      new WebAssembly.Module(binary),
      response(binary, 'application/wasm'),
      response(binary, 'application/octet-stream'),
      Promise.resolve(response(binary, 'application/wasm')),
      file,
      pathToFileURL(file),
      pathToFileURL(file).href,
    ]
    for (const source of sources) {
      const { exports, mode } = await instantiate<Main>(source, env())
      expect(mode).toBe('asyncify')
      expect(await exports.main(4)).toBe(9)
    }
  })

  it('a failed response is an error naming its status', async () => {
    const bad = new Response('nope', { status: 404 })
    await expect(instantiate(bad)).rejects.toThrow(/HTTP 404/)
    await expect(instantiate(42 as unknown as Uint8Array)).rejects.toThrow(AsyncifyError)
  })
})

describe('modes', () => {
  it('auto picks JSPI where WebAssembly.Suspending exists, asyncify elsewhere', async () => {
    const f = await fixture(SLEEP, OPTIONS)
    const pair = { asyncify: f.binary, original: f.original }
    expect((await instantiate(pair, env())).mode).toBe('jspi')
    const w = WebAssembly as unknown as Record<string, unknown>
    const saved = w.Suspending
    delete w.Suspending
    try {
      const { mode, exports } = await instantiate<Main>(pair, env())
      expect(mode).toBe('asyncify')
      expect(await exports.main(1)).toBe(3)
      await expect(instantiate(pair, env(), { mode: 'jspi' })).rejects.toThrow(/no WebAssembly.Suspending/)
      await expect(instantiate(f.original, env())).rejects.toThrow(/not instrumented/)
    } finally {
      w.Suspending = saved
    }
  })

  it('a single source: asyncify when it is instrumented, JSPI when it is not; asyncify mode refuses an original', async () => {
    const f = await fixture(SLEEP, OPTIONS)
    expect((await instantiate(f.binary, env())).mode).toBe('asyncify')
    expect((await instantiate(f.original, env())).mode).toBe('jspi')
    await expect(instantiate(f.original, env(), { mode: 'asyncify' })).rejects.toThrow(
      /exports no asyncify_start_unwind/,
    )
  })
})

describe('what may suspend', () => {
  it('the metadata section: only the listed imports suspend; exports that cannot are raw', async () => {
    const f = await fixture(SLEEP, OPTIONS)
    const [payload] = WebAssembly.Module.customSections(new WebAssembly.Module(f.binary), METADATA_SECTION)
    const meta = decodeMetadata(payload as ArrayBuffer)
    expect(meta.suspendingImports).toEqual([['env', 'sleep']])
    for (const mode of MODES) {
      const log: number[] = []
      const { exports, instance } = await run<Main>(f, mode, env(log))
      expect(exports.pure).toBe(instance.exports.pure)
      expect(await exports.main(2)).toBe(5)
      expect(log).toEqual([2])
    }
  })

  it("the transform's report (a JSPI original, or a binary whose section was stripped)", async () => {
    const f = await fixture(SLEEP, OPTIONS)
    const report = { suspendingImports: ['env.sleep'], suspendingExports: ['main'] }
    const { exports, instance, mode } = await instantiate<Main>(f.original, env(), { mode: 'jspi', report })
    expect(mode).toBe('jspi')
    expect(exports.pure).toBe(instance.exports.pure)
    expect(await exports.main(3)).toBe(7)
  })

  it("with neither, every import may suspend: binaryen's own asyncify output runs, i64 results included", async () => {
    const wat = `(module
      (import "env" "sleep" (func $sleep (param i64) (result i64)))
      (memory (export "memory") 1)
      (func (export "main") (param i64) (result i64) (i64.add (call $sleep (local.get 0)) (i64.const 1))))`
    const m = binaryen.parseText(wat)
    m.setFeatures(features.MVP | features.MutableGlobals)
    m.runPasses(['asyncify'])
    const bytes = new Uint8Array(m.emitBinary())
    m.dispose()
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(bytes), METADATA_SECTION)).toHaveLength(0)
    const { exports } = await instantiate<{ main(x: bigint): Promise<bigint> }>(
      bytes,
      { env: { sleep: (x: bigint) => delay(1).then(() => x * 2n) } },
      { region: { start: 1024, size: 4096 }, asyncifyStackSize: 1024 },
    )
    expect(await exports.main(20n)).toBe(41n)
  })
})

describe('the start function', () => {
  const START = `(module
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func $init (global.set $g (call $sleep (i32.const 21))))
    (start $init)
    (func (export "get") (result i32) (global.get $g)))`

  for (const mode of MODES)
    it(`${mode} mode: a start function that suspends runs as an export, before instantiate resolves`, async () => {
      const f = await fixture(START, { inSecondaryMemory: true })
      const { exports, instance } = await run<{ get(): number | Promise<number> }>(f, mode, {
        env: { sleep: (x: number) => delay(2).then(() => x * 2) },
      })
      expect(await exports.get()).toBe(42)
      expect(Object.keys(exports)).not.toContain('unplugin_asyncify_start')
      expect(instance.exports.unplugin_asyncify_start).toBeTypeOf('function')
    })

  it('JSPI with a compiled Module cannot move it: a clear error', async () => {
    const f = await fixture(START, { inSecondaryMemory: true })
    await expect(
      instantiate(new WebAssembly.Module(f.original), { env: { sleep: async () => 1 } }, { mode: 'jspi' }),
    ).rejects.toThrow(/start function suspends: pass its bytes/)
  })
})

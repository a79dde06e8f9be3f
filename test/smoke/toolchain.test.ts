// The engine the test suite needs: Node 26 from the `node` devDependency, with JSPI and exnref.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { binaryenValidate, features, fuzzFeatureFlags, runWasmOpt, watToWasm } from '../helpers/binaryen.js'

/** Wraps section payloads into a module: [id, bytes] pairs, each payload shorter than 128 bytes. */
function wasmModule(sections: [number, number[]][]): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  for (const [id, payload] of sections) out.push(id, payload.length, ...payload)
  return new Uint8Array(out)
}

describe('toolchain', () => {
  it('runs on Node 26', () => {
    expect(process.version).toMatch(/^v26\./)
  })

  it('has JSPI (WebAssembly.Suspending)', () => {
    expect(typeof (WebAssembly as unknown as Record<string, unknown>).Suspending).toBe('function')
  })

  it('compiles and runs a hand-encoded try_table', async () => {
    // (tag $e (param i32))
    // (func (export "f") (result i32)
    //   (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 7))) (i32.const 0)))
    const body = [0x00, 0x02, 0x7f, 0x1f, 0x40, 0x01, 0x00, 0x00, 0x00, 0x41, 0x07, 0x08, 0x00, 0x0b]
    body.push(0x41, 0x00, 0x0b, 0x0b)
    const bytes = wasmModule([
      [1, [0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x01, 0x7f]], // types: (i32)->(), ()->(i32)
      [3, [0x01, 0x01]], // one function of type 1
      [13, [0x01, 0x00, 0x00]], // one tag of type 0
      [7, [0x01, 0x01, 0x66, 0x00, 0x00]], // export "f" = func 0
      [10, [0x01, body.length, ...body]],
    ])
    const { instance } = await WebAssembly.instantiate(bytes)
    expect((instance.exports.f as () => number)()).toBe(7)
  })

  it('compiles exnref code written as .wat and emitted by binaryen', async () => {
    const bytes = watToWasm(
      `(module
        (tag $e (param i32))
        (func $inner (throw $e (i32.const 42)))
        (func (export "rethrown") (result i32)
          (block $caught (result i32)
            (try_table (catch $e $caught)
              (throw_ref
                (block $all (result exnref)
                  (try_table (catch_all_ref $all) (call $inner))
                  (unreachable))))
            (i32.const -1))))`,
      features.ExceptionHandling | features.ReferenceTypes | features.Multivalue,
    )
    const { instance } = await WebAssembly.instantiate(bytes)
    expect((instance.exports.rethrown as () => number)()).toBe(42)
  })

  it('generates a random module with wasm-opt -ttf that the engine and binaryen accept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttf-'))
    try {
      const seed = new Uint8Array(4096)
      for (let i = 0; i < seed.length; i++) seed[i] = (i * 2654435761) >>> 24
      writeFileSync(join(dir, 'seed.dat'), seed)
      const out = join(dir, 'out.wasm')
      runWasmOpt([join(dir, 'seed.dat'), '-ttf', ...fuzzFeatureFlags, '--translate-to-exnref', '-o', out])
      const bytes = readFileSync(out)
      expect(binaryenValidate(bytes)).toBe(true)
      expect(() => new WebAssembly.Module(bytes)).not.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

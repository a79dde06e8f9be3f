// The transform worker: results and errors come back from the thread, long transforms report progress.
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { quickjsWasmPath } from '../../../test/helpers/corpus.js'
import { TransformError, transformer } from '../src/transformer.js'

afterAll(() => transformer.close())

describe('transformer', () => {
  it('transforms .wat text in the worker and returns the compiled original too', async () => {
    const wat = '(module (import "env" "sleep" (func $s)) (func (export "main") (call $s)))'
    const out = await transformer.run('t.wat', new TextEncoder().encode(wat), true, {}, () => {})
    expect(out.report.suspendingExports).toEqual(['main'])
    expect(WebAssembly.validate(out.binary as Uint8Array<ArrayBuffer>)).toBe(true)
    expect(out.compiled).not.toBeNull()
    expect(WebAssembly.validate(out.compiled as Uint8Array<ArrayBuffer>)).toBe(true)
  })

  it('an invalid module fails with a TransformError carrying the reason', async () => {
    const bad = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x01, 0x05])
    const error = await transformer.run('bad.wasm', bad, false, {}, () => {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransformError)
    expect((error as TransformError).message).toMatch(/section size 5 runs past the end of the module/)
    expect((error as TransformError).id).toBe('bad.wasm')
  })

  it('reports progress while a long transform runs', async () => {
    const lines: string[] = []
    const out = await transformer.run(
      'qjs.wasm',
      readFileSync(quickjsWasmPath()),
      false,
      {},
      l => lines.push(l),
      100,
    )
    expect(out.report.instrumented.length).toBeGreaterThan(100)
    expect(lines.length).toBeGreaterThan(0)
    expect(lines[0]).toMatch(/^qjs\.wasm: still transforming \(\d+\.\d s\)$/)
  }, 60_000)
})

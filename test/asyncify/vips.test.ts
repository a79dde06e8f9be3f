// Real world: libvips (wasm-vips, emscripten C/C++ with legacy exception handling and pthreads, ~5 MB) with
// every import allowed to suspend: the legacy try/catch is translated to try_table, then instrumented; the
// output validates and compiles in Node (and validates in binaryen). Sizes and times go to the test output.
import { readFileSync } from 'node:fs'
import { type AsyncifyResult, asyncify } from '@unplugin-asyncify/core'
import { decode, parseNameSection } from '@unplugin-asyncify/wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { binaryenValidate } from '../helpers/binaryen.js'
import { vipsWasmPath } from '../helpers/corpus.js'
import { wat } from './shared.js'

describe('vips.wasm', () => {
  let input: Uint8Array<ArrayBuffer>
  let result: AsyncifyResult
  let transformMs = 0

  beforeAll(async () => {
    input = new Uint8Array(readFileSync(vipsWasmPath()))
    const t0 = performance.now()
    result = await asyncify(input)
    transformMs = performance.now() - t0
    const { report } = result
    const t = Object.entries(report.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')
    console.log(
      `vips.wasm: ${input.length} → ${result.binary.length} bytes (${((result.binary.length / input.length - 1) * 100).toFixed(1)}% larger) in ${(transformMs / 1000).toFixed(1)} s (${t}); ` +
        `${report.instrumented.length} functions instrumented, ${report.sites} call sites, ${report.suspendingImports.length} suspending imports`,
    )
  }, 180_000)

  it('legacy exceptions are translated, every import may suspend, and the report adds up', () => {
    const { report } = result
    expect(report.legacyExceptionsTranslated).toBe(true)
    expect(report.sizeBefore).toBe(input.length)
    expect(report.sizeAfter).toBe(result.binary.length)
    const m = decode(input, { bodies: 'lazy' })
    const funcImports = m.imports.filter(i => i.desc.kind === 'func').map(i => `${i.module}.${i.name}`)
    expect(report.suspendingImports.sort()).toEqual(funcImports.sort())
    expect(report.instrumented.length).toBeGreaterThan(1000)
    expect(report.sites).toBeGreaterThan(report.instrumented.length)
    expect(report.suspendingExports.length).toBeGreaterThan(0)
  })

  it('validates and compiles in Node', async () => {
    const t0 = performance.now()
    expect(WebAssembly.validate(result.binary)).toBe(true)
    const t1 = performance.now()
    const module = await WebAssembly.compile(result.binary)
    const t2 = performance.now()
    const exports = WebAssembly.Module.exports(module).map(e => e.name)
    expect(exports).toEqual(
      expect.arrayContaining([
        'asyncify_start_unwind',
        'asyncify_stop_unwind',
        'asyncify_start_rewind',
        'asyncify_stop_rewind',
        'asyncify_get_state',
      ]),
    )
    console.log(
      `vips.wasm output: WebAssembly.validate ${(t1 - t0).toFixed(0)} ms, WebAssembly.compile ${(t2 - t1).toFixed(0)} ms`,
    )
  })

  it('validates in binaryen', () => {
    const t0 = performance.now()
    expect(binaryenValidate(result.binary)).toBe(true)
    console.log(`vips.wasm output: binaryen validation ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }, 60_000)
})

// Found with vips.wasm: its input has no name section, binaryen's translate-to-exnref adds one with local
// names only (subsection 2), and the rewrite adds function names (subsection 1), which must come first.
describe('name section order', () => {
  it('subsections stay in increasing id order when the rewrite adds function names', async () => {
    // Function names left out (no $names on functions), local names present: only subsection 2.
    const input = wat(`(module
      (import "env" "sleep" (func (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "main") (param $x i32) (result i32) (call 0 (local.get $x))))`)
    const inOrder = parseNameSection(decode(input).customs.find(c => c.name === 'name')?.data as Uint8Array)
    expect(inOrder.order).toEqual([2])
    const { binary } = await asyncify(input)
    const section = decode(binary).customs.find(c => c.name === 'name')
    const order = parseNameSection(section?.data as Uint8Array).order
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })
})

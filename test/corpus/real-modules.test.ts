// Real toolchain output: QuickJS (C, emscripten), vips (C++ with legacy EH, SIMD, atomics), swc (Rust).
import { readFileSync } from 'node:fs'
import { decode, encode } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { binaryenValidate } from '../helpers/binaryen.js'
import { quickjsWasmPath, swcWasmPath, vipsWasmPath } from '../helpers/corpus.js'

const modules = [
  { name: 'QuickJS', path: quickjsWasmPath },
  { name: 'vips', path: vipsWasmPath },
  { name: 'swc', path: swcWasmPath },
]

describe.each(modules)('$name', ({ path }) => {
  const bytes = new Uint8Array(readFileSync(path()))

  it('lazy decode + encode is byte-identical', () => {
    const out = encode(decode(bytes, { bodies: 'lazy' }))
    expect(out.length).toBe(bytes.length)
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true)
  })

  it('eager decode + encode validates (binaryen) and compiles (V8)', async () => {
    const out = encode(decode(bytes, { bodies: 'eager' }))
    expect(binaryenValidate(out)).toBe(true)
    await expect(WebAssembly.compile(out)).resolves.toBeInstanceOf(WebAssembly.Module)
  }, 180_000)
})

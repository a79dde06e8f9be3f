// Real world, large: DuckDB (`@duckdb/duckdb-wasm` duckdb-eh.wasm, 34 MB of emscripten C++ with legacy
// exception handling; its switch lowering nests blocks about 1,500 deep, which overflowed the JS stack of
// the recursive rewrite). Every import may suspend: the legacy try/catch is translated, every function on
// an unwinding path instrumented, and the output compiles in Node 26. Time and peak memory are measured
// by the asyncify-large bench (test/bench/asyncify-large.mjs), not here.
import { readFileSync } from 'node:fs'
import { type AsyncifyResult, asyncify } from '@unplugin-asyncify/core'
import { decode, type Instr, walk } from '@unplugin-asyncify/wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { duckdbWasmPath } from '../helpers/corpus.js'

/** The deepest nesting of structures in any function body. */
function maxNesting(bytes: Uint8Array): number {
  const m = decode(bytes, { bodies: 'eager' })
  let max = 0
  for (const f of m.funcs) {
    let depth = 0
    walk(f.body?.body ?? [], {
      enter: (_ins: Instr) => undefined,
      startList: (_owner: Instr, part: number) => {
        if (part === 0) max = Math.max(max, ++depth)
      },
      leave: () => {
        depth--
      },
    })
  }
  return max
}

describe('duckdb-eh.wasm', () => {
  let input: Uint8Array<ArrayBuffer>
  let result: AsyncifyResult

  beforeAll(async () => {
    input = new Uint8Array(readFileSync(duckdbWasmPath()))
    result = await asyncify(input)
  }, 900_000)

  it('is translated and instrumented, every import suspending', () => {
    const { report } = result
    expect(report.legacyExceptionsTranslated).toBe(true)
    expect(report.instrumented.length).toBeGreaterThan(10_000)
    expect(report.sites).toBeGreaterThan(report.instrumented.length)
    const m = decode(input, { bodies: 'lazy' })
    expect(report.suspendingImports.length).toBe(m.imports.filter(i => i.desc.kind === 'func').length)
  })

  it('nests deeper than a recursive pass could follow, before and after', () => {
    expect(maxNesting(input)).toBeGreaterThan(1000)
    expect(maxNesting(result.binary)).toBeGreaterThan(1000)
  }, 300_000)

  it('compiles in Node', async () => {
    const module = await WebAssembly.compile(result.binary)
    const exports = WebAssembly.Module.exports(module).map(e => e.name)
    expect(exports).toEqual(expect.arrayContaining(['asyncify_start_unwind', 'asyncify_get_state']))
  }, 300_000)
})

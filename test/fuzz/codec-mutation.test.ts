// Mutations of rich modules (GC, EH, SIMD, atomics, memory64 from binaryen's fuzzer): each mutant must
// decode and lift, or throw a WasmDecodeError. Complements the hello.wasm mutation test in packages/wasm.
import { decode, encode, liftFunction, WasmDecodeError } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { codecFuzzFlags, fuzzModule, seedBytes } from '../helpers/fuzz.js'

const CASES_PER_MODULE = Number(process.env.MUTATION_CASES ?? 1000)
const SEEDS = [1000, 1001, 1002, 1003, 1004]

function mutant(base: Uint8Array, c: number): Uint8Array {
  const noise = seedBytes(c, 16)
  const out = base.slice()
  const edits = 1 + ((noise[0] as number) % 3)
  for (let e = 0; e < edits; e++) {
    const pos = 8 + ((((noise[1 + e * 3] as number) << 8) | (noise[2 + e * 3] as number)) % (out.length - 8))
    out[pos] = noise[3 + e * 3] as number
  }
  return (noise[15] as number) % 7 === 0
    ? out.subarray(0, 8 + (((noise[14] as number) * 97) % (out.length - 8)))
    : out
}

describe('mutated fuzz modules', () => {
  it.each(SEEDS)(
    `${CASES_PER_MODULE} mutants of fuzz module %i decode or fail cleanly`,
    async seed => {
      const base = await fuzzModule(seed, codecFuzzFlags, 'codec-all')
      const tally = { ok: 0, error: 0 }
      for (let c = 0; c < CASES_PER_MODULE; c++) {
        const bytes = mutant(base, seed * 100_000 + c)
        const t0 = performance.now()
        try {
          const m = decode(bytes, { bodies: c % 2 === 0 ? 'lazy' : 'eager' })
          for (let i = 0; i < m.funcs.length; i++) liftFunction(m, i)
          encode(m)
          tally.ok++
        } catch (e) {
          if (!(e instanceof WasmDecodeError))
            throw new Error(`seed ${seed} case ${c}: ${(e as Error).stack}`)
          expect(e.offset).toBeGreaterThanOrEqual(0)
          expect(e.offset).toBeLessThanOrEqual(bytes.length)
          tally.error++
        }
        expect(performance.now() - t0, `seed ${seed} case ${c}`).toBeLessThan(2000)
      }
      expect(tally.error).toBeGreaterThan(0)
      expect(tally.ok + tally.error).toBe(CASES_PER_MODULE)
    },
    120_000,
  )
})

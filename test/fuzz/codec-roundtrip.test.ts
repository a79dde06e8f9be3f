// Eager round trip of binaryen fuzzer modules: every body is lifted into our IR and written back from
// it; binaryen must read and validate the result and print exactly the same text as for the input.
import { decode, encode } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { binaryenText, binaryenValidate, fuzzFeatureFlags } from '../helpers/binaryen.js'
import { codecFuzzFlags, fuzzModule, mapLimit } from '../helpers/fuzz.js'

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 320)
/** Half the seeds use the feature set, half every proposal the codec supports. */
const variants = [
  { tag: 'codec-base', flags: fuzzFeatureFlags },
  { tag: 'codec-all', flags: codecFuzzFlags },
]

describe.each(variants)('wasm-opt -ttf round trip ($tag)', ({ tag, flags }) => {
  const seeds = Array.from({ length: Math.ceil(SEEDS / variants.length) }, (_, i) => i)
  let modules: Uint8Array[] = []

  it(`generates ${seeds.length} modules`, async () => {
    modules = await mapLimit(seeds, 2, seed => fuzzModule(seed, flags, tag))
    expect(modules.length).toBe(seeds.length)
  }, 600_000)

  it('lazy decode + encode is byte-identical', () => {
    for (const [seed, bytes] of modules.entries()) {
      const out = encode(decode(bytes, { bodies: 'lazy' }))
      expect(Buffer.from(out).equals(Buffer.from(bytes)), `seed ${seed}`).toBe(true)
    }
  })

  it('eager decode + encode validates and prints like the input in binaryen', () => {
    for (const [seed, bytes] of modules.entries()) {
      const out = encode(decode(bytes, { bodies: 'eager' }))
      expect(binaryenValidate(out), `seed ${seed} validates`).toBe(true)
      expect(binaryenText(out), `seed ${seed} text`).toBe(binaryenText(bytes))
    }
  }, 300_000)
})

// Random byte mutations of valid modules: each mutant must either decode (and lift every body) or throw a
// WasmDecodeError, quickly. Never a RangeError, a TypeError, a hang or an allocation blow-up.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { decode, liftFunction } from '../src/decode-module.js'
import { encode } from '../src/encode-module.js'
import { WasmDecodeError } from '../src/errors.js'

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples')
const CASES = Number(process.env.MUTATION_CASES ?? 5000)

/** Small deterministic PRNG so a failing case can be replayed from its number. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

function mutate(input: Uint8Array, seed: number): Uint8Array {
  const next = rng(seed)
  let bytes = input.slice()
  const edits = 1 + (next() % 4)
  for (let e = 0; e < edits; e++) {
    const at = 8 + (next() % (bytes.length - 8))
    switch (next() % 5) {
      case 0: // flip a bit
        bytes[at] = (bytes[at] as number) ^ (1 << (next() % 8))
        break
      case 1: // random byte
        bytes[at] = next() & 0xff
        break
      case 2: // interesting value
        bytes[at] = [0x00, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0x1f, 0xfb, 0xfd][next() % 9] as number
        break
      case 3: // truncate
        bytes = bytes.slice(0, at)
        break
      default: {
        // duplicate a short run
        const len = 1 + (next() % 8)
        const run = bytes.slice(at, at + len)
        const out = new Uint8Array(bytes.length + run.length)
        out.set(bytes.subarray(0, at))
        out.set(run, at)
        out.set(bytes.subarray(at), at + run.length)
        bytes = out
      }
    }
    if (bytes.length <= 8) break
  }
  return bytes
}

function check(bytes: Uint8Array): 'ok' | 'error' {
  try {
    const m = decode(bytes, { bodies: seedMode(bytes) })
    for (let i = 0; i < m.funcs.length; i++) liftFunction(m, i)
    encode(m)
    return 'ok'
  } catch (e) {
    if (e instanceof WasmDecodeError) return 'error'
    throw e
  }
}

function seedMode(bytes: Uint8Array): 'lazy' | 'eager' {
  return bytes.length % 2 === 0 ? 'lazy' : 'eager'
}

describe('mutated modules', () => {
  const base = new Uint8Array(readFileSync(join(examples, 'hello.wasm')))

  it(`${CASES} mutants of hello.wasm decode or fail cleanly`, () => {
    const tally = { ok: 0, error: 0 }
    for (let c = 0; c < CASES; c++) {
      const mutant = mutate(base, c + 1)
      const t0 = performance.now()
      let outcome: 'ok' | 'error'
      try {
        outcome = check(mutant)
      } catch (e) {
        throw new Error(`case ${c}: ${(e as Error).stack}`)
      }
      const ms = performance.now() - t0
      expect(ms, `case ${c} took ${ms} ms`).toBeLessThan(1000)
      tally[outcome]++
    }
    // Both outcomes must actually occur, or the mutator is not exercising anything.
    expect(tally.ok).toBeGreaterThan(CASES / 50)
    expect(tally.error).toBeGreaterThan(CASES / 5)
  })
})

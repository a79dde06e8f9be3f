// Shared pieces of the asyncify scenario tests: WAT compilation, the rewrite with validation, sleep imports.
import {
  type AsyncifyOptions,
  type AsyncifyResult,
  asyncify,
  type OptimizeLevel,
} from '@unplugin-asyncify/core'
import { countImports, decode, encode } from '@unplugin-asyncify/wasm'
import { expect } from 'vitest'
import { binaryenValidate, features, watToWasm } from '../helpers/binaryen.js'

/** The optimize levels every scenario runs at. */
export const LEVELS: readonly OptimizeLevel[] = [0, 1, 3, 's']

/** Where the drivers put their `{ current, end }` structs: modules keep their own data below 1024. */
export const DRIVER = { dataAddr: 1024, bufferSize: 2048 } as const

export const BASE_FEATURES = features.MVP | features.MutableGlobals

const watCache = new Map<string, Uint8Array<ArrayBuffer>>()

/** WAT → binary (with the name section, for lists and report names), cached. */
export function wat(text: string, extra = 0): Uint8Array<ArrayBuffer> {
  const key = `${extra}\u0000${text}`
  let bytes = watCache.get(key)
  if (bytes === undefined) {
    bytes = watToWasm(text, BASE_FEATURES | extra, { names: true })
    watCache.set(key, bytes)
  }
  return bytes
}

/** Runs the rewrite and checks binaryen validates its output. */
export async function build(input: Uint8Array, options: AsyncifyOptions): Promise<AsyncifyResult> {
  const result = await asyncify(input, options)
  expect(binaryenValidate(result.binary), 'binaryen validates the output').toBe(true)
  return result
}

export function instrumentedNames(result: AsyncifyResult): string[] {
  return result.report.instrumented.map(f => f.name).sort()
}

/** Resolves on the next turn of the event loop (after every pending microtask). */
export function macrotask(): Promise<void> {
  return new Promise(resolve => setImmediate(resolve))
}

/** An async import: records its arguments, waits a microtask turn, returns `f(...args)`. */
export function sleeper<A extends unknown[], R>(
  f: (...args: A) => R,
): { fn: (...args: A) => Promise<R>; calls: A[] } {
  const calls: A[] = []
  return {
    calls,
    fn: async (...args: A): Promise<R> => {
      calls.push(args)
      await Promise.resolve()
      return f(...args)
    },
  }
}

/**
 * Every feature Node 26 runs, for WAT using exception handling, GC, typed function references and
 * multi-value: all of binaryen's features except compact imports (bit 26) and custom descriptors (bit 21),
 * whose encodings Node rejects.
 */
export const NODE_FEATURES = features.All & ~((1 << 26) | (1 << 21))

/** WAT with every feature Node runs (see NODE_FEATURES) → binary with names, cached. */
export function watAll(text: string): Uint8Array<ArrayBuffer> {
  return wat(text, NODE_FEATURES)
}

/** A deterministic PRNG (mulberry32): same seed, same sequence. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The reference slot tables of a rewritten module, exported under these names by `exportSlotTables`. */
export const SLOT_TABLE_EXPORTS = {
  links: 'slots_links',
  func: 'slots_func',
  extern: 'slots_extern',
  any: 'slots_any',
  exn: 'slots_exn',
} as const

/**
 * Exports the module-internal reference slot tables (for tests that watch their sizes): the last table of
 * i31ref elements (the free-list links) and the last one of each of funcref, externref, anyref and exnref.
 * Meant for modules without tables of their own of those types. Returns the kinds it found.
 */
export function exportSlotTables(binary: Uint8Array): {
  binary: Uint8Array<ArrayBuffer>
  kinds: (keyof typeof SLOT_TABLE_EXPORTS)[]
} {
  const m = decode(binary, { bodies: 'lazy' })
  const imported = countImports(m, 'table')
  const found = new Map<keyof typeof SLOT_TABLE_EXPORTS, number>()
  m.tables.forEach((t, i) => {
    const heap = t.refType.heap
    const kind = heap === 'i31' ? 'links' : heap
    if (kind === 'links' || kind === 'func' || kind === 'extern' || kind === 'any' || kind === 'exn')
      found.set(kind, imported + i)
  })
  for (const [kind, index] of found) m.exports.push({ name: SLOT_TABLE_EXPORTS[kind], kind: 'table', index })
  return { binary: encode(m), kinds: [...found.keys()] }
}

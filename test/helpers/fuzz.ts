// Random modules from binaryen's fuzzer (`wasm-opt -ttf`), generated from seeded input bytes and cached
// under test/.cache so repeated runs skip the ~0.4 s wasm-opt start-up per module.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { wasmOptPath } from './binaryen.js'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const binaryenVersion = (createRequire(import.meta.url)('binaryen/package.json') as { version: string })
  .version
export const fuzzCacheDir = join(here, '..', '.cache', `fuzz-binaryen-${binaryenVersion}`)

/** Deterministic bytes for a seed (xorshift32), the raw material -ttf turns into a module. */
export function seedBytes(seed: number, length = 8192): Uint8Array {
  const out = new Uint8Array(length)
  let x = Math.imul(seed + 1, 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** Every proposal the codec claims, for round-trip fuzzing (the modules need not run in V8). */
export const codecFuzzFlags: readonly string[] = [
  '--enable-exception-handling',
  '--enable-gc',
  '--enable-reference-types',
  '--enable-simd',
  '--enable-relaxed-simd',
  '--enable-multivalue',
  '--enable-tail-call',
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-threads',
  '--enable-extended-const',
  '--enable-multimemory',
  '--enable-memory64',
]

/** The fuzz module for `seed` under `flags` (extra wasm-opt arguments), generated once and cached. */
export async function fuzzModule(seed: number, flags: readonly string[], tag: string): Promise<Uint8Array> {
  const dir = join(fuzzCacheDir, tag)
  const file = join(dir, `${seed}.wasm`)
  if (existsSync(file)) return new Uint8Array(readFileSync(file))
  mkdirSync(dir, { recursive: true })
  const input = join(dir, `${seed}.${process.pid}.in`)
  const tmp = join(dir, `${seed}.${process.pid}.tmp.wasm`)
  writeFileSync(input, seedBytes(seed))
  try {
    await run(process.execPath, [wasmOptPath(), input, '-ttf', ...flags, '-o', tmp], { timeout: 120_000 })
    renameSync(tmp, file)
  } finally {
    rmSync(input, { force: true })
    rmSync(tmp, { force: true })
  }
  return new Uint8Array(readFileSync(file))
}

/** Runs `fn` over `items` with at most `limit` in flight (wasm-opt is a separate process per call). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  })
  await Promise.all(workers)
  return out
}

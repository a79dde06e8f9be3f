// binaryen as a test oracle: text output, validation, .wat parsing and the wasm-opt CLI.
//
// binaryen's JS module initialises itself with a top-level await (~0.5 s), so it is loaded here with a
// dynamic import, only by the test files that import this helper.
//
// Notes on binaryen 132's JS API (its index.d.ts lags behind index.js):
// - `readBinary(bytes, features?)` and `parseText(text, features?)` take an optional feature set;
//   the typings declare neither second argument (and a `readBinaryWithFeatures` that does not exist).
// - Parse errors throw a plain object `{ message }`, not an Error.
// - Emitting with every feature enabled can produce encodings engines reject (compact imports), so
//   `watToWasm` takes the feature set explicitly.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type BinaryenNamespace from 'binaryen'

export type Binaryen = typeof BinaryenNamespace
export type BinaryenModule = BinaryenNamespace.Module

export const binaryen: Binaryen = (await import('binaryen')).default

/** Feature bits, e.g. `features.ExceptionHandling | features.ReferenceTypes`. */
export const features = binaryen.Features

interface BinaryenReaders {
  readBinary(data: Uint8Array, features?: number): BinaryenModule
  parseText(text: string, features?: number): BinaryenModule
}
const readers = binaryen as unknown as BinaryenReaders

function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  const message = (thrown as { message?: unknown } | null)?.message
  return new Error(`binaryen: ${typeof message === 'string' ? message : String(thrown)}`)
}

function withModule<T>(load: () => BinaryenModule, use: (module: BinaryenModule) => T): T {
  let module: BinaryenModule
  try {
    module = load()
  } catch (thrown) {
    throw asError(thrown)
  }
  try {
    return use(module)
  } finally {
    module.dispose()
  }
}

/** Reads a binary with the given features (all by default). Dispose the result when done. */
export function binaryenRead(bytes: Uint8Array, featureSet: number = features.All): BinaryenModule {
  try {
    return readers.readBinary(bytes, featureSet)
  } catch (thrown) {
    throw asError(thrown)
  }
}

/** binaryen's text rendering of a binary module. */
export function binaryenText(bytes: Uint8Array, featureSet: number = features.All): string {
  return withModule(
    () => readers.readBinary(bytes, featureSet),
    module => module.emitText(),
  )
}

/**
 * Whether binaryen reads and validates the binary. Validation errors are printed by binaryen itself.
 * With all features on (the default) this is lenient about which proposals are used.
 */
export function binaryenValidate(bytes: Uint8Array, featureSet: number = features.All): boolean {
  try {
    return withModule(
      () => readers.readBinary(bytes, featureSet),
      module => module.validate() !== 0,
    )
  } catch {
    return false
  }
}

/** Parses .wat text, validates it and emits a binary with exactly `featureSet` enabled. */
export function watToWasm(
  text: string,
  featureSet: number,
  options: { names?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  return withModule(
    () => readers.parseText(text),
    module => {
      module.setFeatures(featureSet)
      if (!module.validate()) throw new Error('binaryen: the .wat module does not validate')
      const previous = binaryen.getDebugInfo()
      binaryen.setDebugInfo(options.names ?? false)
      try {
        return new Uint8Array(module.emitBinary())
      } finally {
        binaryen.setDebugInfo(previous)
      }
    },
  )
}

const require = createRequire(import.meta.url)

/** The wasm-opt shipped in the binaryen package: a JS file, run it with `node` (process.execPath). */
export function wasmOptPath(): string {
  return join(dirname(require.resolve('binaryen/package.json')), 'bin', 'wasm-opt')
}

/** Runs wasm-opt with the current node; returns its stdout. Throws with stderr on failure. */
export function runWasmOpt(args: readonly string[], options: { timeoutMs?: number } = {}): string {
  return execFileSync(process.execPath, [wasmOptPath(), ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/**
 * Flags for `wasm-opt -ttf` random module generation (binaryen's fuzzer). Append
 * `--translate-to-exnref`: without it the generated modules mix legacy and new exception
 * handling, which V8 rejects.
 */
export const fuzzFeatureFlags: readonly string[] = [
  '--enable-exception-handling',
  '--enable-gc',
  '--enable-reference-types',
  '--enable-simd',
  '--enable-multivalue',
  '--enable-tail-call',
  '--enable-bulk-memory',
]

// Shared pieces of the asyncify scenario tests: WAT compilation, the rewrite with validation, sleep imports.
import {
  type AsyncifyOptions,
  type AsyncifyResult,
  asyncify,
  type OptimizeLevel,
} from '@unplugin-asyncify/core'
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

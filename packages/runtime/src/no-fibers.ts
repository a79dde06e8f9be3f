/**
 * `@unplugin-asyncify/runtime/no-fibers`: `instantiate` without fiber support. Same API; `fibers.create`
 * throws, and a module importing emscripten's fiber functions or `fiber.yield` is refused.
 */
import { instantiateWith } from './instantiate.js'
import type { AsyncifiedInstance, Imports, InstantiateOptions, SourcePair, WasmSource } from './types.js'

export { AsyncifyError, BufferOverflowError } from './errors.js'
export type * from './types.js'

/** See `instantiate` in `@unplugin-asyncify/runtime`. */
export function instantiate<E extends object = Record<string, unknown>>(
  source: WasmSource | SourcePair,
  imports?: Imports,
  options?: InstantiateOptions,
): Promise<AsyncifiedInstance<E>> {
  return instantiateWith<E>(null, source, imports, options)
}

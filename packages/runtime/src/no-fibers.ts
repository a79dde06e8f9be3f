/**
 * `@unplugin-asyncify/runtime/no-fibers`: `instantiate` without fiber support. Same API; `fibers.create`
 * throws, and a module importing emscripten's fiber functions or `fiber.yield` is refused.
 */
import { type Instantiate, instantiateWith } from './instantiate.js'

export { AsyncifyError, BufferOverflowError } from './errors.js'
export type * from './types.js'

/** See `instantiate` in `@unplugin-asyncify/runtime`. */
export const instantiate: Instantiate = (source, imports, options) =>
  instantiateWith(null, source, imports, options)

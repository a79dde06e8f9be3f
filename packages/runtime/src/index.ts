/**
 * `@unplugin-asyncify/runtime`: runs WebAssembly modules whose imports may return promises — binaries
 * instrumented by `wasm-asyncify` (asyncify mode) or, where the engine has JS promise integration, the
 * original module (JSPI mode) — behind one API, with fibers from JS and from C (emscripten's Fibers API).
 *
 * ```ts
 * import { instantiate } from '@unplugin-asyncify/runtime'
 * const { exports } = await instantiate(fetch('app.wasm'), {
 *   env: { sleep: (ms: number) => new Promise(r => setTimeout(r, ms)) },
 * })
 * await exports.main()
 * ```
 *
 * `@unplugin-asyncify/runtime/no-fibers` exports the same `instantiate` without fiber support (smaller).
 */
import { fibers as asyncify } from './fibers-asyncify.js'
import { fibers as jspi } from './fibers-jspi.js'
import { type Instantiate, instantiateWith } from './instantiate.js'

export { AsyncifyError, BufferOverflowError } from './errors.js'
export type * from './types.js'

/**
 * Compiles and instantiates a module.
 *
 * - `source`: bytes, a `WebAssembly.Module`, a `Response` (or a promise of one), a URL, or for
 *   `mode: 'auto'` a `{ asyncify, original }` pair (JSPI runs the original where the engine has it).
 * - `imports`: as for `WebAssembly.instantiate`; a function import may return a promise (any thenable)
 *   if it may suspend. Its value reaches wasm converted to the import's result type; a rejection (or a
 *   synchronous throw) is thrown into wasm at the call site as that same value.
 * - Exports that may suspend return promises; the others are the raw exports (synchronous).
 *
 * @throws AsyncifyError when the module or an option cannot work (the message says which and why).
 */
export const instantiate: Instantiate = (source, imports, options) =>
  instantiateWith({ asyncify, jspi }, source, imports, options)

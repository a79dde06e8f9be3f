/**
 * The plugin's settings for each wasm module of the playground, keyed by file name in this directory.
 * vite.config.ts passes them as the plugin's `modules` option (PLUGIN_MODULES); the playground's tests
 * resolve the same option through the plugin's own option code. `imports` lists the imports that may suspend (by default every
 * import may); modules without an allocator (the WAT ones) get a memory of their own for the runtime's
 * buffers by the plugin's default (`inSecondaryMemory: 'auto'`); `mode: 'auto'` ships the original binary as well, for JSPI.
 */
import type { ModuleOptions } from 'unplugin-asyncify'

export const WASM_MODULES: Record<string, ModuleOptions> = {
  'fetch-loop.wasm': { imports: ['env.sleep', 'env.fetch_text'] },
  'exceptions.wat': { imports: ['env.sleep', 'env.fetch_length'] },
  'exceptions-legacy.wat': { imports: ['env.sleep', 'env.fetch_length'] },
  'fibers.wasm': { imports: ['env.sleep', 'env.emscripten_fiber_swap'] },
  'workload.wasm': { imports: ['env.tick'], mode: 'auto' },
  'hot.wat': { imports: ['env.sleep'] },
}

/** The plugin's `modules` option: each module's settings under a glob of its path. */
export const PLUGIN_MODULES: Record<string, ModuleOptions> = Object.fromEntries(
  Object.entries(WASM_MODULES).map(([file, settings]) => [`**/src/wasm/${file}`, settings]),
)

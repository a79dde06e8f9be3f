/**
 * The plugin's settings for each wasm module of the playground, keyed by file name in this directory.
 * vite.config.ts turns them into the plugin's `modules` option; the playground's tests instrument the
 * same files with the same settings. `imports` lists the imports that may suspend (by default every
 * import may); `inSecondaryMemory` gives modules without an allocator a memory of their own for the
 * runtime's buffers; `mode: 'auto'` ships the original binary as well, for JSPI.
 */
export interface PlaygroundModule {
  imports: string[]
  inSecondaryMemory?: boolean
  mode?: 'asyncify' | 'jspi' | 'auto'
}

export const WASM_MODULES: Record<string, PlaygroundModule> = {
  'fetch-loop.wasm': { imports: ['env.sleep', 'env.fetch_text'] },
  'exceptions.wat': { imports: ['env.sleep', 'env.fetch_length'], inSecondaryMemory: true },
  'exceptions-legacy.wat': { imports: ['env.sleep', 'env.fetch_length'], inSecondaryMemory: true },
  'fibers.wasm': { imports: ['env.sleep', 'env.emscripten_fiber_swap'] },
  'workload.wasm': { imports: ['env.tick'], mode: 'auto' },
  'hot.wat': { imports: ['env.sleep'], inSecondaryMemory: true },
}

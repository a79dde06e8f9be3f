/**
 * Types for `?asyncify` imports. Add `"types": ["unplugin-asyncify/client"]` to your tsconfig's
 * compilerOptions, or `/// <reference types="unplugin-asyncify/client" />` to a declaration file.
 *
 * TypeScript matches module names with one wildcard, so an import with parameters is typed when
 * `asyncify` comes last: `./engine.wasm?mode=jspi&asyncify`.
 */

/** What every `?asyncify` module exports (the glue the plugin generates). */
declare module 'unplugin-asyncify/glue' {
  import type { AsyncifiedInstance, InstantiateOptions } from '@unplugin-asyncify/runtime'

  /**
   * `init(imports?, options?)`: instantiates the module through the runtime (its `instantiate`, with this
   * module's binaries and report). `E` types the exports: `init<{ main(): Promise<number> }>(…)`.
   */
  export default function init<E extends object = Record<string, unknown>>(
    imports?: WebAssembly.Imports,
    options?: InstantiateOptions,
  ): Promise<AsyncifiedInstance<E>>
  /** Exports that may suspend: they return promises. */
  export const suspendingExports: readonly string[]
  /** Imports that may suspend (`module.name`): they may return promises. */
  export const suspendingImports: readonly string[]
  /** The mode `init` uses unless told otherwise (the plugin's `mode` option). */
  export const mode: 'auto' | 'asyncify' | 'jspi'
  export const report: {
    /** The imported file, relative to the bundler root. */
    readonly file: string
    readonly suspendingExports: readonly string[]
    readonly suspendingImports: readonly string[]
    /** Names of the instrumented functions. */
    readonly instrumented: readonly string[]
    /** Calls that may unwind. */
    readonly sites: number
    readonly sizeBefore: number
    readonly sizeAfter: number
    readonly legacyExceptionsTranslated: boolean
    readonly warnings: readonly string[]
  }
}

declare module '*.wasm?asyncify' {
  export * from 'unplugin-asyncify/glue'
  export { default } from 'unplugin-asyncify/glue'
}

declare module '*.wat?asyncify' {
  export * from 'unplugin-asyncify/glue'
  export { default } from 'unplugin-asyncify/glue'
}

declare module '*&asyncify' {
  export * from 'unplugin-asyncify/glue'
  export { default } from 'unplugin-asyncify/glue'
}

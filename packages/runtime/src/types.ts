/** The public types of `@unplugin-asyncify/runtime`: what `instantiate` takes and gives. */
import type { AsyncifyMetadata } from './abi.js'

/** `'asyncify'` drives an instrumented binary; `'jspi'` runs a module with JS promise integration. */
export type Mode = 'asyncify' | 'jspi'

/**
 * Where a module comes from: its bytes, a compiled module, a `Response` or a promise of one (compiled
 * while it streams when the server sends `application/wasm`), or a URL (fetched in browsers; a `file:`
 * URL or a path is read from disk in Node).
 */
export type WasmSource = BufferSource | WebAssembly.Module | Response | PromiseLike<Response> | URL | string

/** For `mode: 'auto'`: the instrumented binary and the original one; JSPI runs the original. */
export interface SourcePair {
  asyncify: WasmSource
  original: WasmSource
}

/**
 * The import object, as for `WebAssembly.instantiate` (tags and other values included): a function may
 * return a promise (any thenable) where the import may suspend.
 */
export type Imports = Record<string, Record<string, unknown>>

/** The parts of `wasm-asyncify`'s report (`AsyncifyReport`) the runtime reads. */
export interface TransformReport {
  /** `module.name` of each import that may suspend. */
  suspendingImports: string[]
  /** Exported functions that may suspend. */
  suspendingExports: string[]
}

/** Export names of the module's allocator, for buffers and C stacks. */
export interface AllocatorNames {
  malloc: string
  free: string
}

/** A byte range of the data memory that the runtime may use for buffers (and C stacks). */
export interface Region {
  start: number
  size: number
}

export interface InstantiateOptions {
  /** Default: `'auto'` for a `{ asyncify, original }` pair; else asyncify for an instrumented binary, JSPI otherwise. */
  mode?: Mode | 'auto'
  /**
   * What may suspend, when the binary lacks the metadata section (or in JSPI mode, where the original
   * has none): the transform's report or the metadata itself. With neither, every import may suspend.
   */
  report?: TransformReport | AsyncifyMetadata
  /** Bytes of the asyncify buffer of each call in flight (default 16 KiB). */
  asyncifyStackSize?: number
  /** Bytes of the C stack of each call in flight, when the module has a C stack pointer (default 64 KiB). */
  stackSize?: number
  /** The module's allocator exports (default: `malloc`/`free`, then emscripten's builtin names). */
  allocator?: AllocatorNames
  /** Take buffers (and C stacks) from this range of the data memory instead of the allocator. */
  region?: Region
  /** Export name of the data memory when the binary has no metadata (default `asyncify_memory`, else `memory`). */
  memory?: string
  /**
   * Export name of the C stack-pointer global, overriding the metadata; `false` declares that the module
   * has no C shadow stack, so calls run concurrently without one. With none known, calls are queued.
   */
  stackPointer?: string | false
}

/** Per-fiber sizes; both default to the `instantiate` options. */
export interface FiberOptions {
  stackSize?: number
  asyncifyStackSize?: number
}

/** What `fiber.resume` resolves to: a yield (`done: false`) or the entry's return value (`done: true`). */
export interface FiberResult {
  done: boolean
  value: unknown
}

export type FiberState = 'created' | 'running' | 'suspended' | 'done' | 'destroyed'

/** A fiber created from JS: its own asyncify buffer and C stack, run by `resume`. */
export interface Fiber {
  readonly id: number
  readonly state: FiberState
  /**
   * Runs the fiber until it yields (the `fiber.yield` import) or its entry returns. `value` becomes the
   * result of the yield it is paused in (ignored on the first resume).
   */
  resume(value?: unknown): Promise<FiberResult>
  /** Frees the fiber's buffer, C stack and reference slots. Not while it runs. */
  destroy(): void
}

export interface Fibers {
  /** A fiber whose body calls `entry(arg)`: a function-table index or an export name. */
  create(entry: number | string, arg?: unknown, options?: FiberOptions): Fiber
  /** The fiber whose code is running (inside its imports too), or null. */
  readonly current: Fiber | null
}

/** An instantiated module: exports that may suspend return promises, the others are the raw exports. */
export interface AsyncifiedInstance<E extends object = Record<string, unknown>> {
  instance: WebAssembly.Instance
  module: WebAssembly.Module
  exports: E
  mode: Mode
  fibers: Fibers
}

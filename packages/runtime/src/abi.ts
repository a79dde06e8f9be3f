/**
 * The asyncify ABI, written down once.
 *
 * binaryen's Asyncify pass defined this interface and our rewrite keeps it, so runtimes written for
 * binaryen's output (emscripten's JS, GoogleChromeLabs/asyncify, Crystal's and Ruby's in-module
 * drivers) drive our output unchanged:
 *
 * - The module exports five control functions (`EXPORTS`). `start_unwind(data)` and
 *   `start_rewind(data)` take the address of a data header (`DATA_HEADER`) in the data memory.
 * - The state is `STATE.normal` until a suspending import calls `start_unwind`; every instrumented
 *   frame then saves its locals at `current` and returns. The host calls `stop_unwind`, waits, calls
 *   `start_rewind` and calls the same export again; the frames restore themselves and the import that
 *   suspended runs again, calls `stop_rewind` and returns its real value.
 * - The four state-changing functions trap when `current > end`: an unwind wrote past the buffer.
 * - A module may import these functions from module `IMPORT_MODULE` (`asyncify.start_unwind`, ...):
 *   the rewrite serves such imports with its own implementations (in-module schedulers).
 *
 * Beyond binaryen's interface, an instrumented binary describes itself in a custom section
 * (`METADATA_SECTION`, see `AsyncifyMetadata`), so a runtime knows without a side file which imports
 * may suspend, which exports may, where the data lives and where the C stack pointer is.
 *
 * This file has no dependencies: the runtime ships it to browsers, and the core (which writes the
 * binaries) takes its names from here.
 */

/** Values of the state global, as `asyncify_get_state()` returns them. */
export const STATE = { normal: 0, unwinding: 1, rewinding: 2 } as const
export type AsyncifyState = (typeof STATE)[keyof typeof STATE]

/** The control functions, by their short names (the names of the `asyncify.*` imports too). */
export const API_NAMES = ['start_unwind', 'stop_unwind', 'start_rewind', 'stop_rewind', 'get_state'] as const
export type ApiName = (typeof API_NAMES)[number]

/** The control functions' signatures, by short name; `data` is a bigint with 64-bit pointers. */
export interface ControlFunctions {
  start_unwind(data: number | bigint): void
  stop_unwind(): void
  start_rewind(data: number | bigint): void
  stop_rewind(): void
  get_state(): AsyncifyState
}

/** Module name of the imports a module uses to call its own control functions. */
export const IMPORT_MODULE = 'asyncify'

/** Every export the rewrite may add. */
export const EXPORTS = {
  start_unwind: 'asyncify_start_unwind',
  stop_unwind: 'asyncify_stop_unwind',
  start_rewind: 'asyncify_start_rewind',
  stop_rewind: 'asyncify_stop_rewind',
  get_state: 'asyncify_get_state',
  /** `(data) → ()`: frees the reference slots of a stack that will never be resumed. Only when references are saved. */
  releaseRefs: 'asyncify_release_refs',
  /** The memory of the data with `inSecondaryMemory` (or the module's own memory when it had none exported). */
  memory: 'asyncify_memory',
} as const satisfies Record<ApiName, string> & Record<string, string>

/** The state and data-pointer globals: imported from `RELOCATABLE_MODULE` with `relocatable`, exported with `exportGlobals`. */
export const GLOBALS = { state: '__asyncify_state', data: '__asyncify_data' } as const
export const RELOCATABLE_MODULE = 'env'

/**
 * Exported allocators a runtime may take buffers and C stacks from, as [malloc, free] pairs, in order of
 * preference (plain C's, then emscripten's builtin ones). The rewrite's `inSecondaryMemory: 'auto'`
 * looks for the same pairs.
 */
export const ALLOCATORS: readonly (readonly [string, string])[] = [
  ['malloc', 'free'],
  ['emscripten_builtin_malloc', 'emscripten_builtin_free'],
]

/** emscripten's exported C stack accessors as [get, set] pairs, newest spelling first. */
export const EMSCRIPTEN_STACK_ACCESSORS: readonly (readonly [string, string])[] = [
  ['emscripten_stack_get_current', '_emscripten_stack_restore'],
  ['stackSave', 'stackRestore'],
]

/** The C shadow-stack pointer global as wasm-ld names (and can export) it. */
export const STACK_POINTER_GLOBAL = '__stack_pointer'

export type PointerWidth = 'i32' | 'i64'

/**
 * The data header `{ current, end }` that `start_unwind`/`start_rewind` point at: byte offsets of its
 * fields and its size, for 32-bit memories (i32 fields) and 64-bit ones (i64 fields). Saved frames
 * grow upward from `current`; the buffer usually follows the header directly.
 */
export const DATA_HEADER = {
  i32: { current: 0, end: 4, size: 8 },
  i64: { current: 0, end: 8, size: 16 },
} as const satisfies Record<PointerWidth, { current: number; end: number; size: number }>

/** Name of the custom section in which the rewrite describes the instrumented binary. */
export const METADATA_SECTION = 'unplugin-asyncify'
export const METADATA_VERSION = 1

/** How a runtime reads and writes the module's C stack pointer, when it has one. */
export type StackPointerAccess =
  /** An exported mutable global (wasm-ld's `__stack_pointer`, exported by the rewrite when only the name section named it). */
  | { kind: 'global'; export: string }
  /** emscripten's exported accessors, e.g. `emscripten_stack_get_current` + `_emscripten_stack_restore`. */
  | { kind: 'functions'; get: string; set: string }

/** What an instrumented binary says about itself (JSON in the `METADATA_SECTION` custom section). */
export interface AsyncifyMetadata {
  version: typeof METADATA_VERSION
  /** Width of the data header's fields: i64 when the data memory is 64-bit. */
  pointer: PointerWidth
  /** Export name of the memory that holds the data header and buffers. */
  memory: string
  /** Whether the data memory is a secondary memory of the rewrite's own (`inSecondaryMemory`). */
  secondaryMemory: boolean
  /** Imports that may suspend, as `[module, name]`. */
  suspendingImports: [string, string][]
  /**
   * The result types of `suspendingImports`, in the same order, in the text format (`i32`, `i64`,
   * `(ref null extern)`, `(ref 3)`): while it starts an unwind, an import returns a stand-in value of
   * these types, which a runtime cannot learn from a compiled `WebAssembly.Module` otherwise.
   */
  suspendingImportResults: string[][]
  /** Exported functions that may suspend (their callers must expect an unwind). */
  suspendingExports: string[]
  /** The C stack pointer, or null when the module has none the rewrite could find. */
  stackPointer: StackPointerAccess | null
  /** Whether the module exports `EXPORTS.releaseRefs` (it saves references across suspensions). */
  releaseRefs: boolean
}

/** Encodes the metadata as the payload of the `METADATA_SECTION` custom section. */
export function encodeMetadata(meta: AsyncifyMetadata): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(meta))
}

/**
 * Reads a `METADATA_SECTION` payload; throws a plain Error saying what is wrong with it (the field, for a
 * malformed one).
 */
export function decodeMetadata(payload: ArrayBuffer | Uint8Array): AsyncifyMetadata {
  const fail = (why: string): never => {
    throw new Error(`the ${METADATA_SECTION} custom section ${why}`)
  }
  let m: Record<string, unknown> = {}
  try {
    m = JSON.parse(new TextDecoder().decode(payload))
    if (!(m instanceof Object)) throw m
  } catch {
    fail('is not valid JSON of an object')
  }
  if (m.version !== METADATA_VERSION)
    fail(
      `has version ${m.version}; this runtime reads version ${METADATA_VERSION} (rebuild the module with the same release of wasm-asyncify)`,
    )
  for (const [field, ok] of Object.entries(FIELDS)) if (!ok(m[field], m)) fail(`is malformed: ${field}`)
  return m as unknown as AsyncifyMetadata
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isBoolean = (v: unknown): boolean => typeof v === 'boolean'
/** An array of `length` (any, when not given) items, each passing `item`. */
const isList = (v: unknown, item: (x: unknown) => boolean, length?: number): boolean =>
  Array.isArray(v) && (length ?? v.length) === v.length && v.every(x => item(x))

/** A check of each field of `AsyncifyMetadata` but the version (`m` is the whole payload). */
const FIELDS: Record<string, (v: unknown, m: Record<string, unknown>) => boolean> = {
  pointer: v => v === 'i32' || v === 'i64',
  memory: isString,
  secondaryMemory: isBoolean,
  suspendingImports: v => isList(v, p => isList(p, isString, 2)),
  suspendingImportResults: (v, m) =>
    isList(v, r => isList(r, isString), (m.suspendingImports as unknown[]).length),
  suspendingExports: v => isList(v, isString),
  stackPointer: v => {
    const s = v as Record<string, unknown> | null
    return (
      s === null ||
      (s.kind === 'global'
        ? isString(s.export)
        : s.kind === 'functions' && isString(s.get) && isString(s.set))
    )
  },
  releaseRefs: isBoolean,
}

/**
 * emscripten's Fibers API, wasm32 layout (the C header `include/emscripten/fiber.h` spells the same
 * offsets and checks them with `_Static_assert`; a test compares the two). `asyncify_data_t` starts
 * with the `{ current, end }` data header, so `fiber + asyncifyData` is what `start_unwind` takes.
 */
export const EMSCRIPTEN_FIBER = {
  stackBase: 0,
  stackLimit: 4,
  stackPtr: 8,
  entry: 12,
  userData: 16,
  asyncifyData: 20,
  size: 32,
} as const
export const ASYNCIFY_DATA_T = { stackPtr: 0, stackLimit: 4, rewindId: 8, size: 12 } as const

/** Imports the runtime serves itself when a module has them and the caller gives none of that name. */
export const RUNTIME_IMPORTS = {
  /** emscripten's fiber functions (`env.*`): `swap` suspends; the two init functions only write the struct. */
  emscripten: {
    module: 'env',
    swap: 'emscripten_fiber_swap',
    init: 'emscripten_fiber_init',
    initFromCurrent: 'emscripten_fiber_init_from_current_context',
  },
  /** `fiber.yield(value?) → resumeValue`: a fiber created from JS hands `value` to its resumer and waits. */
  fiberYield: { module: 'fiber', name: 'yield' },
} as const

/** The options of the rewrite, named after binaryen's asyncify pass arguments where one exists. */
import { AsyncifyOptionError } from './errors.js'
import { parseList } from './patterns.js'

export type OptimizeLevel = 0 | 1 | 2 | 3 | 4 | 's' | 'z'

export interface AsyncifyOptions {
  /**
   * Imports that may suspend, as `module.base` entries with `*` wildcards (array, comma/newline separated
   * string, or `@file`). Default: every import may suspend.
   */
  imports?: string | readonly string[]
  /** No import may suspend (except the `asyncify.*` ones). */
  ignoreImports?: boolean
  /** No indirect call may suspend. */
  ignoreIndirect?: boolean
  /** Trap when an uninstrumented function sees the state change across a call. */
  asserts?: boolean
  /** Instrument only these functions (by name; wildcards; `@file`). */
  onlyList?: string | readonly string[]
  /** Also instrument these functions. */
  addList?: string | readonly string[]
  /** Never instrument these functions, and treat calls to them as never suspending. */
  removeList?: string | readonly string[]
  /** Callers of add-listed functions are instrumented too. */
  propagateAddList?: boolean
  /** Import `__asyncify_state` and `__asyncify_data` from `env` instead of defining them. */
  relocatable?: boolean
  /** Export name of the memory holding the asyncify data (needed with several memories). */
  memory?: string
  /** Export `__asyncify_state` and `__asyncify_data`. */
  exportGlobals?: boolean
  /** Keep the asyncify data in a new memory of its own (exported as `asyncify_memory`). */
  inSecondaryMemory?: boolean
  /** Pages of that memory (default 1). */
  secondaryMemorySize?: number
  /** Run binaryen's optimizer on the output at this level (0 = not at all). */
  optimize?: OptimizeLevel
  /** Keep the name section (binaryen's -g); otherwise the optimizer may drop names. */
  debugInfo?: boolean
  /** What to do with legacy try/catch: convert to try_table first, or refuse. */
  legacyExceptions?: 'translate' | 'error'
  /** Directory for `@file` lists. */
  cwd?: string
}

export interface ResolvedOptions {
  imports: string[] | 'all'
  ignoreIndirect: boolean
  asserts: boolean
  onlyList: string[]
  addList: string[]
  removeList: string[]
  propagateAddList: boolean
  relocatable: boolean
  memory: string | null
  exportGlobals: boolean
  inSecondaryMemory: boolean
  secondaryMemorySize: number
  optimize: OptimizeLevel
  debugInfo: boolean
  legacyExceptions: 'translate' | 'error'
}

const KNOWN = new Set([
  'imports',
  'ignoreImports',
  'ignoreIndirect',
  'asserts',
  'onlyList',
  'addList',
  'removeList',
  'propagateAddList',
  'relocatable',
  'memory',
  'exportGlobals',
  'inSecondaryMemory',
  'secondaryMemorySize',
  'optimize',
  'debugInfo',
  'legacyExceptions',
  'cwd',
])

function bool(name: string, v: unknown): boolean {
  if (v === undefined) return false
  if (typeof v !== 'boolean')
    throw new AsyncifyOptionError(name, `expected true or false, got ${JSON.stringify(v)}`)
  return v
}

function list(name: string, v: unknown, cwd: string): string[] {
  if (v === undefined) return []
  if (typeof v === 'string') return parseList(name, v, cwd)
  if (Array.isArray(v) && v.every(x => typeof x === 'string')) return parseList(name, v as string[], cwd)
  throw new AsyncifyOptionError(name, 'expected a list of names (array or comma-separated string)')
}

export function resolveOptions(options: AsyncifyOptions = {}): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new AsyncifyOptionError(key, `unknown option (known: ${[...KNOWN].join(', ')})`)
  }
  const cwd = options.cwd ?? process.cwd()
  const ignoreImports = bool('ignoreImports', options.ignoreImports)
  let imports: string[] | 'all' = 'all'
  if (options.imports !== undefined) imports = list('imports', options.imports, cwd)
  if (ignoreImports) {
    if (options.imports !== undefined && (imports as string[]).length > 0)
      throw new AsyncifyOptionError('ignoreImports', 'cannot be combined with a non-empty imports list')
    imports = []
  }
  const onlyList = list('onlyList', options.onlyList, cwd)
  const addList = list('addList', options.addList, cwd)
  const removeList = list('removeList', options.removeList, cwd)
  if (onlyList.length > 0 && (addList.length > 0 || removeList.length > 0))
    throw new AsyncifyOptionError(
      'onlyList',
      'an only-list cannot be combined with an add-list or a remove-list',
    )
  const size = options.secondaryMemorySize ?? 1
  if (!Number.isInteger(size) || size < 1 || size > 65536)
    throw new AsyncifyOptionError('secondaryMemorySize', `expected a page count from 1 to 65536, got ${size}`)
  const optimize = options.optimize ?? 0
  if (![0, 1, 2, 3, 4, 's', 'z'].includes(optimize))
    throw new AsyncifyOptionError('optimize', `expected 0-4, 's' or 'z', got ${JSON.stringify(optimize)}`)
  const legacy = options.legacyExceptions ?? 'translate'
  if (legacy !== 'translate' && legacy !== 'error')
    throw new AsyncifyOptionError(
      'legacyExceptions',
      `expected 'translate' or 'error', got ${JSON.stringify(legacy)}`,
    )
  if (options.memory !== undefined && typeof options.memory !== 'string')
    throw new AsyncifyOptionError('memory', 'expected the export name of a memory')
  return {
    imports,
    ignoreIndirect: bool('ignoreIndirect', options.ignoreIndirect),
    asserts: bool('asserts', options.asserts),
    onlyList,
    addList,
    removeList,
    propagateAddList: bool('propagateAddList', options.propagateAddList),
    relocatable: bool('relocatable', options.relocatable),
    memory: options.memory ?? null,
    exportGlobals: bool('exportGlobals', options.exportGlobals),
    inSecondaryMemory: bool('inSecondaryMemory', options.inSecondaryMemory),
    secondaryMemorySize: size,
    optimize,
    debugInfo: bool('debugInfo', options.debugInfo),
    legacyExceptions: legacy,
  }
}

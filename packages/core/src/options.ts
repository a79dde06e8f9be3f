/**
 * The options of the rewrite: one table (see `option-table.ts` for what is derived from it). Names follow
 * binaryen's asyncify pass arguments where one exists; the optimizer rows are wasm-opt's optimization
 * options, applied when binaryen optimizes the output (`optimize.ts`).
 *
 * Row order matters: `cwd` first (lists read `@file` relative to it), `ignoreImports` before `imports`,
 * `optimize` before the levels it implies.
 */
import { AsyncifyOptionError } from './errors.js'
import {
  boolean,
  choice,
  defineOptions,
  directory,
  type InputOf,
  integer,
  keyValues,
  nameList,
  type ResolvedOf,
  type Spelling,
  text,
} from './option-table.js'

export const OPTIMIZE_LEVELS = [0, 1, 2, 3, 4, 's', 'z'] as const
export type OptimizeLevel = (typeof OPTIMIZE_LEVELS)[number]

/** binaryen's optimize and shrink levels for `-O<level>` (`-Os` is -O2 shrinking a little, `-Oz` more). */
export function levelsOf(optimize: OptimizeLevel): { optimizeLevel: number; shrinkLevel: number } {
  if (optimize === 's') return { optimizeLevel: 2, shrinkLevel: 1 }
  if (optimize === 'z') return { optimizeLevel: 2, shrinkLevel: 2 }
  return { optimizeLevel: optimize, shrinkLevel: 0 }
}

// `-O<level>` as wasm-opt spells it (`-O` alone is `-Os`); each resets earlier `-ol`/`-s`, as in wasm-opt.
const O_FLAGS: Spelling<OptimizeLevel>[] = [
  ...OPTIMIZE_LEVELS.map(v => ({ flag: `-O${v}`, value: v, resets: ['optimizeLevel', 'shrinkLevel'] })),
  { flag: '-O', value: 's', resets: ['optimizeLevel', 'shrinkLevel'] },
]

/** A binaryen global optimizer setting (`--low-memory-unused` and friends): wasm-opt's spelling is ours. */
function assumption(long: string, short: string, doc: string) {
  return boolean({
    doc,
    cli: [
      { flag: `--${long}`, value: true },
      { flag: short, value: true },
    ],
    wasmOpt: { same: true },
  })
}

const ROWS = {
  cwd: directory({ doc: 'directory that `@file` lists are read relative to', cli: [] }),
  ignoreImports: boolean({
    doc: 'no import may suspend (the `asyncify.*` ones still do)',
    wasmOpt: { passArgs: ['asyncify-ignore-imports'] },
  }),
  imports: nameList<string[] | 'all'>({
    doc: 'imports that may suspend: `module.base` entries, `*` wildcards, `@file`',
    default: r => (r.ignoreImports === true ? [] : 'all'),
    defaultDoc: 'every import',
    wasmOpt: { passArgs: ['asyncify-imports'] },
  }),
  ignoreIndirect: boolean({
    doc: 'no indirect call may suspend',
    wasmOpt: { passArgs: ['asyncify-ignore-indirect'] },
  }),
  asserts: boolean({
    doc: 'trap when an uninstrumented function sees the state change across a call',
    wasmOpt: { passArgs: ['asyncify-asserts'] },
  }),
  onlyList: nameList({
    doc: 'instrument only these functions (names, `*` wildcards, `@file`)',
    wasmOpt: { passArgs: ['asyncify-onlylist', 'asyncify-whitelist'] },
  }),
  addList: nameList({ doc: 'also instrument these functions', wasmOpt: { passArgs: ['asyncify-addlist'] } }),
  removeList: nameList({
    doc: 'never instrument these functions; calls to them never suspend',
    wasmOpt: { passArgs: ['asyncify-removelist', 'asyncify-blacklist'] },
  }),
  propagateAddList: boolean({
    doc: 'instrument the callers of add-listed functions too',
    wasmOpt: { passArgs: ['asyncify-propagate-addlist'] },
  }),
  relocatable: boolean({
    doc: 'import `__asyncify_state` and `__asyncify_data` from `env` instead of defining them',
    wasmOpt: { passArgs: ['asyncify-relocatable'] },
  }),
  memory: text({
    doc: 'export name of the memory holding the asyncify data (needed with several memories)',
    arg: '<export name>',
    wasmOpt: { passArgs: ['asyncify-memory'] },
  }),
  exportGlobals: boolean({
    doc: 'export `__asyncify_state` and `__asyncify_data`',
    wasmOpt: { passArgs: ['asyncify-export-globals'] },
  }),
  inSecondaryMemory: boolean({
    doc: 'keep the asyncify data in a memory of its own (exported as `asyncify_memory`)',
    wasmOpt: { passArgs: ['asyncify-in-secondary-memory'] },
  }),
  secondaryMemorySize: integer({
    doc: 'pages of that memory',
    min: 1,
    max: 65536,
    default: 1,
    wasmOpt: { passArgs: ['asyncify-secondary-memory-size'] },
  }),
  legacyExceptions: choice({
    doc: 'legacy `try`/`catch`: translate to `try_table` first, or refuse the module',
    values: ['translate', 'error'],
    default: 'translate',
  }),
  optimize: choice({
    wasmOpt: { same: true },
    doc: "run binaryen's optimizer on the output at this level (0: not at all)",
    values: OPTIMIZE_LEVELS,
    default: 0,
    cli: O_FLAGS,
  }),
  optimizeLevel: integer({
    wasmOpt: { same: true },
    doc: "binaryen's optimize level when it optimizes or runs passes (set by `optimize`)",
    min: 0,
    max: 4,
    default: r => levelsOf(r.optimize as OptimizeLevel).optimizeLevel,
    defaultDoc: 'from `optimize`',
    cli: [
      { flag: '--optimize-level', arg: '<0-4>' },
      { flag: '-ol', arg: '<0-4>' },
    ],
  }),
  shrinkLevel: integer({
    wasmOpt: { same: true },
    doc: "binaryen's shrink level likewise (set by `optimize`: 1 for `s`, 2 for `z`)",
    min: 0,
    max: 2,
    default: r => levelsOf(r.optimize as OptimizeLevel).shrinkLevel,
    defaultDoc: 'from `optimize`',
    cli: [
      { flag: '--shrink-level', arg: '<0-2>' },
      { flag: '-s', arg: '<0-2>' },
    ],
  }),
  converge: boolean({
    wasmOpt: { same: true },
    doc: 'optimize again while the output keeps getting smaller',
    cli: [
      { flag: '--converge', value: true },
      { flag: '-c', value: true },
    ],
  }),
  debugInfo: boolean({
    wasmOpt: { same: true },
    doc: 'keep the name section when binaryen rewrites the output (otherwise it drops names)',
    cli: [
      { flag: '-g', value: true },
      { flag: '--debuginfo', value: true },
    ],
  }),
  lowMemoryUnused: assumption(
    'low-memory-unused',
    '-lmu',
    'optimize assuming the low 1K of memory is unused',
  ),
  zeroFilledMemory: assumption(
    'zero-filled-memory',
    '-uim',
    'optimize assuming an imported memory starts zeroed',
  ),
  trapsNeverHappen: assumption('traps-never-happen', '-tnh', 'optimize assuming no trap is ever reached'),
  fastMath: assumption('fast-math', '-ffm', 'optimize floats ignoring NaN and rounding corner cases'),
  closedWorld: assumption('closed-world', '-cw', 'optimize assuming the outside does not inspect GC data'),
  alwaysInlineMaxSize: integer({
    wasmOpt: { same: true },
    doc: 'functions up to this size are always inlined',
    min: 0,
    max: 0x7fffffff,
    default: null,
    defaultDoc: "binaryen's",
    cli: [
      { flag: '--always-inline-max-function-size', arg: '<n>' },
      { flag: '-aimfs', arg: '<n>' },
    ],
  }),
  flexibleInlineMaxSize: integer({
    wasmOpt: { same: true },
    doc: 'functions up to this size are inlined when lightweight (-O3)',
    min: 0,
    max: 0x7fffffff,
    default: null,
    defaultDoc: "binaryen's",
    cli: [
      { flag: '--flexible-inline-max-function-size', arg: '<n>' },
      { flag: '-fimfs', arg: '<n>' },
    ],
  }),
  oneCallerInlineMaxSize: integer({
    wasmOpt: { same: true },
    doc: 'functions with one caller up to this size are inlined (-1: any size)',
    min: -1,
    max: 0x7fffffff,
    default: null,
    defaultDoc: "binaryen's",
    cli: [
      { flag: '--one-caller-inline-max-function-size', arg: '<n>' },
      { flag: '-ocimfs', arg: '<n>' },
    ],
  }),
  inlineFunctionsWithLoops: boolean({
    wasmOpt: { same: true },
    doc: 'allow inlining functions that contain loops',
    cli: [
      { flag: '--inline-functions-with-loops', value: true },
      { flag: '-ifwl', value: true },
    ],
  }),
  skipPasses: nameList({
    wasmOpt: { same: true },
    doc: 'binaryen passes the optimizer skips',
    arg: '<pass>',
    cli: [
      { flag: '--skip-pass', arg: '<pass>' },
      { flag: '-sp', arg: '<pass>' },
    ],
  }),
  passArgs: keyValues({
    wasmOpt: { same: true },
    doc: "arguments for binaryen's passes (`KEY@VALUE`; `asyncify-*` ones set the options above)",
    cli: [
      { flag: '--pass-arg', arg: '<key@value>' },
      { flag: '-pa', arg: '<key@value>' },
    ],
  }),
}

export const ASYNCIFY_OPTIONS = defineOptions(ROWS, (r, given) => {
  if (r.ignoreImports && given.imports !== undefined && r.imports !== 'all' && r.imports.length > 0)
    throw new AsyncifyOptionError('ignoreImports', 'cannot be combined with a non-empty imports list')
  if (r.onlyList.length > 0 && (r.addList.length > 0 || r.removeList.length > 0))
    throw new AsyncifyOptionError(
      'onlyList',
      'an only-list cannot be combined with an add-list or a remove-list',
    )
  for (const key of Object.keys(r.passArgs))
    if (key.startsWith('asyncify-'))
      throw new AsyncifyOptionError(
        'passArgs',
        `${key} is an asyncify pass argument: set its own option instead`,
      )
})

export type AsyncifyOptionRows = typeof ROWS
export type AsyncifyOptions = InputOf<AsyncifyOptionRows>
export type ResolvedOptions = ResolvedOf<AsyncifyOptionRows>

export function resolveOptions(options: AsyncifyOptions = {}): ResolvedOptions {
  return ASYNCIFY_OPTIONS.resolve(options)
}

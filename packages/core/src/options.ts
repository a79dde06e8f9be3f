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
  type OptionSpec,
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

/** Boolean rows spelled as in wasm-opt: name → [long flag, short flag, doc]. */
function wasmOptBooleans<K extends string>(
  defs: Record<K, readonly [string, string, string]>,
): Record<K, OptionSpec<boolean, boolean>> {
  const rows = {} as Record<K, OptionSpec<boolean, boolean>>
  for (const [name, [long, short, doc]] of Object.entries(defs) as [K, readonly [string, string, string]][]) {
    const cli = [
      { flag: long, value: true },
      { flag: short, value: true },
    ]
    rows[name] = boolean({ doc, cli, wasmOpt: { same: true } })
  }
  return rows
}

/** The same for a flag taking an argument. */
function sameArgs(
  long: string,
  short: string,
  arg: string,
): { cli: Spelling<never>[]; wasmOpt: { same: true } } {
  return {
    cli: [
      { flag: long, arg },
      { flag: short, arg },
    ],
    wasmOpt: { same: true },
  }
}

/** binaryen's optimize or shrink level: `optimize` implies it unless it is given. */
function level(of: 'optimizeLevel' | 'shrinkLevel', max: number, long: string, short: string, doc: string) {
  return integer({
    doc,
    min: 0,
    max,
    default: r => levelsOf(r.optimize as OptimizeLevel)[of],
    defaultDoc: 'from `optimize`',
    ...sameArgs(long, short, `<0-${max}>`),
  })
}

/** One of binaryen's inlining limits; unset, binaryen's own default applies. */
function inlineLimit(long: string, short: string, doc: string, min = 0) {
  return integer({
    doc,
    min,
    max: 0x7fffffff,
    default: null,
    defaultDoc: "binaryen's",
    ...sameArgs(long, short, '<n>'),
  })
}

/**
 * A boolean row that also takes `'auto'` (decided by the rewrite once it has read the module); on the
 * command line it stays a flag, and text may say `auto`.
 */
function orAuto(flag: OptionSpec<boolean, boolean>): OptionSpec<boolean | 'auto', boolean | 'auto'> {
  return {
    ...flag,
    type: "boolean | 'auto'",
    resolve: (v, ctx) => (v === 'auto' ? v : flag.resolve(v, ctx)),
    fromText: (text, option) => (text === 'auto' ? text : flag.fromText(text, option)),
  }
}

/** Rows named after asyncify pass arguments: name → [pass arguments, doc]; our spelling `--kebab-name`. */
function asyncifyRows<K extends string, S>(
  kind: (base: { doc: string; wasmOpt: { passArgs: string[] } }) => S,
  defs: Record<K, readonly [string[], string]>,
): Record<K, S> {
  const rows = {} as Record<K, S>
  for (const [name, [passArgs, doc]] of Object.entries(defs) as [K, readonly [string[], string]][])
    rows[name] = kind({ doc, wasmOpt: { passArgs } })
  return rows
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
  ...asyncifyRows(boolean, {
    ignoreIndirect: [['asyncify-ignore-indirect'], 'no indirect call may suspend'],
    asserts: [
      ['asyncify-asserts'],
      'trap when an uninstrumented function sees the state change across a call',
    ],
    propagateAddList: [['asyncify-propagate-addlist'], 'instrument the callers of add-listed functions too'],
    relocatable: [
      ['asyncify-relocatable'],
      'import `__asyncify_state` and `__asyncify_data` from `env` instead of defining them',
    ],
    exportGlobals: [['asyncify-export-globals'], 'export `__asyncify_state` and `__asyncify_data`'],
  }),
  inSecondaryMemory: orAuto(
    boolean({
      doc: "keep the asyncify data in a memory of its own (exported as `asyncify_memory`); `'auto'`: only when the module exports no allocator (`malloc`/`free`) a runtime could take its buffers from",
      wasmOpt: { passArgs: ['asyncify-in-secondary-memory'] },
    }),
  ),
  ...asyncifyRows(nameList, {
    onlyList: [
      ['asyncify-onlylist', 'asyncify-whitelist'],
      'instrument only these functions (names, `*` wildcards, `@file`)',
    ],
    addList: [['asyncify-addlist'], 'also instrument these functions'],
    removeList: [
      ['asyncify-removelist', 'asyncify-blacklist'],
      'never instrument these functions; calls to them never suspend',
    ],
  }),
  memory: text({
    doc: 'export name of the memory holding the asyncify data (needed with several memories)',
    arg: '<export name>',
    wasmOpt: { passArgs: ['asyncify-memory'] },
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
  optimizeLevel: level(
    'optimizeLevel',
    4,
    '--optimize-level',
    '-ol',
    "binaryen's optimize level when it optimizes or runs passes (set by `optimize`)",
  ),
  shrinkLevel: level(
    'shrinkLevel',
    2,
    '--shrink-level',
    '-s',
    "binaryen's shrink level likewise (set by `optimize`: 1 for `s`, 2 for `z`)",
  ),
  normalCopies: integer({
    doc: "give the functions with the most calls that may unwind inside loops an uninstrumented copy for normal state (see docs/asyncify.md), adding up to this percent of the module's instructions (0: none)",
    min: 0,
    max: 100,
    // (Not 0 at -Os, the plugin's production default: a few percent of size for the normal path's speed.)
    default: r => ((r.shrinkLevel as number) >= 2 ? 0 : 8),
    defaultDoc: '8, or 0 with `-Oz`',
    arg: '<percent>',
  }),
  ...wasmOptBooleans({
    converge: ['--converge', '-c', 'optimize again while the output keeps getting smaller'],
    debugInfo: [
      '-g',
      '--debuginfo',
      'keep the name section when binaryen rewrites the output (otherwise it drops names)',
    ],
    lowMemoryUnused: ['--low-memory-unused', '-lmu', 'optimize assuming the low 1K of memory is unused'],
    zeroFilledMemory: ['--zero-filled-memory', '-uim', 'optimize assuming an imported memory starts zeroed'],
    trapsNeverHappen: ['--traps-never-happen', '-tnh', 'optimize assuming no trap is ever reached'],
    fastMath: ['--fast-math', '-ffm', 'optimize floats ignoring NaN and rounding corner cases'],
    closedWorld: ['--closed-world', '-cw', 'optimize assuming the outside does not inspect GC data'],
    inlineFunctionsWithLoops: [
      '--inline-functions-with-loops',
      '-ifwl',
      'allow inlining functions that contain loops',
    ],
  }),
  alwaysInlineMaxSize: inlineLimit(
    '--always-inline-max-function-size',
    '-aimfs',
    'functions up to this size are always inlined',
  ),
  flexibleInlineMaxSize: inlineLimit(
    '--flexible-inline-max-function-size',
    '-fimfs',
    'functions up to this size are inlined when lightweight (-O3)',
  ),
  oneCallerInlineMaxSize: inlineLimit(
    '--one-caller-inline-max-function-size',
    '-ocimfs',
    'functions with one caller up to this size are inlined (-1: any size)',
    -1,
  ),
  skipPasses: nameList({
    doc: 'binaryen passes the optimizer skips',
    ...sameArgs('--skip-pass', '-sp', '<pass>'),
  }),
  passArgs: keyValues({
    doc: "arguments for binaryen's passes (`KEY@VALUE`; `asyncify-*` ones set the options above)",
    ...sameArgs('--pass-arg', '-pa', '<key@value>'),
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

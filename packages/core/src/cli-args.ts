/**
 * Command-line parsing for `wasm-asyncify`: our own option spellings plus wasm-opt's, so an existing
 * `wasm-opt in.wasm -O1 --asyncify --pass-arg=asyncify-imports@env.sleep -o out.wasm` line works as is.
 */
import { AsyncifyOptionError } from './errors.js'
import type { AsyncifyOptions, OptimizeLevel } from './options.js'

export interface CliArgs {
  input: string
  output: string | null
  report: string | null
  options: AsyncifyOptions
  help: boolean
  quiet: boolean
}

/** binaryen pass-arg names (after `asyncify-`) → our options. */
const PASS_ARG_LISTS: Record<string, 'imports' | 'onlyList' | 'addList' | 'removeList'> = {
  imports: 'imports',
  onlylist: 'onlyList',
  whitelist: 'onlyList',
  addlist: 'addList',
  removelist: 'removeList',
  blacklist: 'removeList',
}
const PASS_ARG_FLAGS: Record<string, keyof AsyncifyOptions> = {
  'ignore-imports': 'ignoreImports',
  'ignore-indirect': 'ignoreIndirect',
  asserts: 'asserts',
  'propagate-addlist': 'propagateAddList',
  relocatable: 'relocatable',
  'export-globals': 'exportGlobals',
  'in-secondary-memory': 'inSecondaryMemory',
}
/** Our long options taking a value. */
const VALUE_OPTIONS: Record<
  string,
  'imports' | 'onlyList' | 'addList' | 'removeList' | 'memory' | 'secondaryMemorySize' | 'legacyExceptions'
> = {
  imports: 'imports',
  'only-list': 'onlyList',
  'add-list': 'addList',
  'remove-list': 'removeList',
  memory: 'memory',
  'secondary-memory-size': 'secondaryMemorySize',
  'legacy-exceptions': 'legacyExceptions',
}

export const USAGE = `usage: wasm-asyncify <in.wasm|in.wat> -o <out.wasm> [options]

  -o <file>                     output file (required)
  --report <file.json>          write the instrumentation report as JSON
  -O0 .. -O4, -Os, -Oz          run binaryen's optimizer on the output
  -g                            keep names (debug info)
  --imports <list>              imports that may suspend: module.base, * wildcards, @file
  --ignore-imports              no import may suspend (asyncify.* still do)
  --ignore-indirect             indirect calls never suspend
  --asserts                     trap if uninstrumented code sees the state change
  --only-list / --add-list / --remove-list <list>
  --propagate-add-list          instrument callers of add-listed functions too
  --relocatable                 import __asyncify_state/__asyncify_data from env
  --memory <export name>        memory for the asyncify data (several memories)
  --export-globals              export __asyncify_state and __asyncify_data
  --in-secondary-memory         keep the data in a memory of its own
  --secondary-memory-size <n>   its size in pages (default 1)
  --legacy-exceptions=translate|error
  -q, --quiet                   no summary on stderr

wasm-opt spellings are accepted too: --asyncify, --pass-arg=asyncify-<name>@<value>,
--pass-arg=asyncify-<flag>, --enable-<feature>, --disable-<feature>, --all-features, -all.`

function optimizeLevel(flag: string): OptimizeLevel | null {
  const m = /^-O([0-4sz])?$/.exec(flag)
  if (m === null) return null
  const v = m[1] ?? '2'
  return (v === 's' || v === 'z' ? v : Number(v)) as OptimizeLevel
}

function setList(
  o: AsyncifyOptions,
  key: 'imports' | 'onlyList' | 'addList' | 'removeList',
  value: string,
): void {
  // Repeated flags accumulate, as lists.
  const prev = o[key]
  o[key] = prev === undefined ? value : `${typeof prev === 'string' ? prev : prev.join(',')},${value}`
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { input: '', output: null, report: null, options: {}, help: false, quiet: false }
  const o = args.options
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const value = (name: string): string => {
      const eq = a.indexOf('=')
      if (eq >= 0) return a.slice(eq + 1)
      const v = argv[++i]
      if (v === undefined) throw new AsyncifyOptionError(name, 'needs a value')
      return v
    }
    if (a === '-h' || a === '--help') args.help = true
    else if (a === '-q' || a === '--quiet') args.quiet = true
    else if (a === '-o' || a === '--output' || a.startsWith('--output=')) args.output = value('-o')
    else if (a === '--report' || a.startsWith('--report=')) args.report = value('--report')
    else if (
      a === '--asyncify' ||
      a === '-all' ||
      a === '--all-features' ||
      /^--(enable|disable)-[a-z0-9-]+$/.test(a)
    ) {
      // Accepted for wasm-opt compatibility: the rewrite always runs and features come from the module.
    } else if (a === '-g' || a === '--debuginfo') o.debugInfo = true
    else if (optimizeLevel(a) !== null) o.optimize = optimizeLevel(a) as OptimizeLevel
    else if (a.startsWith('--pass-arg=') || a === '--pass-arg' || a === '-pa') {
      const pa = a.startsWith('--pass-arg=') ? a.slice('--pass-arg='.length) : value(a)
      const at = pa.indexOf('@')
      const key = at >= 0 ? pa.slice(0, at) : pa
      const val = at >= 0 ? pa.slice(at + 1) : null
      if (!key.startsWith('asyncify-'))
        throw new AsyncifyOptionError(`--pass-arg=${key}`, 'only asyncify-* pass arguments apply')
      const name = key.slice('asyncify-'.length)
      const list = PASS_ARG_LISTS[name]
      const flag = PASS_ARG_FLAGS[name]
      if (list !== undefined) {
        if (val === null) throw new AsyncifyOptionError(`--pass-arg=${key}`, 'needs @<list>')
        setList(o, list, val)
      } else if (flag !== undefined) {
        if (val !== null) throw new AsyncifyOptionError(`--pass-arg=${key}`, 'takes no value')
        ;(o as Record<string, unknown>)[flag] = true
      } else if (name === 'memory') {
        if (val === null) throw new AsyncifyOptionError(`--pass-arg=${key}`, 'needs @<memory export name>')
        o.memory = val
      } else if (name === 'secondary-memory-size') {
        o.secondaryMemorySize = Number(val)
      } else if (name === 'verbose') {
        // binaryen logs decisions; our report carries the same information.
      } else throw new AsyncifyOptionError(`--pass-arg=${key}`, 'unknown asyncify pass argument')
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = a.slice(2, eq >= 0 ? eq : undefined)
      const vopt = VALUE_OPTIONS[name]
      const fopt = PASS_ARG_FLAGS[name === 'propagate-add-list' ? 'propagate-addlist' : name]
      if (vopt !== undefined) {
        const v = value(a.slice(0, eq >= 0 ? eq : undefined))
        if (vopt === 'secondaryMemorySize') o.secondaryMemorySize = Number(v)
        else if (vopt === 'legacyExceptions') o.legacyExceptions = v as 'translate' | 'error'
        else if (vopt === 'memory') o.memory = v
        else setList(o, vopt, v)
      } else if (fopt !== undefined) (o as Record<string, unknown>)[fopt] = true
      else throw new AsyncifyOptionError(a, 'unknown option (see --help)')
    } else if (a.startsWith('-') && a !== '-') throw new AsyncifyOptionError(a, 'unknown option (see --help)')
    else positional.push(a)
  }
  if (args.help) return args
  if (positional.length !== 1)
    throw new AsyncifyOptionError(
      'input',
      positional.length === 0
        ? 'no input file given'
        : `expected one input file, got ${positional.join(' ')}`,
    )
  args.input = positional[0] as string
  if (args.output === null) throw new AsyncifyOptionError('-o', 'no output file given')
  return args
}

/**
 * Command-line parsing for `wasm-asyncify`, derived from the option table: the core's rows plus the
 * command's own (output, report, quiet, help, version), each read by its spellings — ours and wasm-opt's
 * — so that an existing `wasm-opt in.wasm -O1 --asyncify --pass-arg=asyncify-imports@env.sleep -o out.wasm`
 * line works as it is. wasm-opt flags that are not rows are looked up in `wasm-opt-flags.ts`.
 */
import { AsyncifyOptionError } from './errors.js'
import { type AnySpec, argOf, boolean, closest, type InputOf, type Spelling, text } from './option-table.js'
import { ASYNCIFY_OPTIONS, type AsyncifyOptions } from './options.js'
import { wasmOptFlag, wasmOptFlagSpellings } from './wasm-opt-flags.js'

const COMMAND_ROWS = {
  output: text({
    doc: 'output file (required)',
    arg: '<file>',
    cli: [
      { flag: '-o', arg: '<file>' },
      { flag: '--output', arg: '<file>' },
    ],
  }),
  report: text({ doc: 'also write the report (what was instrumented and why) as JSON', arg: '<file.json>' }),
  quiet: boolean({
    doc: 'no summary and no warnings on stderr',
    cli: [
      { flag: '-q', value: true },
      { flag: '--quiet', value: true },
    ],
  }),
  help: boolean({
    doc: 'print this help',
    cli: [
      { flag: '-h', value: true },
      { flag: '--help', value: true },
    ],
  }),
  version: boolean({ doc: 'print the version' }),
}

/** The command's table: the core's rows and its own. */
export const CLI_OPTIONS = ASYNCIFY_OPTIONS.extend(COMMAND_ROWS)
type CliRows = typeof CLI_OPTIONS.rows

export interface CliArgs {
  input: string
  output: string | null
  report: string | null
  quiet: boolean
  help: boolean
  version: boolean
  /** The rewrite's options as given (`asyncify()` resolves them again, with the working directory). */
  options: AsyncifyOptions
  /** binaryen passes to run on the input before the rewrite and on its output after, in order. */
  passes: { before: string[]; after: string[] }
  /** Flags accepted without effect where dropping them may change the output. */
  warnings: string[]
}

interface Hit {
  name: string
  spec: AnySpec
  spelling: Spelling<unknown>
}

const SPELLINGS = new Map<string, Hit>()
const PASS_ARGS = new Map<string, string>()
for (const [name, spec] of Object.entries(CLI_OPTIONS.rows) as [string, AnySpec][]) {
  for (const spelling of [...spec.cli, ...spec.wasmOpt.flags])
    SPELLINGS.set(spelling.flag, { name, spec, spelling })
  for (const p of spec.wasmOpt.passArgs) PASS_ARGS.set(p, name)
}
/** asyncify pass arguments that binaryen reads and we do not need. */
const IGNORED_PASS_ARGS = new Set(['asyncify-verbose']) // binaryen's log; `--report` says the same

/** The parser's state: options given so far and binaryen passes in command-line order. */
class Parser {
  readonly given: Record<string, unknown> = {}
  readonly positional: string[] = []
  readonly passes: string[] = []
  readonly warnings: string[] = []
  /** Index into `passes` where `--asyncify` stood (-1: not given). */
  asyncifyAt = -1

  set(name: string, spec: AnySpec, value: unknown): void {
    this.given[name] = name in this.given ? spec.merge(this.given[name], value) : value
  }

  /** `--pass-arg=KEY[@VALUE]`: asyncify's set our rows; the others go to binaryen's passes. */
  passArg(text: string): void {
    const at = text.indexOf('@')
    const key = at >= 0 ? text.slice(0, at) : text
    const value = at >= 0 ? text.slice(at + 1) : null
    const option = `--pass-arg=${key}`
    if (!key.startsWith('asyncify-')) {
      this.set('passArgs', CLI_OPTIONS.rows.passArgs, { [key]: value ?? '1' })
      return
    }
    if (IGNORED_PASS_ARGS.has(key)) return
    const name = PASS_ARGS.get(key)
    if (name === undefined) {
      const near = closest(key, [...PASS_ARGS.keys()])
      throw new AsyncifyOptionError(
        option,
        `unknown asyncify pass argument${near !== null ? ` (did you mean ${near}?)` : ''}`,
      )
    }
    const spec = CLI_OPTIONS.rows[name as keyof CliRows] as AnySpec
    if (spec.kind === 'boolean') {
      if (value !== null) throw new AsyncifyOptionError(option, 'takes no value')
      this.set(name, spec, true)
    } else {
      if (value === null) throw new AsyncifyOptionError(option, `needs @${argOf(spec)}`)
      this.set(name, spec, spec.fromText(value, option))
    }
  }

  /** One flag; `next` yields the following argument for flags that take one. */
  flag(flag: string, inline: string | undefined, next: () => string | undefined): void {
    const value = (): string => {
      const v = inline ?? next()
      if (v === undefined) throw new AsyncifyOptionError(flag, 'needs a value')
      return v
    }
    const hit = SPELLINGS.get(flag)
    if (hit !== undefined) {
      const { name, spec, spelling } = hit
      if ('arg' in spelling) {
        if (name === 'passArgs') this.passArg(value())
        else this.set(name, spec, spec.fromText(value(), flag))
        return
      }
      if (inline !== undefined) throw new AsyncifyOptionError(flag, 'takes no value')
      for (const r of spelling.resets ?? []) delete this.given[r]
      this.given[name] = spelling.value
      return
    }
    if (flag === '--asyncify') {
      if (this.asyncifyAt >= 0) throw new AsyncifyOptionError(flag, 'given twice (the rewrite runs once)')
      this.asyncifyAt = this.passes.length
      return
    }
    const w = wasmOptFlag(flag)
    if (w === undefined) {
      const near = closest(flag, [...SPELLINGS.keys(), ...wasmOptFlagSpellings()])
      throw new AsyncifyOptionError(
        flag,
        `unknown option${near !== null ? ` (did you mean ${near}?)` : ''} (see --help)`,
      )
    }
    if (w.kind === 'refused') throw new AsyncifyOptionError(flag, `not supported: ${w.why}`)
    if (w.kind === 'pass') this.passes.push(w.pass)
    if (w.kind === 'ignored') {
      if (w.arg) value()
      if (w.warn) this.warnings.push(`${flag} is ignored: ${w.why}`)
    }
  }
}

/** Parses and validates a command line; `@file` lists are read relative to `cwd`. */
export function parseCliArgs(argv: readonly string[], cwd = process.cwd()): CliArgs {
  const p = new Parser()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (!a.startsWith('-') || a === '-') {
      p.positional.push(a)
      continue
    }
    const eq = a.indexOf('=')
    p.flag(eq > 0 ? a.slice(0, eq) : a, eq > 0 ? a.slice(eq + 1) : undefined, () => argv[++i])
  }
  // Validate every option now, before any input is read.
  const r = CLI_OPTIONS.resolve({ ...p.given, cwd } as InputOf<CliRows>)
  const options: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p.given)) if (!(k in COMMAND_ROWS)) options[k] = v
  const split = p.asyncifyAt < 0 ? 0 : p.asyncifyAt
  const args: CliArgs = {
    input: '',
    output: r.output,
    report: r.report,
    quiet: r.quiet,
    help: r.help,
    version: r.version,
    options: options as AsyncifyOptions,
    passes: { before: p.passes.slice(0, split), after: p.passes.slice(split) },
    warnings: p.warnings,
  }
  if (args.help || args.version) return args
  if (p.positional.length !== 1)
    throw new AsyncifyOptionError(
      'input',
      p.positional.length === 0
        ? 'no input file given'
        : `expected one input file, got ${p.positional.join(' ')}`,
    )
  args.input = p.positional[0] as string
  if (args.output === null) throw new AsyncifyOptionError('-o', 'no output file given')
  return args
}

const COMMAND_FIRST = [...Object.keys(COMMAND_ROWS), ...ASYNCIFY_OPTIONS.names]

export const USAGE = `usage: wasm-asyncify <in.wasm|in.wat> -o <out.wasm> [options]

Instruments a WebAssembly module so that calls to its imports can suspend and resume (binaryen's
asyncify ABI, with exception handling). Options (lists: comma-separated, * wildcards, @file):

${CLI_OPTIONS.usage(34, COMMAND_FIRST).join('\n')}

wasm-opt command lines work unchanged:
  --asyncify                      marks where the rewrite runs among binaryen passes (optional)
  --pass-arg=asyncify-<name>[@<value>]
                                  binaryen's asyncify arguments, as listed above
  --enable-<feature>, --disable-<feature>, -all, -mvp, --detect-features
                                  accepted; the features are the module's own
  --<binaryen pass>               e.g. --strip-debug, --strip-dwarf, --strip-producers: run by binaryen,
                                  on the input if given before --asyncify, else on the output
  -O runs after the rewrite wherever it stands. Flags wasm-asyncify cannot honour (text output,
  source maps, fuzzing) stop with a message naming them.`

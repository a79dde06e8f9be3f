/**
 * Options as data: each option is one row — its kind, default, docs, our command-line spelling and
 * wasm-opt's — and everything else is derived from the rows of a table: the TypeScript input type
 * (`InputOf`), the resolved type (`ResolvedOf`), validation with messages that name the option, the
 * parsing of command-line and query-string text, the `--help` lines and the README table.
 *
 * A table is an `OptionSet`. The core's table lives in `options.ts`; the command line and the bundler
 * plugin `extend` it with rows of their own instead of copying it, and `withDefaults` changes a default
 * (the plugin optimizes by default in production builds).
 *
 * Rows resolve in table order, and a default may be a function of the rows resolved before it (the
 * optimize and shrink levels default from `optimize`). A `cwd` row, when the table has one, resolves
 * first: every other row reads `@file` lists relative to it.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { AsyncifyOptionError } from './errors.js'
import { parseList } from './patterns.js'

/** How an option is written on a command line: a flag with a fixed value, or a flag taking an argument. */
export type Spelling<In> =
  | {
      readonly flag: string
      readonly value: In
      /** Options this flag resets to their defaults, as wasm-opt's `-O2` resets an earlier `-ol`. */
      readonly resets?: readonly string[]
    }
  | { readonly flag: string; readonly arg: string }

export type OptionKind = 'boolean' | 'integer' | 'choice' | 'list' | 'text' | 'directory' | 'map'

/** The options resolved so far, which later defaults may depend on. */
export type Resolved = Readonly<Record<string, unknown>>

export interface ResolveContext {
  /** The option's name, for messages. */
  readonly option: string
  /** Directory that `@file` lists are read relative to. */
  readonly cwd: string
}

/** One row of a table: `In` is what a caller passes, `Out` what the resolved options hold. */
export interface OptionSpec<In, Out> {
  readonly kind: OptionKind
  /** One line of documentation (shown by `--help` and in the README). */
  readonly doc: string
  /** The input's TypeScript type, for the docs. */
  readonly type: string
  /** The resolved value when the option is not given; a function sees the rows resolved before it. */
  readonly default: Out | ((resolved: Resolved) => Out)
  /** How the default reads in the docs. */
  readonly defaultDoc: string
  /** Our command-line spellings; the first one is what `--help` shows. Empty: not on the command line. */
  readonly cli: readonly Spelling<In>[]
  /** wasm-opt's spellings of the same thing, where they differ from ours. */
  readonly wasmOpt: {
    /** Our spellings are wasm-opt's (`-O2`, `--converge`, ...). */
    readonly same: boolean
    readonly flags: readonly Spelling<In>[]
    /** Names after `--pass-arg=`, e.g. `asyncify-imports` (value after `@`). */
    readonly passArgs: readonly string[]
  }
  /** Validates a given value and normalizes it. */
  resolve(value: unknown, ctx: ResolveContext): Out
  /** Reads command-line or query-string text (validated later by `resolve`). */
  fromText(text: string, option: string): In
  /** Combines a repeated flag with what came before (lists accumulate; otherwise the last one wins). */
  merge(previous: In, next: In): In
}

// Methods are bivariant in their parameters, so every row fits `AnySpec`.
export type AnySpec = OptionSpec<unknown, unknown>
export type OptionRows = Readonly<Record<string, AnySpec>>

/** What a caller may pass: every row optional. */
export type InputOf<R extends OptionRows> = {
  -readonly [K in keyof R]?: R[K] extends OptionSpec<infer I, unknown> ? I : never
}
/** What the rest of the code reads: every row present, normalized. */
export type ResolvedOf<R extends OptionRows> = {
  -readonly [K in keyof R]: R[K] extends OptionSpec<unknown, infer O> ? O : never
}

/** A constraint across rows; throws an `AsyncifyOptionError` naming one of them. */
export type Check<R extends OptionRows> = (resolved: ResolvedOf<R>, given: InputOf<R>) => void

/** One row as the docs show it. */
export interface OptionDoc {
  name: string
  type: string
  default: string
  cli: string[]
  /** wasm-opt's spellings where they differ from ours. */
  wasmOpt: string[]
  /** Ours are wasm-opt's. */
  sameAsWasmOpt: boolean
  doc: string
}

// ---------------------------------------------------------------------------------------------------
// Row builders

interface Common<In> {
  doc: string
  /** Our spellings; by default `--kebab-name` (a flag for booleans, `--name <arg>` otherwise). */
  cli?: readonly Spelling<In>[]
  /** wasm-opt flags (when they differ from ours) and asyncify pass arguments. */
  wasmOpt?: { same?: boolean; flags?: readonly Spelling<In>[]; passArgs?: readonly string[] }
}

type Default<Out> = Out | ((resolved: Resolved) => Out)

function lastWins<T>(_previous: T, next: T): T {
  return next
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v)
}

function row<In, Out>(
  base: Common<In>,
  spec: Omit<OptionSpec<In, Out>, 'doc' | 'cli' | 'wasmOpt' | 'merge'> & {
    merge?: OptionSpec<In, Out>['merge']
  },
  arg: string | null,
): OptionSpec<In, Out> {
  return {
    ...spec,
    doc: base.doc,
    // By default one spelling with flag '' — the `OptionSet` holding the row makes it `--kebab-name`, as
    // only it knows the name; `cli: []` keeps a row off the command line. `arg` null: a boolean flag.
    cli: base.cli ?? [arg === null ? ({ flag: '', value: true } as Spelling<In>) : { flag: '', arg }],
    wasmOpt: {
      same: base.wasmOpt?.same ?? false,
      flags: base.wasmOpt?.flags ?? [],
      passArgs: base.wasmOpt?.passArgs ?? [],
    },
    merge: spec.merge ?? lastWins,
  }
}

/** `true`/`false`; default false. */
export function boolean(base: Common<boolean>): OptionSpec<boolean, boolean> {
  return row<boolean, boolean>(
    base,
    {
      kind: 'boolean',
      type: 'boolean',
      default: false,
      defaultDoc: 'false',
      resolve(v, ctx) {
        if (typeof v !== 'boolean')
          throw new AsyncifyOptionError(ctx.option, `expected true or false, got ${show(v)}`)
        return v
      },
      fromText(text, option) {
        if (text === '' || text === 'true' || text === '1') return true
        if (text === 'false' || text === '0') return false
        throw new AsyncifyOptionError(option, `expected true or false, got ${show(text)}`)
      },
    },
    null,
  )
}

/** A whole number in [min, max]; the default may be null (binaryen's own default applies). */
export function integer<Out extends number | null>(
  base: Common<number> & {
    min: number
    max: number
    default: Default<Out>
    defaultDoc?: string
    arg?: string
  },
): OptionSpec<number, number | Out> {
  const range = `an integer from ${base.min} to ${base.max}`
  const check = (v: unknown, option: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < base.min || v > base.max)
      throw new AsyncifyOptionError(option, `expected ${range}, got ${show(v)}`)
    return v
  }
  return row<number, number | Out>(
    base,
    {
      kind: 'integer',
      type: 'number',
      default: base.default,
      defaultDoc: base.defaultDoc ?? String(base.default),
      resolve: (v, ctx) => check(v, ctx.option),
      fromText(text, option) {
        const n = Number(text)
        if (!/^-?\d+$/.test(text.trim()) || n < base.min || n > base.max)
          throw new AsyncifyOptionError(option, `expected ${range}, got ${show(text)}`)
        return n
      },
    },
    base.arg ?? '<n>',
  )
}

/** One of a fixed set of values. */
export function choice<const V extends readonly (string | number)[]>(
  base: Common<V[number]> & { values: V; default: V[number] },
): OptionSpec<V[number], V[number]> {
  const listed = base.values.map(show).join(', ')
  return row<V[number], V[number]>(
    base,
    {
      kind: 'choice',
      type: base.values.map(show).join(' | '),
      default: base.default,
      defaultDoc: show(base.default),
      resolve(v, ctx) {
        if (!base.values.includes(v as V[number]))
          throw new AsyncifyOptionError(ctx.option, `expected one of ${listed}, got ${show(v)}`)
        return v as V[number]
      },
      fromText(text, option) {
        const found = base.values.find(v => String(v) === text)
        if (found === undefined)
          throw new AsyncifyOptionError(option, `expected one of ${listed}, got ${show(text)}`)
        return found
      },
    },
    `<${base.values.join('|')}>`,
  )
}

/**
 * A list of names: an array, or text separated by commas or newlines, or `@file` (binaryen's list
 * syntax, see `patterns.ts`). Repeated flags accumulate.
 */
export function nameList<Out extends string[] | 'all' = string[]>(
  base: Common<string | readonly string[]> & { default?: Default<Out>; defaultDoc?: string; arg?: string },
): OptionSpec<string | readonly string[], string[] | Out> {
  return row<string | readonly string[], string[] | Out>(
    base,
    {
      kind: 'list',
      type: 'string | string[]',
      default: base.default ?? ([] as string[]),
      defaultDoc: base.defaultDoc ?? 'none',
      resolve(v, ctx) {
        if (typeof v === 'string') return parseList(ctx.option, v, ctx.cwd)
        if (Array.isArray(v) && v.every(x => typeof x === 'string')) return parseList(ctx.option, v, ctx.cwd)
        throw new AsyncifyOptionError(
          ctx.option,
          'expected a list of names (array or comma-separated string)',
        )
      },
      fromText: text => text,
      merge(previous, next) {
        const text = (l: string | readonly string[]): string => (typeof l === 'string' ? l : l.join(','))
        return `${text(previous)},${text(next)}`
      },
    },
    base.arg ?? '<list>',
  )
}

/** A string; null when not given. */
export function text(base: Common<string> & { arg: string }): OptionSpec<string, string | null> {
  return row<string, string | null>(
    base,
    {
      kind: 'text',
      type: 'string',
      default: null,
      defaultDoc: 'none',
      resolve(v, ctx) {
        if (typeof v !== 'string' || v === '')
          throw new AsyncifyOptionError(ctx.option, `expected ${base.arg}`)
        return v
      },
      fromText: t => t,
    },
    base.arg,
  )
}

/** A directory, resolved to an absolute path; default the process's working directory. */
export function directory(base: Common<string>): OptionSpec<string, string> {
  return row<string, string>(
    base,
    {
      kind: 'directory',
      type: 'string',
      default: () => process.cwd(),
      defaultDoc: 'process.cwd()',
      resolve(v, ctx) {
        if (typeof v !== 'string' || v === '')
          throw new AsyncifyOptionError(ctx.option, 'expected a directory path')
        return isAbsolute(v) ? v : resolvePath(v)
      },
      fromText: t => t,
    },
    '<dir>',
  )
}

/** `key → value` strings, given as an object or as `KEY@VALUE` text (wasm-opt's `--pass-arg`). */
export function keyValues(
  base: Common<Readonly<Record<string, string>>>,
): OptionSpec<Readonly<Record<string, string>>, Record<string, string>> {
  return row<Readonly<Record<string, string>>, Record<string, string>>(
    base,
    {
      kind: 'map',
      type: 'Record<string, string>',
      default: () => ({}),
      defaultDoc: 'none',
      resolve(v, ctx) {
        if (typeof v !== 'object' || v === null || Array.isArray(v))
          throw new AsyncifyOptionError(ctx.option, 'expected an object of string values')
        for (const [k, x] of Object.entries(v))
          if (typeof x !== 'string')
            throw new AsyncifyOptionError(ctx.option, `${k}: expected a string, got ${show(x)}`)
        return { ...(v as Record<string, string>) }
      },
      fromText(t) {
        // As wasm-opt reads it: a key without `@value` is set to "1".
        const at = t.indexOf('@')
        return at < 0 ? { [t]: '1' } : { [t.slice(0, at)]: t.slice(at + 1) }
      },
      merge: (previous, next) => ({ ...previous, ...next }),
    },
    '<key@value>',
  )
}

// ---------------------------------------------------------------------------------------------------
// The table

/** `--kebab-case` of a camelCase option name. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}

/** The closest of `known` to `name`, for "did you mean" (null when nothing is close). */
export function closest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null
  let bestCost = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const k of known) {
    // Levenshtein distance, one row at a time.
    let prev = Array.from({ length: k.length + 1 }, (_, j) => j)
    for (let i = 1; i <= name.length; i++) {
      const cur = [i]
      for (let j = 1; j <= k.length; j++)
        cur[j] = Math.min(
          (prev[j] as number) + 1,
          (cur[j - 1] as number) + 1,
          (prev[j - 1] as number) + (name[i - 1] === k[j - 1] ? 0 : 1),
        )
      prev = cur
    }
    const cost = prev[k.length] as number
    if (cost < bestCost) {
      best = k
      bestCost = cost
    }
  }
  return best
}

/** The metavariable of a row's value, e.g. `<list>`. */
export function argOf(spec: AnySpec): string {
  const s = spec.cli.find(x => 'arg' in x)
  return s !== undefined && 'arg' in s ? s.arg : '<value>'
}

function describeSpelling(s: Spelling<unknown>): string {
  return 'arg' in s ? `${s.flag} ${s.arg}` : s.flag
}

export class OptionSet<R extends OptionRows> {
  readonly rows: R
  private readonly checks: readonly Check<R>[]

  constructor(rows: R, checks: readonly Check<R>[] = []) {
    // Fill in the derived `--kebab-name` spellings once, so every consumer sees final rows.
    const filled: Record<string, AnySpec> = {}
    for (const [name, spec] of Object.entries(rows))
      filled[name] = {
        ...spec,
        cli: spec.cli.map(s => (s.flag === '' ? { ...s, flag: `--${kebab(name)}` } : s)),
      }
    this.rows = filled as R
    this.checks = checks
  }

  get names(): (keyof R & string)[] {
    return Object.keys(this.rows)
  }

  /** Validates `given` (unknown keys, types, ranges, cross-row checks) and fills in every default. */
  resolve(given: InputOf<R> = {}): ResolvedOf<R> {
    if (typeof given !== 'object' || given === null)
      throw new AsyncifyOptionError('options', 'expected an object')
    for (const key of Object.keys(given)) {
      if (Object.hasOwn(this.rows, key)) continue
      const near = closest(key, this.names)
      throw new AsyncifyOptionError(
        key,
        near !== null
          ? `unknown option (did you mean ${near}?)`
          : `unknown option (known: ${this.names.join(', ')})`,
      )
    }
    const input = given as Record<string, unknown>
    const out: Record<string, unknown> = {}
    const cwdRow = this.rows.cwd
    let cwd = process.cwd()
    if (cwdRow?.kind === 'directory') {
      cwd = this.resolveRow('cwd', cwdRow, input.cwd, out, cwd) as string
      out.cwd = cwd
    }
    for (const [name, spec] of Object.entries(this.rows)) {
      if (name !== 'cwd' || spec.kind !== 'directory')
        out[name] = this.resolveRow(name, spec, input[name], out, cwd)
    }
    const resolved = out as ResolvedOf<R>
    for (const check of this.checks) check(resolved, given)
    return resolved
  }

  private resolveRow(name: string, spec: AnySpec, value: unknown, done: Resolved, cwd: string): unknown {
    if (value !== undefined) return spec.resolve(value, { option: name, cwd })
    return typeof spec.default === 'function'
      ? (spec.default as (r: Resolved) => unknown)(done)
      : spec.default
  }

  /** A table with these rows added (or replacing rows of the same name) and one more check. */
  extend<E extends OptionRows>(
    rows: E,
    check?: Check<Omit<R, keyof E> & E>,
  ): OptionSet<Omit<R, keyof E> & E> {
    type T = Omit<R, keyof E> & E
    const checks = [...(this.checks as unknown as Check<T>[]), ...(check ? [check] : [])]
    return new OptionSet<T>({ ...this.rows, ...rows } as T, checks)
  }

  /** The same table with other defaults (e.g. the plugin's `optimize` in production builds). */
  withDefaults(defaults: Partial<ResolvedOf<R>>): OptionSet<R> {
    const rows: Record<string, AnySpec> = { ...this.rows }
    for (const [name, value] of Object.entries(defaults)) {
      const spec = rows[name]
      if (spec === undefined) throw new AsyncifyOptionError(name, 'unknown option')
      rows[name] = { ...spec, default: value, defaultDoc: show(value) }
    }
    return new OptionSet(rows as R, this.checks)
  }

  /** Input options from text values (query parameters, environment), naming the option on errors. */
  fromText(values: Readonly<Record<string, string>>): InputOf<R> {
    const out: Record<string, unknown> = {}
    for (const [name, t] of Object.entries(values)) {
      const spec = Object.hasOwn(this.rows, name) ? this.rows[name] : undefined
      if (spec === undefined) {
        const near = closest(name, this.names)
        throw new AsyncifyOptionError(
          name,
          `unknown option${near !== null ? ` (did you mean ${near}?)` : ''}`,
        )
      }
      out[name] = spec.fromText(t, name)
    }
    return out as InputOf<R>
  }

  /** The rows as the docs show them, in table order or in the order of `names`. */
  docs(names: readonly string[] = this.names): OptionDoc[] {
    return names
      .map(name => [name, this.rows[name] as AnySpec] as const)
      .map(([name, s]) => ({
        name,
        type: s.type,
        default: s.defaultDoc,
        cli: s.cli.map(describeSpelling),
        wasmOpt: [
          ...s.wasmOpt.flags.map(describeSpelling),
          ...s.wasmOpt.passArgs.map(p =>
            s.kind === 'boolean' ? `--pass-arg=${p}` : `--pass-arg=${p}@${argOf(s)}`,
          ),
        ],
        sameAsWasmOpt: s.wasmOpt.same,
        doc: s.doc,
      }))
  }

  /** `--help` lines for the rows the command line sets: spellings, then what it does and its default. */
  usage(width = 34, names: readonly string[] = this.names, columns = 100): string[] {
    const lines: string[] = []
    const pad = ' '.repeat(width)
    for (const d of this.docs(names)) {
      if (d.cli.length === 0) continue
      const head = `  ${d.cli.join(', ')}`
      const dflt = d.default === 'false' || d.default === 'none' ? '' : ` (default ${d.default})`
      const words = `${d.doc}${dflt}`.replace(/`/g, '').split(' ')
      if (d.wasmOpt.length > 0) words.push(`[wasm-opt: ${d.wasmOpt.join(', ')}]`)
      let line = head.length < width ? head.padEnd(width) : `${head}\n${pad}`
      let used = line.length - line.lastIndexOf('\n') - 1
      for (const w of words) {
        if (used > width && used + 1 + w.length > columns) {
          line += `\n${pad}`
          used = width
        } else if (used > width) {
          line += ' '
          used++
        }
        line += w
        used += w.length
      }
      lines.push(line)
    }
    return lines
  }

  /** The README's options table. */
  markdown(): string {
    const cell = (s: string): string => s.replace(/\|/g, '\\|')
    const code = (xs: string[]): string => (xs.length === 0 ? '' : xs.map(x => `\`${cell(x)}\``).join(' '))
    const lines = [
      '| option | type | default | wasm-asyncify | wasm-opt | what it does |',
      '| --- | --- | --- | --- | --- | --- |',
    ]
    for (const d of this.docs())
      lines.push(
        `| \`${d.name}\` | \`${cell(d.type)}\` | ${cell(d.default)} | ${code(d.cli)} | ${d.sameAsWasmOpt ? 'same' : code(d.wasmOpt)} | ${cell(d.doc)} |`,
      )
    return lines.join('\n')
  }
}

/** A table of rows with its cross-row checks. */
export function defineOptions<R extends OptionRows>(rows: R, check?: Check<R>): OptionSet<R> {
  return new OptionSet(rows, check ? [check] : [])
}

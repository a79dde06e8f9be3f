/**
 * The plugin's options: the core's option table (`ASYNCIFY_OPTIONS`: every option of the rewrite, with
 * its type, default, validation and text parsing) extended with the rows only a bundler integration
 * has. Two tables:
 *
 * - `MODULE_OPTIONS`, what may differ per module: the core's rows, `optimize` also taking a boolean
 *   (its default depends on the build), `mode` and `inline`;
 * - `PLUGIN_OPTIONS`, the plugin's whole options: those plus `include`, `exclude`, `modules`, `cache`.
 *
 * A module's settings are layered, later wins: the plugin's options, each `modules` entry whose glob
 * matches the file, then the import's query (`./x.wasm?asyncify&imports=env.sleep&mode=jspi`, read by
 * the rows' own text parsing). Everything is validated when the plugin is created (the query when the
 * import is seen), and an error names the option, the `modules` glob or the query parameter.
 */
import { relative, sep } from 'node:path'
import {
  ASYNCIFY_OPTIONS,
  AsyncifyOptionError,
  type AsyncifyOptions,
  boolean,
  choice,
  type GlueMode,
  type InputOf,
  kebab,
  type OptimizeLevel,
  type OptionSpec,
} from '@unplugin-asyncify/core'
import picomatch from 'picomatch'

export type RuntimeMode = GlueMode
export type FilterPattern = string | RegExp | readonly (string | RegExp)[]
type Matcher = (file: string) => boolean

/** An option error from the plugin: `option` says where it came from (`mode`, `modules['**\/x.wasm'].imports`, `x.wasm?mode`). */
export class PluginOptionError extends AsyncifyOptionError {}

/** A row of the plugin's own: not on any command line, not a wasm-opt option. */
function pluginRow<In, Out>(
  spec: Pick<OptionSpec<In, Out>, 'kind' | 'doc' | 'type' | 'default' | 'defaultDoc' | 'resolve'> &
    Partial<Pick<OptionSpec<In, Out>, 'fromText'>>,
): OptionSpec<In, Out> {
  return {
    fromText(_text, option) {
      throw new PluginOptionError(option, 'cannot be set per import')
    },
    ...spec,
    cli: [],
    wasmOpt: { same: false, flags: [], passArgs: [] },
    merge: (_previous, next) => next,
  }
}

const coreOptimize = ASYNCIFY_OPTIONS.rows.optimize
/** `optimize: true` is wasm-opt's `-O`, as the core's table spells it. */
const DEFAULT_OPTIMIZE = (
  coreOptimize.cli.find(s => s.flag === '-O' && 'value' in s) as { value: OptimizeLevel }
).value

const MODULE_ROWS = {
  optimize: pluginRow<OptimizeLevel | boolean, OptimizeLevel>({
    kind: 'choice',
    doc: "binaryen's optimizer after the rewrite: a level, `true` (wasm-opt's `-O`) or `false`",
    type: `${coreOptimize.type} | boolean`,
    default: 0,
    defaultDoc: 'on in production builds, off in dev servers and watch builds',
    resolve(v, ctx) {
      if (typeof v === 'boolean') return v ? DEFAULT_OPTIMIZE : 0
      return coreOptimize.resolve(v, ctx) as OptimizeLevel
    },
    fromText(text, option) {
      if (text === 'true' || text === '') return true
      if (text === 'false') return false
      return coreOptimize.fromText(text, option) as OptimizeLevel
    },
  }),
  mode: choice({
    doc: "what `init()` runs by default: the instrumented binary, the original under JSPI, or `'auto'`: both shipped, JSPI where the engine has it",
    values: ['asyncify', 'jspi', 'auto'],
    default: 'asyncify',
    cli: [],
  }),
  inline: boolean({
    doc: 'embed the binaries in the JS module (base64) instead of emitting assets',
    cli: [],
  }),
}

// A module without an allocator gets a memory of its own for the runtime's buffers, so that a plain
// `asyncify()` works whatever the module exports (the CLI keeps binaryen's default, false).
export const MODULE_OPTIONS = ASYNCIFY_OPTIONS.extend(MODULE_ROWS).withDefaults({ inSecondaryMemory: 'auto' })
/** The same with the production-build default of `optimize`. */
const MODULE_OPTIONS_PRODUCTION = MODULE_OPTIONS.withDefaults({ optimize: DEFAULT_OPTIMIZE })

/** Settings that may differ per module (the plugin's options, `modules` entries, query parameters). */
export type ModuleOptions = Omit<InputOf<typeof MODULE_OPTIONS.rows>, 'cwd'>

function posixRelative(root: string, file: string): string {
  const rel = relative(root, file)
  return sep === '/' ? rel : rel.split(sep).join('/')
}

function matcher(option: string, pattern: unknown, root: string): Matcher {
  const list = typeof pattern === 'string' || pattern instanceof RegExp ? [pattern] : pattern
  if (!Array.isArray(list)) throw new PluginOptionError(option, 'expected a glob, a RegExp or a list of them')
  const tests = list.map((p: unknown) => {
    if (p instanceof RegExp) return (file: string) => p.test(file)
    if (typeof p !== 'string')
      throw new PluginOptionError(option, `expected globs or RegExps, got ${JSON.stringify(p)}`)
    const glob = picomatch(p, { dot: true })
    return (file: string) => glob(file) || glob(posixRelative(root, file))
  })
  return file => tests.some(t => t(file))
}

/** Checks one layer of module options with the table's rules, naming where it came from (`where` + row). */
function checkLayer(where: string, layer: unknown, root: string): ModuleOptions {
  if (layer === null || typeof layer !== 'object' || Array.isArray(layer))
    throw new PluginOptionError(where.replace(/[.?]$/, ''), 'expected an object of options')
  if ('cwd' in layer) throw new PluginOptionError(`${where}cwd`, 'is the bundler root; it cannot be set')
  for (const key of Object.keys(layer))
    if (PLUGIN_ONLY.has(key))
      throw new PluginOptionError(`${where}${key}`, 'only allowed at the top level of the options')
  try {
    MODULE_OPTIONS.resolve({ ...(layer as ModuleOptions), cwd: root })
  } catch (e) {
    if (!(e instanceof AsyncifyOptionError) || where === '') throw e
    throw new PluginOptionError(`${where}${e.option}`, e.message.slice(`option ${e.option}: `.length))
  }
  return layer as ModuleOptions
}

interface ModulesEntry {
  glob: string
  match: Matcher
  layer: ModuleOptions
}

const PLUGIN_ROWS = {
  include: pluginRow<FilterPattern, Matcher>({
    kind: 'list',
    doc: 'files handled when imported with `?asyncify`: globs (relative to the root) or RegExps',
    type: 'string | RegExp | (string | RegExp)[]',
    // A function default is called with the rows resolved so far (a Matcher is a function itself).
    default: (r: Readonly<Record<string, unknown>>) =>
      matcher('include', ['**/*.wasm', '**/*.wat'], String(r.cwd)),
    defaultDoc: 'every `.wasm` and `.wat`',
    resolve: (v, ctx) => matcher(ctx.option, v, ctx.cwd),
  }),
  exclude: pluginRow<FilterPattern, Matcher>({
    kind: 'list',
    doc: 'files left to other plugins even when imported with `?asyncify`',
    type: 'string | RegExp | (string | RegExp)[]',
    default: () => () => false,
    defaultDoc: 'none',
    resolve: (v, ctx) => matcher(ctx.option, v, ctx.cwd),
  }),
  modules: pluginRow<Record<string, ModuleOptions>, ModulesEntry[]>({
    kind: 'map',
    doc: "settings per module by glob: `{ '**/engine.wasm': { imports: ['env.sleep'] } }`",
    type: 'Record<string, ModuleOptions>',
    default: [],
    defaultDoc: 'none',
    resolve(v, ctx) {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new PluginOptionError(
          ctx.option,
          "expected an object of globs to options, e.g. { '**/engine.wasm': { imports: ['env.sleep'] } }",
        )
      return Object.entries(v).map(([glob, layer]) => {
        const where = `${ctx.option}[${JSON.stringify(glob)}]`
        return { glob, match: matcher(where, glob, ctx.cwd), layer: checkLayer(`${where}.`, layer, ctx.cwd) }
      })
    },
  }),
  cache: pluginRow<string | false, string | false>({
    kind: 'text',
    doc: 'directory of the transform cache, or `false` for memory only',
    type: 'string | false',
    default: (r: Readonly<Record<string, unknown>>) =>
      `${String(r.cwd).replaceAll('\\', '/')}/node_modules/.cache/unplugin-asyncify`,
    defaultDoc: '`<root>/node_modules/.cache/unplugin-asyncify`',
    resolve(v, ctx) {
      if (v !== false && typeof v !== 'string')
        throw new PluginOptionError(ctx.option, 'expected a directory or false')
      return v
    },
  }),
}

export const PLUGIN_OPTIONS = MODULE_OPTIONS.extend(PLUGIN_ROWS)
const PLUGIN_ONLY = new Set(Object.keys(PLUGIN_ROWS))

export type Options = Omit<InputOf<typeof PLUGIN_OPTIONS.rows>, 'cwd'>

/** What the plugin knows about the build once the bundler has told it. */
export interface BuildEnv {
  root: string
  /** A production build (not a dev server, not watch mode). */
  production: boolean
}

/** A module's settings, resolved and validated. */
export interface ModuleSettings {
  /** The rewrite's options, as passed to `asyncify()` (with `cwd` set to the root). */
  core: AsyncifyOptions
  mode: RuntimeMode
  inline: boolean
}

/** Query parameters as a layer: our names or the CLI's kebab-case ones, read by each row's text parsing. */
function queryLayer(where: string, query: URLSearchParams): ModuleOptions {
  const byKebab = new Map(MODULE_OPTIONS.names.map(n => [kebab(n), n]))
  const text: Record<string, string> = {}
  for (const [key, value] of query) {
    if (key === 'asyncify') continue
    const name = byKebab.get(key) ?? key
    if (PLUGIN_ONLY.has(name) || name === 'cwd')
      throw new PluginOptionError(`${where}${key}`, 'cannot be set per import')
    text[name] = value
  }
  try {
    return MODULE_OPTIONS.fromText(text) as ModuleOptions
  } catch (e) {
    if (!(e instanceof AsyncifyOptionError)) throw e
    throw new PluginOptionError(`${where}${e.option}`, e.message.slice(`option ${e.option}: `.length))
  }
}

const CORE_NAMES = new Set<string>(ASYNCIFY_OPTIONS.names)

/** The plugin's options, checked once; `settingsFor` layers them for one module. */
export class ResolvedOptions {
  readonly cacheDir: string | false
  readonly root: string
  private readonly include: Matcher
  private readonly exclude: Matcher
  private readonly base: ModuleOptions
  private readonly modules: ModulesEntry[]
  private readonly production: boolean

  constructor(user: Options | undefined, env: BuildEnv) {
    const options = (user ?? {}) as Options
    if (options === null || typeof options !== 'object')
      throw new PluginOptionError('options', 'expected an object')
    if ('cwd' in options) throw new PluginOptionError('cwd', 'is the bundler root; it cannot be set')
    const resolved = PLUGIN_OPTIONS.resolve({ ...options, cwd: env.root })
    this.root = env.root
    this.production = env.production
    this.include = resolved.include
    this.exclude = resolved.exclude
    this.modules = resolved.modules
    this.cacheDir = resolved.cache
    this.base = Object.fromEntries(
      Object.entries(options).filter(([k]) => !PLUGIN_ONLY.has(k)),
    ) as ModuleOptions
  }

  /** Whether `file` (an absolute path) is ours to handle. */
  handles(file: string): boolean {
    return this.include(file) && !this.exclude(file)
  }

  /** The layered settings of one module; `query` holds the import's query parameters. */
  settingsFor(file: string, query: URLSearchParams): ModuleSettings {
    const layers = [this.base, ...this.modules.filter(m => m.match(file)).map(m => m.layer)]
    layers.push(checkLayer('', queryLayer(`${posixRelative(this.root, file)}?`, query), this.root))
    const given: ModuleOptions = Object.assign({}, ...layers)
    const table = this.production ? MODULE_OPTIONS_PRODUCTION : MODULE_OPTIONS
    const r = table.resolve({ ...given, cwd: this.root })
    const core = Object.fromEntries(
      Object.entries(given).filter(([k]) => CORE_NAMES.has(k)),
    ) as AsyncifyOptions
    return {
      core: { ...core, optimize: r.optimize, inSecondaryMemory: r.inSecondaryMemory, cwd: this.root },
      mode: r.mode,
      inline: r.inline,
    }
  }
}

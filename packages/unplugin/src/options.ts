/**
 * The plugin's options: every option of the rewrite (the core defines, documents and validates them;
 * this file never lists them) plus the few that only a bundler integration has — which imports to
 * handle, per-module settings, the runtime mode, inlining and the cache.
 *
 * A module's settings are layered, later wins: the plugin's options, then each `modules` entry whose
 * glob matches the file, then the import's query (`./x.wasm?asyncify&imports=env.sleep&mode=jspi`).
 * Everything is validated when the plugin is created (the query when the import is seen), and an error
 * names the option, the `modules` glob or the query parameter it came from.
 */
import { relative, sep } from 'node:path'
import {
  AsyncifyOptionError,
  type AsyncifyOptions,
  type OptimizeLevel,
  resolveOptions,
} from '@unplugin-asyncify/core'
import picomatch from 'picomatch'

export type RuntimeMode = 'auto' | 'asyncify' | 'jspi'
export type FilterPattern = string | RegExp | readonly (string | RegExp)[]

/** Settings that may differ per module (plugin options, `modules` entries, query parameters). */
export interface ModuleOptions extends Omit<AsyncifyOptions, 'optimize' | 'cwd'> {
  /**
   * Binaryen's optimizer after the rewrite: a level, `true` (level 2, wasm-opt's `-O`) or `false`.
   * Default: on in production builds, off in dev servers and watch builds.
   */
  optimize?: OptimizeLevel | boolean
  /**
   * What `init()` runs by default: `'asyncify'` (the instrumented binary, every engine with exnref),
   * `'jspi'` (the original binary under JSPI) or `'auto'` (both are shipped; the runtime picks JSPI
   * where the engine has it). Default `'asyncify'`.
   */
  mode?: RuntimeMode
  /** Embed the binaries in the JS module (base64) instead of emitting them as assets. Default false. */
  inline?: boolean
}

export interface Options extends ModuleOptions {
  /** Files handled when imported with `?asyncify` (globs relative to the root, or RegExps). Default: every `.wasm` and `.wat`. */
  include?: FilterPattern
  /** Files left to other plugins even when imported with `?asyncify`. */
  exclude?: FilterPattern
  /** Settings per module, by glob: `{ '**\/engine.wasm': { imports: ['env.sleep'] } }`. */
  modules?: Record<string, ModuleOptions>
  /** Directory of the transform cache, or false for memory only. Default `<root>/node_modules/.cache/unplugin-asyncify`. */
  cache?: string | false
}

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

const PLUGIN_KEYS = new Set(['include', 'exclude', 'modules', 'cache'])
const MODES: readonly RuntimeMode[] = ['auto', 'asyncify', 'jspi']
/** wasm-opt's `-O`. */
const DEFAULT_OPTIMIZE: OptimizeLevel = 2

/** An option error from the plugin: `option` says where it came from (`mode`, `modules['**\/x.wasm'].imports`, `?mode`). */
export class PluginOptionError extends AsyncifyOptionError {}

function fail(where: string, option: string, message: string): never {
  throw new PluginOptionError(`${where}${option}`, message)
}

type Matcher = (file: string) => boolean

function matcher(where: string, pattern: FilterPattern, root: string): Matcher {
  const list = typeof pattern === 'string' || pattern instanceof RegExp ? [pattern] : pattern
  if (!Array.isArray(list)) fail('', where, 'expected a glob, a RegExp or a list of them')
  const tests = list.map((p: unknown) => {
    if (p instanceof RegExp) return (file: string) => p.test(file)
    if (typeof p !== 'string') fail('', where, `expected globs or RegExps, got ${JSON.stringify(p)}`)
    const glob = picomatch(p, { dot: true })
    return (file: string) => glob(file) || glob(posixRelative(root, file))
  })
  return file => tests.some(t => t(file))
}

function posixRelative(root: string, file: string): string {
  const rel = relative(root, file)
  return sep === '/' ? rel : rel.split(sep).join('/')
}

/** Checks the plugin-only keys of one layer and returns the rest (the core's options). */
function splitLayer(where: string, layer: ModuleOptions): { core: AsyncifyOptions; own: ModuleOptions } {
  if (layer === null || typeof layer !== 'object') fail(where, '', 'expected an object of options')
  const core: Record<string, unknown> = {}
  const own: ModuleOptions = {}
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue
    if (key === 'mode') {
      if (!MODES.includes(value as RuntimeMode))
        fail(where, key, `expected 'auto', 'asyncify' or 'jspi', got ${JSON.stringify(value)}`)
      own.mode = value as RuntimeMode
    } else if (key === 'inline') {
      if (typeof value !== 'boolean') fail(where, key, `expected true or false, got ${JSON.stringify(value)}`)
      own.inline = value
    } else if (key === 'optimize') {
      // A boolean is ours; a level is checked by the core below.
      if (typeof value === 'boolean') own.optimize = value
      else {
        own.optimize = value as OptimizeLevel
        core.optimize = value
      }
    } else if (PLUGIN_KEYS.has(key)) fail(where, key, 'only allowed at the top level of the options')
    else if (key === 'cwd') fail(where, key, 'is the bundler root; it cannot be set')
    else core[key] = value
  }
  return { core: core as AsyncifyOptions, own }
}

/** Validates one layer's core options with the core's own rules, naming the layer in the error. */
function validateCore(where: string, core: AsyncifyOptions, root: string): void {
  try {
    resolveOptions({ ...core, cwd: root })
  } catch (e) {
    if (e instanceof AsyncifyOptionError) fail(where, e.option, e.message.replace(/^option [^:]+: /, ''))
    throw e
  }
}

interface Layer {
  core: AsyncifyOptions
  own: ModuleOptions
}

/** The plugin's options, checked once; `settingsFor` layers them for one module. */
export class ResolvedOptions {
  readonly cacheDir: string | false
  readonly root: string
  private readonly include: Matcher
  private readonly exclude: Matcher
  private readonly base: Layer
  private readonly modules: { match: Matcher; layer: Layer }[]
  private readonly production: boolean

  constructor(user: Options | undefined, env: BuildEnv) {
    const options = user ?? {}
    if (options === null || typeof options !== 'object')
      throw new PluginOptionError('options', 'expected an object')
    this.root = env.root
    this.production = env.production
    const { include, exclude, modules, cache, ...rest } = options
    this.include = matcher('include', include ?? ['**/*.wasm', '**/*.wat'], env.root)
    this.exclude = exclude === undefined ? () => false : matcher('exclude', exclude, env.root)
    if (cache !== undefined && cache !== false && typeof cache !== 'string')
      fail('', 'cache', 'expected a directory or false')
    this.cacheDir =
      cache === false
        ? false
        : (cache ?? `${env.root}/node_modules/.cache/unplugin-asyncify`.replaceAll('\\', '/'))
    this.base = splitLayer('', rest)
    validateCore('', this.base.core, env.root)
    if (modules !== undefined && (modules === null || typeof modules !== 'object' || Array.isArray(modules)))
      fail(
        '',
        'modules',
        "expected an object of globs to options, e.g. { '**/engine.wasm': { imports: ['env.sleep'] } }",
      )
    this.modules = Object.entries(modules ?? {}).map(([glob, layer]) => {
      const where = `modules[${JSON.stringify(glob)}].`
      const split = splitLayer(where, layer)
      validateCore(where, split.core, env.root)
      return { match: matcher(`modules[${JSON.stringify(glob)}]`, glob, env.root), layer: split }
    })
  }

  /** Whether `file` (an absolute path) is ours to handle. */
  handles(file: string): boolean {
    return this.include(file) && !this.exclude(file)
  }

  /** The layered settings of one module; `query` holds the import's query parameters. */
  settingsFor(file: string, query: URLSearchParams): ModuleSettings {
    const layers = [this.base, ...this.modules.filter(m => m.match(file)).map(m => m.layer)]
    const fromQuery = queryLayer(query)
    const where = `${posixRelative(this.root, file)}?`
    const split = splitLayer(where, fromQuery)
    validateCore(where, split.core, this.root)
    layers.push(split)
    const core: AsyncifyOptions = Object.assign({}, ...layers.map(l => l.core))
    const own: ModuleOptions = Object.assign({}, ...layers.map(l => l.own))
    const optimize = own.optimize ?? this.production
    if (optimize === false) core.optimize = 0
    else if (optimize === true) core.optimize = DEFAULT_OPTIMIZE
    core.cwd = this.root
    return { core, mode: own.mode ?? 'asyncify', inline: own.inline ?? false }
  }
}

/** `ignore-indirect` → `ignoreIndirect`: query parameters may use the CLI's spelling. */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/**
 * Query parameters as options. Values are typed by their spelling (a bare flag or `true`/`false` is a
 * boolean, digits a number, anything else a string, which list options split on commas); the option's
 * own validation then rejects a value of the wrong kind with its usual message.
 */
function queryLayer(query: URLSearchParams): ModuleOptions {
  const out: Record<string, unknown> = {}
  for (const [key, raw] of query) {
    if (key === 'asyncify') continue
    const name = camel(key)
    let value: unknown = raw
    if (raw === '' || raw === 'true') value = true
    else if (raw === 'false') value = false
    else if (/^\d+$/.test(raw)) value = Number(raw)
    out[name] = value
  }
  return out as ModuleOptions
}

/**
 * What every bundler integration shares: the options (resolved once the bundler has said where its root
 * is and whether it builds for production), the transform with its cache, and the glue.
 *
 * A bundler adapter does three things with it: `resolve` an `x.wasm?asyncify` request to an id (the
 * absolute file plus the query), `load` that id into the glue module's text, and give `load` an
 * `AssetSink` that knows how that bundler ships a binary (an emitted asset, a dev-server URL, a
 * webpack asset module). Everything else — which binaries a mode needs, inlining, the build log — is
 * decided here, once.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AsyncifyReport,
  DEFAULT_RUNTIME,
  generateGlue,
  resolveOptions,
  type WasmAssetRef,
} from '@unplugin-asyncify/core'
import { type CacheEntry, sha256, TransformCache } from './cache.js'
import { toolFingerprint } from './fingerprint.js'
import { type BuildEnv, type ModuleSettings, type Options, ResolvedOptions } from './options.js'
import { TransformError, transformer } from './transformer.js'

export const PLUGIN_NAME = 'unplugin-asyncify'
/**
 * Reads a file that a watcher may have reported mid-save: many editors (and `writeFileSync`) truncate a
 * file before writing it, and an empty `.wat` is a valid module with no exports, which would be hot-swapped
 * in. An empty read waits (up to ~100 ms) for the file to change, then reads it again.
 */
async function readWritten(file: string): Promise<Uint8Array> {
  const first = readFileSync(file)
  if (first.length > 0) return first
  const mtime = statSync(file).mtimeMs
  for (let i = 0; i < 10; i++) {
    await sleep(10)
    if (statSync(file).mtimeMs !== mtime) break
  }
  return readFileSync(file)
}

/** Ids we handle: any id whose query has an `asyncify` parameter. */
export const QUERY_RE = /[?&]asyncify(?:[&=]|$)/
/** Query of the asset requests the glue makes in webpack, Rspack and esbuild: `asyncify-asset=<role>.<key>`. */
export const ASSET_QUERY = 'asyncify-asset'
export const ASSET_QUERY_RE = /[?&]asyncify-asset=(asyncify|original)\.([0-9a-f]{64})(?:&|$)/

/** The request for one binary: `file?asyncify-asset=<role>.<key>` (webpack, Rspack and esbuild). */
export function assetRequestOf(asset: Asset): string {
  return `${asset.file}?${ASSET_QUERY}=${asset.role}.${asset.key}`
}
export const RUNTIME_ID = DEFAULT_RUNTIME
/** Query parameters bundlers add on their own (Vite's HMR timestamp, its `import` marker, version hashes). */
const BUNDLER_PARAMS = ['t', 'import', 'v']

export type AssetRole = 'asyncify' | 'original'

/** One binary the glue needs, for a sink to ship. */
export interface Asset {
  role: AssetRole
  /** Cache key of the transform it belongs to. */
  key: string
  /** Absolute path of the imported file. */
  file: string
  /** File name for the emitted asset, e.g. `engine.wasm` or `engine.original.wasm`. */
  name: string
  bytes: Uint8Array
}

/** How one bundler ships a binary: returns the reference the glue uses to find it. */
export interface AssetSink {
  reference(asset: Asset): WasmAssetRef
}

export interface Transformed {
  key: string
  binary: Uint8Array
  /** The binary JSPI mode runs: the file itself, or the compiled text. */
  original: Uint8Array
  report: AsyncifyReport
  from: 'memory' | 'disk' | null
}

export interface Logger {
  info(line: string): void
  warn(line: string): void
}

const consoleLogger: Logger = {
  info: line => console.log(`[${PLUGIN_NAME}] ${line}`),
  warn: line => console.warn(`[${PLUGIN_NAME}] ${line}`),
}

/** Shared per cache directory: several plugin instances in one process (Vite's client, SSR, workers) share hits. */
const caches = new Map<string | false, TransformCache>()

export function parseId(id: string): { file: string; query: URLSearchParams } | null {
  const q = id.indexOf('?')
  if (q < 0 || !QUERY_RE.test(id)) return null
  const query = new URLSearchParams(id.slice(q + 1))
  for (const p of BUNDLER_PARAMS) query.delete(p)
  return { file: id.slice(0, q), query }
}

/**
 * The runtime's built entry, resolved from this package (strict installs do not hoist it to the app).
 * Always its `default` export, whatever conditions the host process resolves with: the glue goes to
 * bundlers that may not compile the TypeScript a `source` condition would pick.
 */
function runtimeEntry(): string {
  const manifest = createRequire(import.meta.url).resolve(`${RUNTIME_ID}/package.json`)
  const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: { '.': { default: string } } })
    .exports
  return join(dirname(manifest), exports['.'].default)
}

function kB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} kB`
}

export class AsyncifyContext {
  private resolved: ResolvedOptions
  private cache: TransformCache
  private logger: Logger = consoleLogger
  private readonly inflight = new Map<string, Promise<Transformed>>()
  /** Absolute path of the runtime the glue imports (see `runtimeEntry`). */
  readonly runtimeEntry = runtimeEntry()

  constructor(private readonly user: Options | undefined) {
    // Validate now, so a bad option fails when the plugin is created; the bundler's root comes later.
    this.resolved = new ResolvedOptions(user, { root: process.cwd(), production: false })
    this.cache = this.cacheFor(this.resolved.cacheDir)
    // A few milliseconds of hashing, once per process: here rather than in the first request.
    toolFingerprint()
  }

  /** Called by the adapter once the bundler has said what it builds. */
  configure(env: BuildEnv, logger?: Logger): void {
    this.resolved = new ResolvedOptions(this.user, env)
    this.cache = this.cacheFor(this.resolved.cacheDir)
    if (logger !== undefined) this.logger = logger
  }

  get root(): string {
    return this.resolved.root
  }

  /** `./x.wasm?asyncify` (relative to `importer`, root-relative, absolute or a package path) → `/abs/x.wasm?asyncify`. */
  resolve(id: string, importer: string | undefined): string | null {
    const parsed = parseId(id)
    if (parsed === null) return null
    const file = this.locate(parsed.file, importer)
    if (file === null || !this.resolved.handles(file)) return null
    return `${file}${id.slice(id.indexOf('?'))}`
  }

  private locate(path: string, importer: string | undefined): string | null {
    const from =
      importer !== undefined && isAbsolute(importer) ? dirname(importer.split('?')[0] as string) : this.root
    if (path.startsWith('./') || path.startsWith('../')) return resolve(from, path)
    if (isAbsolute(path)) {
      if (existsSync(path)) return path
      // Vite and HTML entries write root-relative paths: `/src/engine.wasm`.
      const rooted = join(this.root, path)
      return existsSync(rooted) ? rooted : path
    }
    try {
      return createRequire(join(from, 'noop.js')).resolve(path)
    } catch {
      return null
    }
  }

  /** Whether an id (as `resolve` returns them) is ours. */
  handles(id: string): boolean {
    const parsed = parseId(id)
    return parsed !== null && this.resolved.handles(parsed.file)
  }

  /** The glue module for an id; null when the id is not ours. */
  async load(id: string, sink: AssetSink): Promise<string | null> {
    const parsed = parseId(id)
    if (parsed === null || !this.resolved.handles(parsed.file)) return null
    const settings = this.resolved.settingsFor(parsed.file, parsed.query)
    const t = await this.transform(parsed.file, settings)
    const display = this.display(parsed.file)
    const name = basename(parsed.file).replace(/\.(wat|wast)$/, '.wasm')
    const ref = (role: AssetRole, bytes: Uint8Array): WasmAssetRef =>
      settings.inline
        ? { kind: 'inline', bytes }
        : sink.reference({
            role,
            key: t.key,
            file: parsed.file,
            name: role === 'asyncify' ? name : name.replace(/\.wasm$/, '.original.wasm'),
            bytes,
          })
    return generateGlue({
      file: display,
      report: t.report,
      mode: settings.mode,
      asyncify: settings.mode === 'jspi' ? undefined : ref('asyncify', t.binary),
      original: settings.mode === 'asyncify' ? undefined : ref('original', t.original),
      modeOption: 'mode',
    })
  }

  /** The bytes for an asset request `file` + `?asyncify-asset=<role>.<key>` (webpack's and esbuild's). */
  assetRequest(file: string, query: string): Uint8Array {
    const m = ASSET_QUERY_RE.exec(query)
    if (m === null) throw new TransformError(file, `${this.display(file)}: unexpected asset request ${query}`)
    return this.asset(m[1] as AssetRole, m[2] as string, file)
  }

  /** The bytes of an asset the glue referenced by key. */
  asset(role: AssetRole, key: string, file: string): Uint8Array {
    const hit = this.cache.get(key)
    if (hit === null)
      throw new TransformError(
        file,
        `${this.display(file)}: the transform result ${key} is no longer cached; rebuild to recreate it`,
      )
    if (role === 'asyncify') return hit.entry.binary
    return hit.entry.compiled ?? readFileSync(file)
  }

  /** Runs (or finds in the cache) the transform of one file with its settings, logging one line. */
  async transform(file: string, settings: ModuleSettings): Promise<Transformed> {
    const display = this.display(file)
    let input: Uint8Array
    try {
      input = await readWritten(file)
    } catch (e) {
      throw new TransformError(file, `${display}: cannot read the file: ${(e as Error).message}`)
    }
    const text = /\.(wat|wast)$/.test(file)
    let resolved: unknown
    try {
      resolved = resolveOptions(settings.core)
    } catch (e) {
      throw new TransformError(file, `${display}: ${(e as Error).message}`)
    }
    const key = sha256(toolFingerprint(), JSON.stringify({ text, options: resolved }), input)
    const started = performance.now()
    let job = this.inflight.get(key)
    if (job === undefined) {
      job = this.run(key, display, input, text, settings).finally(() => this.inflight.delete(key))
      this.inflight.set(key, job)
    }
    const t = await job
    const r = t.report
    const ms = Math.round(performance.now() - started)
    this.logger.info(
      `${display}: ${kB(r.sizeBefore)} → ${kB(r.sizeAfter)}, ${r.instrumented.length} functions instrumented, ` +
        `${ms} ms${t.from === null ? '' : `, cache hit (${t.from})`}`,
    )
    return t
  }

  private async run(
    key: string,
    display: string,
    input: Uint8Array,
    text: boolean,
    settings: ModuleSettings,
  ): Promise<Transformed> {
    const hit = this.cache.get(key)
    const finish = (e: CacheEntry, from: Transformed['from']): Transformed => ({
      key,
      binary: e.binary,
      original: e.compiled ?? input,
      report: e.report,
      from,
    })
    if (hit !== null) return finish(hit.entry, hit.from)
    let out: CacheEntry
    try {
      out = await transformer.run(display, input, text, settings.core, line => this.logger.info(line))
    } catch (e) {
      if (!(e instanceof TransformError)) throw e
      throw new TransformError(e.file, `${display}: ${e.message}`, e.option)
    }
    this.cache.set(key, out)
    return finish(out, null)
  }

  /** A file as the log and error messages show it: relative to the root when inside it. */
  display(file: string): string {
    const rel = relative(this.root, file)
    if (rel.startsWith('..') || isAbsolute(rel)) return file
    return sep === '/' ? rel : rel.split(sep).join('/')
  }

  private cacheFor(dir: string | false): TransformCache {
    let c = caches.get(dir)
    if (c === undefined) {
      c = new TransformCache(dir, line => this.logger.warn(line))
      caches.set(dir, c)
    }
    return c
  }
}

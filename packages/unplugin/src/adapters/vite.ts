/**
 * Vite (7 and 8): client builds emit assets the Rollup way (`emitSink`: Vite renders the file URLs with
 * its `base`). SSR builds emit them too, but Vite renders a file URL there as a URL for browsers and
 * drops assets from server bundles, so `SsrAssets` writes a placeholder, replaces it per chunk with the
 * path relative to the chunk (with magic-string, keeping source maps), and writes the files next to it.
 * The dev server, which has no `emitFile`, serves the binaries from memory under `<base>@asyncify/…`,
 * and its SSR side (and Vitest) gets them inline, since a server-side module has no URL to fetch.
 *
 * Hot reload needs nothing of ours: the glue's id is `/abs/x.wasm?asyncify`, so Vite's module graph
 * files it under `x.wasm`; when the file changes, Vite invalidates the glue and updates its importers
 * (an importer that accepts `./x.wasm?asyncify` gets the new module; others propagate to a full reload).
 * A transform error reaches Vite's error overlay with the file and the reason.
 *
 * Two places where Vite would otherwise not run this plugin:
 * - the dependency optimizer, when a package in `node_modules` imports its own `x.wasm?asyncify`: its
 *   bundler (Rolldown in Vite 8, esbuild in Vite 7) gets a plugin that leaves such imports external, so
 *   the dev server loads them through this plugin;
 * - worker bundles in builds (`worker.plugins`): the plugin adds an instance of itself unless one is there.
 */

import { mkdir, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, join, relative } from 'node:path'
import MagicString from 'magic-string'
import type { VitePlugin } from 'unplugin'
import { type AssetSink, type AsyncifyContext, PLUGIN_NAME, QUERY_RE } from '../context.js'
import { loadWithEmit } from './rollup.js'

type Config = Parameters<Extract<VitePlugin['config'], (...args: never[]) => unknown>>[0]
type WorkerPlugins = () => unknown[]

/** Dev-server copies of the binaries, by URL path; the most recent ones only (each hot update adds some). */
class DevAssets {
  private readonly files = new Map<string, Uint8Array>()
  private static readonly KEEP = 64
  base = '/'

  readonly sink: AssetSink = {
    reference: asset => {
      const path = `@asyncify/${asset.key.slice(0, 16)}/${asset.role}/${asset.name}`
      this.files.delete(path)
      this.files.set(path, asset.bytes)
      for (const old of this.files.keys()) {
        if (this.files.size <= DevAssets.KEEP) break
        this.files.delete(old)
      }
      // An expression, not a `url`: Vite's dev server would take `new URL('/…', import.meta.url)` for a file of the root.
      return { kind: 'expression', code: JSON.stringify(`${this.base}${path}`) }
    },
  }

  /** Connect middleware answering `<base>@asyncify/…` requests. */
  serve = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = (req.url ?? '').split('?')[0] as string
    const bytes = url.startsWith(this.base) ? this.files.get(url.slice(this.base.length)) : undefined
    if (bytes === undefined) {
      next()
      return
    }
    res.setHeader('Content-Type', 'application/wasm')
    res.setHeader('Content-Length', bytes.length)
    // The path holds the transform's content key: a changed build gets a new URL.
    res.setHeader('Cache-Control', 'max-age=31536000, immutable')
    res.end(bytes)
  }
}

const PLACEHOLDER_RE = /__ASYNCIFY_SSR_FILE_([A-Za-z0-9_$-]+)__/g

interface BundleContext {
  emitFile(file: { type: 'asset'; name?: string; fileName?: string; source: Uint8Array }): string
  getFileName(ref: string): string
}

/** SSR build assets: emitted, referenced relative to the chunk, and kept in the server bundle. */
class SsrAssets {
  private readonly emitted = new Map<string, Uint8Array>()
  /** File name → bytes of binaries to write in `writeBundle`. */
  private readonly removed = new Map<string, Uint8Array>()

  sink(pc: BundleContext): AssetSink {
    return {
      reference: asset => {
        const ref = pc.emitFile({ type: 'asset', name: asset.name, source: asset.bytes })
        this.emitted.set(ref, asset.bytes)
        return { kind: 'expression', code: JSON.stringify(`__ASYNCIFY_SSR_FILE_${ref}__`) }
      },
    }
  }

  renderChunk(pc: BundleContext, code: string, chunk: { fileName: string }, sourcemap: boolean) {
    if (!code.includes('__ASYNCIFY_SSR_FILE_')) return null
    const s = new MagicString(code)
    for (const m of code.matchAll(PLACEHOLDER_RE)) {
      const path = relative(dirname(chunk.fileName), pc.getFileName(m[1] as string)).replaceAll('\\', '/')
      s.overwrite(m.index, m.index + m[0].length, path.startsWith('.') ? path : `./${path}`)
    }
    return { code: s.toString(), map: sourcemap ? s.generateMap({ hires: 'boundary' }) : null }
  }

  /**
   * Notes the files Vite removed from the server bundle (they are the binaries the server reads). They are
   * written next to the bundle in `writeBundle`: emitting them again would make the bundler warn that a
   * file of that name was emitted before.
   */
  generateBundle(pc: BundleContext, bundle: Record<string, unknown>): void {
    for (const [ref, source] of this.emitted) {
      const fileName = pc.getFileName(ref)
      if (!(fileName in bundle)) this.removed.set(fileName, source)
    }
    this.emitted.clear()
  }

  async writeBundle(output: { dir?: string; file?: string }): Promise<void> {
    const dir = output.dir ?? (output.file === undefined ? undefined : dirname(output.file))
    if (dir === undefined) return
    for (const [fileName, source] of this.removed) {
      const path = join(dir, fileName)
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, source)
    }
    this.removed.clear()
  }
}

const optimizerPluginName = `${PLUGIN_NAME}:optimizer`

/** A Rolldown plugin for Vite 8's dependency optimizer: `?asyncify` imports stay external. */
function rolldownOptimizerPlugin(ctx: AsyncifyContext) {
  return {
    name: optimizerPluginName,
    resolveId(id: string, importer: string | undefined) {
      const resolved = ctx.resolve(id, importer)
      return resolved === null ? null : { id: resolved, external: 'absolute' as const }
    },
  }
}

/** The same for Vite 7's esbuild-based optimizer. */
function esbuildOptimizerPlugin(ctx: AsyncifyContext) {
  return {
    name: optimizerPluginName,
    setup(build: {
      onResolve(
        o: { filter: RegExp },
        cb: (args: { path: string; importer: string }) => { path: string; external: true } | undefined,
      ): void
    }) {
      build.onResolve({ filter: QUERY_RE }, args => {
        const resolved = ctx.resolve(args.path, args.importer)
        return resolved === null ? undefined : { path: resolved, external: true }
      })
    },
  }
}

function addOptimizerPlugin(ctx: AsyncifyContext, config: Config, rolldown: boolean): void {
  config.optimizeDeps ??= {}
  const deps = config.optimizeDeps as Record<string, { plugins?: unknown[] } | undefined>
  const key = rolldown ? 'rolldownOptions' : 'esbuildOptions'
  deps[key] ??= {}
  const options = deps[key]
  options.plugins ??= []
  const plugins = options.plugins
  if (!plugins.some(p => (p as { name?: string } | null)?.name === optimizerPluginName))
    plugins.push(rolldown ? rolldownOptimizerPlugin(ctx) : esbuildOptimizerPlugin(ctx))
}

/** Worker bundles get their own plugin list; ours joins it unless the user put it there. */
function addToWorkers(config: Config, create: () => VitePlugin): void {
  config.worker ??= {}
  const worker = config.worker as { plugins?: WorkerPlugins }
  const user = worker.plugins
  worker.plugins = () => {
    const list = user?.() ?? []
    const ours = list
      .flat(Number.POSITIVE_INFINITY)
      .some(p => (p as { name?: string } | null)?.name === PLUGIN_NAME)
    return ours ? list : [...list, create()]
  }
}

export function viteHooks(ctx: AsyncifyContext, create: () => VitePlugin): Partial<VitePlugin> {
  const dev = new DevAssets()
  const ssr = new SsrAssets()
  let serving = false
  let sourcemap = false
  return {
    config(config) {
      addOptimizerPlugin(ctx, config, 'rolldownVersion' in (this.meta as object))
      addToWorkers(config, create)
    },
    configResolved(config) {
      serving = config.command === 'serve'
      sourcemap = config.build.sourcemap !== false
      dev.base = config.base.endsWith('/') ? config.base : `${config.base}/`
      ctx.configure(
        { root: config.root, production: !serving && config.isProduction && !config.build.watch },
        {
          info: line => config.logger.info(`[${PLUGIN_NAME}] ${line}`),
          warn: line => config.logger.warn(`[${PLUGIN_NAME}] ${line}`),
        },
      )
    },
    configureServer(server) {
      server.middlewares.use(dev.serve)
    },
    load: {
      filter: { id: QUERY_RE },
      handler(id, options) {
        const server = options?.ssr === true || this.environment?.config.consumer === 'server'
        if (!serving)
          return server ? loadWithEmit(ctx, this, id, ssr.sink(this)) : loadWithEmit(ctx, this, id)
        if (!server) return ctx.load(id, dev.sink)
        return ctx.load(id, { reference: asset => ({ kind: 'inline', bytes: asset.bytes }) })
      },
    },
    renderChunk(code, chunk) {
      return ssr.renderChunk(this, code, chunk, sourcemap)
    },
    generateBundle: {
      order: 'post',
      handler(_, bundle) {
        ssr.generateBundle(this, bundle)
      },
    },
    writeBundle(output) {
      return ssr.writeBundle(output)
    },
  }
}

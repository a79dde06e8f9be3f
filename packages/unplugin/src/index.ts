/**
 * `unplugin-asyncify`: `import init from './x.wasm?asyncify'` in any bundler.
 *
 * One unplugin factory. Its generic hooks resolve `?asyncify` requests and load them as glue; the
 * per-bundler escape hatches (`vite`, `rollup`, `rolldown`, `webpack`, `rspack`, `esbuild`) tell the
 * shared `AsyncifyContext` what the bundler builds and give it the bundler's own way of shipping a
 * binary, because unplugin's generic `emitFile` cannot reference what it emits (Rollup's file URLs),
 * is unsupported by Vite's dev server, is not hashed by webpack and Rspack, and is written by esbuild
 * only with `outdir`. See `adapters/*.ts`.
 */
import { createUnplugin, type UnpluginFactory, type UnpluginInstance } from 'unplugin'
import { esbuildHooks } from './adapters/esbuild.js'
import { rollupHooks } from './adapters/rollup.js'
import { viteHooks } from './adapters/vite.js'
import { webpackLikeSetup } from './adapters/webpack.js'
import { AsyncifyContext, PLUGIN_NAME, parseId, QUERY_RE, RUNTIME_ID } from './context.js'
import type { Options } from './options.js'

export type { Asset, AssetSink, Transformed } from './context.js'
export type { FilterPattern, ModuleOptions, Options, RuntimeMode } from './options.js'
export { PluginOptionError } from './options.js'

const RUNTIME_RE = new RegExp(`^${RUNTIME_ID.replace(/[/.]/g, '\\$&')}$`)

export const unpluginFactory: UnpluginFactory<Options | undefined, false> = (options, meta) => {
  const ctx = new AsyncifyContext(options)
  const isWebpackLike = meta.framework === 'webpack' || meta.framework === 'rspack'
  return {
    name: PLUGIN_NAME,
    // Before the bundler's own `.wasm` handling (Vite's asset and `?init` plugins).
    enforce: 'pre',
    resolveId: {
      filter: {
        id: meta.framework === 'esbuild' ? QUERY_RE : new RegExp(`${QUERY_RE.source}|${RUNTIME_RE.source}`),
      },
      handler(id, importer) {
        if (RUNTIME_RE.test(id)) return ctx.runtimeEntry
        return ctx.resolve(id, importer)
      },
    },
    // Used by webpack, Rspack and esbuild; the Rollup family has its own (with `emitFile`).
    load: {
      filter: { id: QUERY_RE },
      handler(id) {
        const parsed = parseId(id)
        if (parsed === null) return null
        // Watch mode and dev servers rebuild the glue when the binary changes.
        this.addWatchFile(parsed.file)
        return ctx.load(id, isWebpackLike ? webpackLikeSetup.sink : esbuildHooks.sink)
      },
    },
    vite: viteHooks(ctx, () => unplugin.vite(options)),
    rollup: rollupHooks(ctx),
    rolldown: rollupHooks(ctx),
    webpack: compiler => webpackLikeSetup.apply(ctx, compiler),
    rspack: compiler => webpackLikeSetup.apply(ctx, compiler),
    esbuild: esbuildHooks.options(ctx),
  }
}

export const unplugin: UnpluginInstance<Options | undefined, false> = createUnplugin(unpluginFactory)

export default unplugin

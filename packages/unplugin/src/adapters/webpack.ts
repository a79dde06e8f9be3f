/**
 * webpack and Rspack: the glue references each binary as `new URL('/abs/x.wasm?asyncify-asset=<role>.<key>',
 * import.meta.url)`, which both bundlers treat as an asset module. A rule of ours makes those requests
 * `asset/resource` files named `[name].[contenthash:8].wasm` (so the bundler hashes them and applies
 * `publicPath`), with a loader that hands over the cached bytes. The rule types the request itself, so
 * webpack's `webassembly/async` handling of `.wasm` files never sees it; the glue module is a virtual
 * module of type `javascript/auto` (unplugin's load rule), never a `.wasm` resource.
 *
 * Watch mode and dev servers rebuild on a `.wasm` change: the glue depends on the file (unplugin's
 * `addWatchFile`) and the asset module's resource is the file itself.
 */
import {
  ASSET_QUERY_RE,
  type AssetSink,
  type AsyncifyContext,
  assetRequestOf,
  PLUGIN_NAME,
} from '../context.js'

/** What this adapter needs of webpack's and Rspack's compilers (their types differ in details we do not use). */
interface CompilerLike {
  options: {
    context?: string
    mode?: string
    module: { rules: unknown[] }
  }
  hooks: {
    run: { tap(name: string, fn: () => void): void }
    watchRun: { tap(name: string, fn: () => void): void }
  }
  getInfrastructureLogger(name: string): { info(line: string): void; warn(line: string): void }
}

// From `src` (a checkout under Node's type stripping) the loader is the .ts file, from `dist` the .js one.
const ASSET_LOADER = new URL(
  import.meta.url.endsWith('.ts') ? './asset-loader.ts' : './asset-loader.js',
  import.meta.url,
).pathname

export const webpackLikeSetup = {
  sink: {
    reference(asset) {
      return { kind: 'url', url: assetRequestOf(asset) }
    },
  } satisfies AssetSink,

  apply(ctx: AsyncifyContext, compiler: CompilerLike): void {
    const root = compiler.options.context ?? process.cwd()
    const logger = compiler.getInfrastructureLogger(PLUGIN_NAME)
    const configure = (production: boolean) => ctx.configure({ root, production }, logger)
    configure(compiler.options.mode !== 'development')
    compiler.hooks.run.tap(PLUGIN_NAME, () => configure(compiler.options.mode !== 'development'))
    compiler.hooks.watchRun.tap(PLUGIN_NAME, () => configure(false))
    compiler.options.module.rules.push({
      resourceQuery: ASSET_QUERY_RE,
      type: 'asset/resource',
      generator: { filename: '[name].[contenthash:8].wasm' },
      use: [{ loader: ASSET_LOADER, options: { context: ctx } }],
    })
  },
}

/**
 * esbuild: the glue imports each binary from a module in our `asyncify-asset` namespace that esbuild's
 * own `file` loader turns into a hashed file beside the bundle (with `outfile` or `outdir`, written or
 * in `outputFiles`), whose default export is that file's path relative to the output directory.
 */
import type { BuildOptions, PluginBuild } from 'esbuild'
import {
  ASSET_QUERY_RE,
  type AssetRole,
  type AssetSink,
  type AsyncifyContext,
  assetRequestOf,
  RUNTIME_ID,
} from '../context.js'

const NAMESPACE = 'asyncify-asset'
const RUNTIME_RE = new RegExp(`^${RUNTIME_ID.replace(/[/.]/g, '\\$&')}$`)

interface AssetData {
  role: AssetRole
  key: string
  file: string
}

export const esbuildHooks = {
  sink: {
    reference(asset) {
      return { kind: 'import', specifier: assetRequestOf(asset) }
    },
  } satisfies AssetSink,

  options(ctx: AsyncifyContext) {
    return {
      // Only `?asyncify` ids go through unplugin's resolver (the runtime and assets are resolved below).
      onResolveFilter: /[?&]asyncify(?:[&=]|$)/,
      loader: 'js' as const,
      config(options: BuildOptions) {
        ctx.configure({
          root: options.absWorkingDir ?? process.cwd(),
          production: options.minify === true || process.env.NODE_ENV === 'production',
        })
      },
      setup(build: PluginBuild) {
        build.onResolve({ filter: RUNTIME_RE }, () => ({ path: ctx.runtimeEntry }))
        build.onResolve({ filter: ASSET_QUERY_RE }, args => {
          const m = ASSET_QUERY_RE.exec(args.path) as RegExpExecArray
          const file = args.path.slice(0, args.path.indexOf('?'))
          const role = m[1] as AssetRole
          const stem = file.replace(/\.(wasm|wat|wast)$/, '')
          const data: AssetData = { role, key: m[2] as string, file }
          // The path names the output file (`[name]-[hash].wasm`); the suffix keeps two option sets of one file apart.
          return {
            path: `${stem}${role === 'original' ? '.original' : ''}.wasm`,
            suffix: `?${data.key}`,
            namespace: NAMESPACE,
            pluginData: data,
          }
        })
        build.onLoad({ filter: /.*/, namespace: NAMESPACE }, args => {
          const data = args.pluginData as AssetData
          return { contents: ctx.asset(data.role, data.key, data.file), loader: 'file' }
        })
      },
    }
  },
}

// Builds the fixture app (fixture/main.js) with one bundler and the built plugin (packages/unplugin/dist),
// in a process of its own so that several bundlers build at once:
//
//   node test/bundlers/build-fixture.mjs <bundler> <outDir> '<plugin options as JSON>' [entry]
//
// The entry defaults to fixture/main.js.
// Prints one JSON line: { entry } (the file to run with node) and { files } (everything written).
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const [bundler, outDir, json, entry] = process.argv.slice(2)
const options = JSON.parse(json ?? '{}')
const fixture = fileURLToPath(new URL('./fixture/', import.meta.url))
const input = entry ?? join(fixture, 'main.js')

/** Each bundler's build of main.js as an ES module for Node; resolves to the entry file's name. */
const builders = {
  async vite8(vite = 'vite') {
    const { build } = await import(vite)
    const plugin = (await import('unplugin-asyncify/vite')).default
    await build({
      root: fixture,
      configFile: false,
      logLevel: 'warn',
      // A relative base makes asset URLs relative to the chunk (`new URL(…, import.meta.url)`), as Node needs.
      base: './',
      plugins: [plugin(options)],
      build: {
        outDir,
        emptyOutDir: true,
        target: 'esnext',
        minify: false,
        // Vite's preload helper for dynamic imports (the runtime loads its drivers on demand) uses
        // \`document\`: off, as for any Vite build meant for Node.
        modulePreload: false,
        rollupOptions: { input, output: { entryFileNames: 'main.js' } },
      },
    })
    return 'main.js'
  },
  async vite7() {
    return builders.vite8('vite7')
  },
  async rollup() {
    const { rollup } = await import('rollup')
    const asyncify = (await import('unplugin-asyncify/rollup')).default
    const bundle = await rollup({ input, plugins: [asyncify(options)] })
    await bundle.write({ dir: outDir, format: 'es', entryFileNames: 'main.js' })
    await bundle.close()
    return 'main.js'
  },
  async rolldown() {
    const { rolldown } = await import('rolldown')
    const asyncify = (await import('unplugin-asyncify/rolldown')).default
    const bundle = await rolldown({ input, plugins: [asyncify(options)], platform: 'node' })
    await bundle.write({ dir: outDir, format: 'es', entryFileNames: 'main.js' })
    await bundle.close()
    return 'main.js'
  },
  async esbuild() {
    const { build } = await import('esbuild')
    const asyncify = (await import('unplugin-asyncify/esbuild')).default
    await build({
      entryPoints: [input],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile: join(outDir, 'main.js'),
      logLevel: 'warning',
      plugins: [asyncify(options)],
    })
    return 'main.js'
  },
  async webpack(bundler = 'webpack') {
    const compile =
      bundler === 'webpack' ? (await import('webpack')).default : (await import('@rspack/core')).rspack
    const asyncify = (await import(`unplugin-asyncify/${bundler}`)).default
    const config = {
      mode: 'production',
      context: fixture,
      entry: input,
      target: 'node',
      // On purpose: webpack's own async WebAssembly must not claim `?asyncify` imports.
      experiments: { outputModule: true, asyncWebAssembly: true },
      output: {
        path: outDir,
        filename: 'main.mjs',
        module: true,
        chunkFormat: 'module',
        library: { type: 'module' },
      },
      optimization: { minimize: false },
      plugins: [asyncify(options)],
    }
    await new Promise((resolve, reject) => {
      compile(config, (error, stats) => {
        if (error) reject(error)
        else if (stats.hasErrors()) reject(new Error(stats.toString({ all: false, errors: true })))
        else resolve()
      })
    })
    return 'main.mjs'
  },
  async rspack() {
    return builders.webpack('rspack')
  },
}

const builder = builders[bundler]
if (builder === undefined)
  throw new Error(`unknown bundler ${bundler} (known: ${Object.keys(builders).join(', ')})`)
const output = join(outDir, await builder())
const files = readdirSync(outDir, { recursive: true }).map(f => relative(outDir, join(outDir, String(f))))
console.log(JSON.stringify({ entry: output, files }))

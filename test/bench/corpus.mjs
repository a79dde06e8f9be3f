// Paths of the corpus .wasm files, for the benchmarks (plain .mjs: no compile step).
// Mirrors test/helpers/corpus.ts — keep the two in sync.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

// Resolve from test/ (the workspace whose devDependencies hold the corpus packages).
const require = createRequire(new URL('../package.json', import.meta.url))

/** Absolute path of an installed package's root directory. */
function packageRoot(name) {
  try {
    return dirname(require.resolve(`${name}/package.json`))
  } catch (error) {
    // Packages whose `exports` hide package.json: walk up from the main entry instead.
    if (error.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error
    let dir = dirname(require.resolve(name))
    for (;;) {
      const manifest = join(dir, 'package.json')
      if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) return dir
      const parent = dirname(dir)
      if (parent === dir) throw new Error(`cannot find the root of package ${name}`)
      dir = parent
    }
  }
}

function packageFile(name, file) {
  const path = join(packageRoot(name), file)
  if (!existsSync(path)) throw new Error(`${name} no longer ships ${file}; update test/bench/corpus.mjs`)
  return path
}

/** Every corpus module, smallest first: `{ name, path }`. */
export function corpus() {
  return [
    // QuickJS (emscripten, C) — about 0.5 MB.
    {
      name: 'quickjs',
      path: packageFile('@jitl/quickjs-wasmfile-release-sync', 'dist/emscripten-module.wasm'),
    },
    // libvips (emscripten, C/C++ with exceptions and pthreads) — about 5 MB.
    { name: 'vips', path: packageFile('wasm-vips', 'lib/vips.wasm') },
    // swc (Rust, wasm-bindgen) — about 18 MB.
    { name: 'swc', path: packageFile('@swc/wasm', 'wasm_bg.wasm') },
  ]
}

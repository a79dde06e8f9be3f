// Paths to real-world .wasm files that npm packages ship, used as a test corpus.
// Each package is a devDependency of this workspace (test/package.json); the files are
// resolved from the installed package, so they are whatever version package-lock.json pins.
// The Go module is built here instead (test/fixtures/go), since no package ships one.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

/** Absolute path of an installed package's root directory. */
function packageRoot(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`))
  } catch (error) {
    // Packages whose `exports` hide package.json: walk up from the main entry instead.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error
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

function packageFile(name: string, file: string): string {
  const path = join(packageRoot(name), file)
  if (!existsSync(path)) throw new Error(`${name} no longer ships ${file}; update test/helpers/corpus.ts`)
  return path
}

/** QuickJS (emscripten, C) — about 0.5 MB. */
export function quickjsWasmPath(): string {
  return packageFile('@jitl/quickjs-wasmfile-release-sync', 'dist/emscripten-module.wasm')
}

/** A Go program (GOOS=js GOARCH=wasm, go 1.19; test/fixtures/go) — about 3 MB, every size padded. */
export function goWasmPath(): string {
  return fileURLToPath(new URL('../fixtures/go/main.wasm', import.meta.url))
}

/** libvips (emscripten, C/C++ with exceptions and pthreads) — about 5 MB. */
export function vipsWasmPath(): string {
  return packageFile('wasm-vips', 'lib/vips.wasm')
}

/** swc (Rust, wasm-bindgen) — about 18 MB. */
export function swcWasmPath(): string {
  return packageFile('@swc/wasm', 'wasm_bg.wasm')
}

/**
 * DuckDB (`@duckdb/duckdb-wasm` duckdb-eh.wasm: emscripten C++ with legacy exception handling, 60,000
 * functions, switch lowering nested about 1,500 blocks deep) — about 34 MB. Not in `corpus()`, whose
 * every entry the codec bench and the typing test go through: it is the large module of the asyncify
 * tests (test/asyncify/duckdb.test.ts) and of the asyncify-large bench.
 */
export function duckdbWasmPath(): string {
  return packageFile('@duckdb/duckdb-wasm', 'dist/duckdb-eh.wasm')
}

export interface CorpusEntry {
  name: string
  path: string
}

/** Every corpus module, smallest first. */
export function corpus(): CorpusEntry[] {
  return [
    { name: 'quickjs', path: quickjsWasmPath() },
    { name: 'go', path: goWasmPath() },
    { name: 'vips', path: vipsWasmPath() },
    { name: 'swc', path: swcWasmPath() },
  ]
}

// Rebuilds the playground's C programs (src/wasm/*.c → src/wasm/*.wasm) with Debian's clang-19 and
// wasi-libc: `npm run build:wasm -w playground`. The .wasm files are committed, so the playground runs
// without a C toolchain; `--check` builds into a temporary directory and fails if a committed file
// differs from its rebuild (test/playground runs it when clang-19 is installed). The .wat modules need
// no build: the plugin reads them.
//
// The flags are those of the runtime's README for C on emscripten's fiber API: a WASI reactor (no
// main), the runtime's include/ for emscripten/fiber.h, and the exports the runtime uses — the C stack
// pointer (a C stack per call in flight and per fiber), the function table (fiber entry functions) and
// malloc/free (where those stacks and the asyncify buffers come from). --strip-debug drops wasi-libc's
// DWARF and keeps the name section, which makes the transform's report readable.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const sources = join(here, '../src/wasm')
const include = join(here, '../../packages/runtime/include')

export const CLANG_FLAGS = [
  '--target=wasm32-wasi',
  '-O2',
  '-mexec-model=reactor',
  `-I${include}`,
  '-Wall',
  '-Werror',
  '-Wl,--strip-debug',
  '-Wl,--export=__stack_pointer',
  '-Wl,--export-table',
  '-Wl,--export=malloc',
  '-Wl,--export=free',
]

// clang runs wasm-opt after linking when it finds one on PATH, and npm puts binaryen's there
// (node_modules/.bin): keep it out, so the output depends on clang and wasi-libc alone.
const PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter(dir => !dir.includes('node_modules'))
  .join(delimiter)

const check = process.argv.includes('--check')
const outDir = check ? mkdtempSync(join(tmpdir(), 'playground-wasm-')) : sources
const stale = []
for (const file of readdirSync(sources).filter(f => f.endsWith('.c'))) {
  const name = file.replace(/\.c$/, '.wasm')
  const out = join(outDir, name)
  execFileSync('clang-19', [...CLANG_FLAGS, join(sources, file), '-o', out], {
    stdio: 'inherit',
    env: { ...process.env, PATH },
  })
  if (check && !readFileSync(out).equals(readFileSync(join(sources, name)))) stale.push(name)
  else if (!check) console.log(`built src/wasm/${name}`)
}
if (check) {
  rmSync(outDir, { recursive: true, force: true })
  if (stale.length > 0) {
    console.error(`stale: ${stale.join(', ')} (run npm run build:wasm -w playground)`)
    process.exit(1)
  }
  console.log('the committed .wasm files match their sources')
}

// `npm start`: runs wasm-asyncify (the CLI) on examples/demo.wat, then runs the output in this Node with
// JS promises behind its imports, through @unplugin-asyncify/runtime — in asyncify mode, and in JSPI mode
// on the original module.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const cli = join(root, 'packages/core/dist/cli.js')
if (!existsSync(cli) || !existsSync(join(root, 'packages/runtime/dist/index.js')))
  execFileSync('npx', ['tsc', '-b', 'packages/wasm', 'packages/runtime', 'packages/core'], {
    cwd: root,
    stdio: 'inherit',
  })
const outDir = join(here, '.out')
mkdirSync(outDir, { recursive: true })
const output = join(outDir, 'demo.wasm')

console.log('$ wasm-asyncify examples/demo.wat -o examples/.out/demo.wasm --report examples/.out/demo.json')
execFileSync(
  process.execPath,
  [cli, join(here, 'demo.wat'), '-o', output, '--report', join(outDir, 'demo.json')],
  {
    stdio: 'inherit',
  },
)
const report = JSON.parse(readFileSync(join(outDir, 'demo.json'), 'utf8'))
for (const f of report.instrumented)
  console.log(`  instrumented ${f.name}: ${f.sites} call sites, because it calls ${f.reason.join(' → ')}`)

// The runtime drives the output: imports may return promises; a JS exception thrown into wasm by a
// rejected promise or a throwing import is caught there, kept across a sleep and rethrown to us. The
// module has no allocator, so the runtime's buffers go into a region of its memory.
const { instantiate } = await import('../packages/runtime/dist/index.js')
const wait = ms => new Promise(r => setTimeout(r, ms))
const imports = {
  env: {
    async fetch(i) {
      await wait(5)
      return i * i + 1
    },
    sleep: ms => wait(ms),
    validate(v) {
      if (v % 2 === 1) throw new Error(`odd value ${v}`)
    },
    print: (i, v, sum) => console.log(`  step ${i}: fetched ${v}, sum of the even ones ${sum}`),
  },
}
const options = { region: { start: 1024, size: 8192 }, asyncifyStackSize: 2048 }

// JSPI mode runs the original module (here compiled from the same .wat) where the engine has JSPI.
const binaryen = (await import('binaryen')).default
const parsed = binaryen.parseText(readFileSync(join(here, 'demo.wat'), 'utf8'))
parsed.setFeatures(binaryen.Features.ExceptionHandling | binaryen.Features.ReferenceTypes)
const original = parsed.emitBinary()
parsed.dispose()
const source = { asyncify: readFileSync(output), original }

for (const mode of ['asyncify', 'jspi']) {
  const { exports } = await instantiate(source, imports, { ...options, mode })
  console.log(`${mode} mode, main(4):`)
  console.log(`  → ${await exports.main(4)}`)
  console.log(`${mode} mode, main(5):`)
  try {
    await exports.main(5)
  } catch (e) {
    console.log(
      `  → threw ${e.constructor.name}: ${e.message} (the JS error object itself, rethrown by wasm)`,
    )
  }
}

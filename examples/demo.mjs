// `npm start`: runs wasm-asyncify (the CLI) on examples/demo.wat, then runs the output in this Node with
// JS promises behind its imports, through the raw asyncify ABI (the runtime package will hide this).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const cli = join(root, 'packages/core/dist/cli.js')
if (!existsSync(cli))
  execFileSync('npx', ['tsc', '-b', 'packages/wasm', 'packages/core'], { cwd: root, stdio: 'inherit' })
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

/** A minimal driver: an import returning a promise unwinds the stack; when it settles, the stack is rewound. */
async function instantiate(bytes, imports) {
  const DATA = 16 // { current, end } at 16, buffer from 24 to 4096
  let instance
  let pending = null // { value } or { error } once the promise settled
  const wrap =
    fn =>
    (...args) => {
      const e = instance.exports
      if (e.asyncify_get_state() === 2) {
        e.asyncify_stop_rewind()
        const settled = pending
        pending = null
        if ('error' in settled) throw settled.error
        return settled.value
      }
      const result = fn(...args)
      if (!(result instanceof Promise)) return result
      const view = new Int32Array(e.memory.buffer)
      view[DATA / 4] = DATA + 8
      view[DATA / 4 + 1] = 4096
      e.asyncify_start_unwind(DATA)
      pending = result.then(
        value => ({ value }),
        error => ({ error }),
      )
      return 0
    }
  const env = Object.fromEntries(Object.entries(imports).map(([k, fn]) => [k, wrap(fn)]))
  instance = (await WebAssembly.instantiate(bytes, { env })).instance
  return async (name, ...args) => {
    const e = instance.exports
    let result = e[name](...args)
    while (e.asyncify_get_state() === 1) {
      e.asyncify_stop_unwind()
      pending = await pending
      e.asyncify_start_rewind(DATA)
      result = e[name](...args)
    }
    return result
  }
}

const wait = ms => new Promise(r => setTimeout(r, ms))
const call = await instantiate(readFileSync(output), {
  async fetch(i) {
    await wait(5)
    return i * i + 1
  },
  sleep: ms => wait(ms),
  validate(v) {
    if (v % 2 === 1) throw new Error(`odd value ${v}`)
  },
  print: (i, v, sum) => console.log(`  step ${i}: fetched ${v}, sum of the even ones ${sum}`),
})
console.log('main(4):')
console.log(`  → ${await call('main', 4)}`)
console.log('main(5):')
try {
  await call('main', 5)
} catch (e) {
  console.log(`  → threw ${e.constructor.name}: ${e.message} (the JS error object itself, rethrown by wasm)`)
}

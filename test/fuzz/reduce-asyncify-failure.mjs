#!/usr/bin/env node
// Shrinks a module our asyncify mishandles while keeping the failure kind (failureSignature in
// asyncify-harness.ts: binaryen's output must keep matching the original). binaryen's wasm-reduce
// cannot run commands in its JS build, so this reduces by whole exports and function bodies and by
// binaryen passes, each candidate re-checked.
//
//   node test/fuzz/reduce-asyncify-failure.mjs <seed | file.wasm> [--variant mvp|eh] [--out reduced.wasm]
//
// A seed means test/.cache/fuzz-failures/asyncify-<seed>.wasm (asyncify-eh-<seed>.wasm with --variant eh,
// which a file named asyncify-eh-* implies); the result goes next to it as <name>.reduced.wasm (plus
// .reduced.wat) unless --out says otherwise. For the 'eh' variant there is no binaryen asyncify to
// compare with: the failure kind is ours against the original.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

// Run the TypeScript sources with the repository's Node (26) and the resolve hook.
if (!process.execArgv.includes('--conditions=source')) {
  const localNode = join(root, 'node_modules', '.bin', 'node')
  const r = spawnSync(
    existsSync(localNode) ? localNode : process.execPath,
    [
      '--conditions=source',
      '--import',
      join(here, 'ts-hooks.mjs'),
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  )
  process.exit(r.status ?? 1)
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, variant: { type: 'string' } },
})
const target = positionals[0]
if (target === undefined) {
  console.error(
    'usage: node test/fuzz/reduce-asyncify-failure.mjs <seed | file.wasm> [--variant mvp|eh] [--out reduced.wasm]',
  )
  process.exit(2)
}
const { ExecPool, binaryenPasses, failureSignature, failureDir, fuzzVariants } = await import(
  './asyncify-harness.ts'
)
const { decode, encode, opByName } = await import('@unplugin-asyncify/wasm')
const { binaryenText } = await import('../helpers/binaryen.ts')

/** Without --variant: the file name tells (asyncify-eh-*), or for a seed, which variant saved it. */
function guessVariant() {
  if (!/^\d+$/.test(target)) return /asyncify-eh-[^/]*$/.test(target) ? 'eh' : 'mvp'
  const saved = Object.keys(fuzzVariants).filter(v =>
    existsSync(join(failureDir, `${fuzzVariants[v].failurePrefix}${target}.wasm`)),
  )
  return saved.length === 1 ? saved[0] : 'mvp'
}
const variant = fuzzVariants[values.variant ?? guessVariant()]
if (variant === undefined) {
  console.error(`--variant: one of ${Object.keys(fuzzVariants).join(', ')}`)
  process.exit(2)
}
const input = /^\d+$/.test(target) ? join(failureDir, `${variant.failurePrefix}${target}.wasm`) : target
const out = values.out ?? input.replace(/(\.wasm)?$/, '.reduced.wasm')
const pool = new ExecPool(2, 5_000)
let best = new Uint8Array(readFileSync(input))
const want = await failureSignature(best, pool, variant)
console.log(`${input} (${variant.name}): ${best.length} bytes, ${want}`)
if (!want.startsWith('ours:')) {
  console.error('not a failure of ours (or binaryen disagrees too): nothing to reduce')
  await pool.close()
  process.exit(1)
}

let checks = 0
async function attempt(candidate, what) {
  if (candidate === null || candidate.length >= best.length) return false
  checks++
  const got = await failureSignature(candidate, pool, variant)
  if (got !== want) return false
  best = candidate
  writeFileSync(out, best)
  console.log(`  ${what}: ${best.length} bytes`)
  return true
}
function edit(fn) {
  try {
    const m = decode(best, { bodies: 'lazy' })
    return fn(m) === false ? null : encode(m)
  } catch {
    return null
  }
}
function passes(list) {
  try {
    return binaryenPasses(best, list, variant.features)
  } catch {
    return null
  }
}

const passLists = [
  ['remove-unused-module-elements'],
  ['dce', 'vacuum'],
  ['precompute-propagate', 'vacuum'],
  ['simplify-locals', 'vacuum'],
  ['merge-blocks', 'remove-unused-brs', 'vacuum'],
  ['coalesce-locals', 'reorder-locals'],
  ['optimize-instructions'],
  ['code-folding', 'local-cse'],
  ['remove-unused-names', 'merge-blocks'],
  ['inlining-optimizing'],
  ['O1'],
  ['O3'],
  ['Oz'],
]

for (let round = 1; ; round++) {
  const before = best.length
  // Exports the driver calls, one at a time from the end (the __fuzz_ ones stay).
  const names = decode(best, { bodies: 'lazy' })
    .exports.filter(e => e.kind === 'func' && !e.name.startsWith('__fuzz_'))
    .map(e => e.name)
  for (const name of names.reverse()) {
    await attempt(
      edit(m => {
        m.exports = m.exports.filter(e => e.name !== name)
      }),
      `export ${name} removed`,
    )
  }
  await attempt(passes(['remove-unused-module-elements']), 'unused elements removed')
  // Function bodies replaced by `unreachable`.
  const count = decode(best, { bodies: 'lazy' }).funcs.length
  for (let i = count - 1; i >= 0; i--) {
    await attempt(
      edit(m => {
        const f = m.funcs[i]
        if (f === undefined) return false
        f.body = { kind: 'func', locals: [], body: [{ op: opByName('unreachable') }] }
        f.raw = null
      }),
      `function ${i} emptied`,
    )
  }
  for (const list of passLists) await attempt(passes(list), list.join(' '))
  console.log(`round ${round}: ${before} → ${best.length} bytes (${checks} checks)`)
  if (best.length >= before) break
}
await pool.close()
writeFileSync(out, best)
writeFileSync(out.replace(/\.wasm$/, '.wat'), binaryenText(best))
console.log(`${out}: ${best.length} bytes, ${want}`)

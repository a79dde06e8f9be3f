#!/usr/bin/env node
// Differential fuzzing of the legacy-EH translation over many seeds, outside `npm test`: runs
// test/fuzz/legacy-eh-differential.test.ts through vitest (which resolves the packages to their
// TypeScript sources) with the seed range in the environment, then prints the summaries.
//
//   node test/fuzz/run-legacy-eh-fuzz.mjs --seeds 5000 [--from 0] [--source gen|ttf|both]
//
// 'gen' modules (legacy-eh-gen.ts) run as the original; 'ttf' ones (wasm-opt -ttf, legacy try/catch
// next to try_table) are compared with binaryen's translation. Summaries (JSON) go to
// test/.cache/legacy-eh-fuzz/summary-<from>-<seeds>.<source>.json.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '2000' },
    from: { type: 'string', default: '0' },
    source: { type: 'string', default: 'both' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  console.log('usage: node test/fuzz/run-legacy-eh-fuzz.mjs [--seeds N] [--from S] [--source gen|ttf|both]')
  process.exit(0)
}
const seeds = Number(values.seeds)
const from = Number(values.from)
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(from) || from < 0) {
  console.error('--seeds and --from take non-negative integers')
  process.exit(2)
}
if (!['gen', 'ttf', 'both'].includes(values.source)) {
  console.error('--source: gen, ttf or both')
  process.exit(2)
}
// The workers run TypeScript through Node's type stripping: use the repository's Node (the root
// devDependency `node`), as npm scripts do, whatever node runs this script.
const localNode = join(root, 'node_modules', '.bin', 'node')
const node = existsSync(localNode) ? localNode : process.execPath
const outDir = join(root, 'test', '.cache', 'legacy-eh-fuzz')
mkdirSync(outDir, { recursive: true })
const summary = join(outDir, `summary-${from}-${seeds}`)

const t0 = performance.now()
const run = spawnSync(
  node,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/fuzz/legacy-eh-differential.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      LEGACY_EH_FUZZ_SEEDS: String(seeds),
      LEGACY_EH_FUZZ_FROM: String(from),
      LEGACY_EH_FUZZ_SOURCE: values.source,
      LEGACY_EH_FUZZ_SUMMARY: summary,
      LEGACY_EH_FUZZ_PROGRESS: '1',
      LEGACY_EH_FUZZ_TIMEOUT_MS: String(600_000 + seeds * 1_000),
    },
  },
)
const seconds = ((performance.now() - t0) / 1000).toFixed(1)
for (const source of values.source === 'both' ? ['gen', 'ttf'] : [values.source]) {
  const file = `${summary}.${source}.json`
  if (!existsSync(file)) {
    console.error(`${source}: no summary written (vitest exit ${run.status})`)
    continue
  }
  const s = JSON.parse(readFileSync(file, 'utf8'))
  console.log(
    `\n${source}, seeds ${from}..${from + seeds - 1}: ${s.pass} pass, ${s.fail} fail, ${s.error} harness errors, ${s.skip} skip` +
      ` (original ran in ${s.originalRan}; ${s.translated} functions translated; ${s.calls} export calls, ${s.exceptions} exceptions; ${s.suspensions} suspensions)`,
  )
  for (const [why, n] of Object.entries(s.skips)) console.log(`  skipped ${n}× ${why}`)
  for (const m of s.binaryenMismatches) console.log(`binaryen ≠ original, seed ${m.seed}: ${m.detail}`)
  for (const f of s.failures) console.log(`FAIL seed ${f.seed}: ${f.detail}`)
  console.log(`summary: ${file}`)
}
console.log(`${seconds} s`)
process.exit(run.status ?? 1)

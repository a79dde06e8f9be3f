#!/usr/bin/env node
// The legacy-EH translation fuzz (test/fuzz/legacy-eh-differential.test.ts) on more seeds than
// `npm test` runs, then its summaries:
//
//   npm run fuzz:legacy-eh -- --seeds 5000 [--from 0] [--source gen|ttf|both]
//
// 'gen' modules (legacy-eh-gen.ts) run as the original; 'ttf' ones (wasm-opt -ttf, legacy try/catch
// next to try_table) are compared with binaryen's translation. vitest runs the TypeScript sources, on
// the repository's Node (the root devDependency), like the npm scripts. Summaries (JSON) go to
// test/.cache/legacy-eh-fuzz/summary-<from>-<seeds>.<source>.json.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'

const repo = path.resolve(import.meta.dirname, '..', '..')
const args = parseArgs({
  options: {
    seeds: { type: 'string', default: '2000' },
    from: { type: 'string', default: '0' },
    source: { type: 'string', default: 'both' },
  },
}).values
const [seeds, from] = [Number(args.seeds), Number(args.from)]
const sources = { gen: ['gen'], ttf: ['ttf'], both: ['gen', 'ttf'] }[args.source]
if (!(Number.isInteger(seeds) && seeds > 0 && Number.isInteger(from) && from >= 0) || sources === undefined) {
  console.error('usage: npm run fuzz:legacy-eh -- [--seeds N] [--from S] [--source gen|ttf|both]')
  process.exit(2)
}
const summary = path.join(repo, 'test', '.cache', 'legacy-eh-fuzz', `summary-${from}-${seeds}`)
fs.mkdirSync(path.dirname(summary), { recursive: true })
const node = [path.join(repo, 'node_modules', '.bin', 'node'), process.execPath].find(fs.existsSync)
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs')
const started = Date.now()
const { status } = spawnSync(node, [vitest, 'run', 'test/fuzz/legacy-eh-differential.test.ts'], {
  cwd: repo,
  stdio: 'inherit',
  env: {
    ...process.env,
    LEGACY_EH_FUZZ_SEEDS: String(seeds),
    LEGACY_EH_FUZZ_FROM: String(from),
    LEGACY_EH_FUZZ_SOURCE: args.source,
    LEGACY_EH_FUZZ_SUMMARY: summary,
    LEGACY_EH_FUZZ_PROGRESS: '1',
    LEGACY_EH_FUZZ_TIMEOUT_MS: String(600_000 + seeds * 1_000),
  },
})
for (const source of sources) {
  const file = `${summary}.${source}.json`
  if (!fs.existsSync(file)) {
    console.error(`${source}: no summary written (vitest exit ${status})`)
    continue
  }
  const s = JSON.parse(fs.readFileSync(file, 'utf8'))
  console.log(
    `\n${source}, seeds ${from}..${from + seeds - 1}: ${s.pass} pass, ${s.fail} fail, ${s.error} harness errors, ` +
      `${s.skip} skip (original ran in ${s.originalRan}; ${s.translated} functions translated; ` +
      `${s.calls} export calls, ${s.exceptions} exceptions; ${s.suspensions} suspensions)`,
  )
  for (const [why, n] of Object.entries(s.skips)) console.log(`  skipped ${n}× ${why}`)
  for (const m of s.binaryenMismatches) console.log(`binaryen ≠ original, seed ${m.seed}: ${m.detail}`)
  for (const f of s.failures) console.log(`FAIL seed ${f.seed}: ${f.detail}`)
  console.log(`summary: ${file}`)
}
console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(status ?? 1)

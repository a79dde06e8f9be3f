#!/usr/bin/env node
// Differential asyncify fuzzing over many seeds, outside `npm test`: runs the variant's test file
// (test/fuzz/asyncify-differential.test.ts for 'mvp', asyncify-differential-eh.test.ts for 'eh') through
// vitest (which resolves the packages to their TypeScript sources) with the seed range in the
// environment, then prints the summary.
//
//   node test/fuzz/run-asyncify-fuzz.mjs --seeds 2000 [--from 0] [--variant mvp|eh] [--lax-rewind-args]
//   node test/fuzz/run-asyncify-fuzz.mjs --only 17,42     (just these seeds)
//   node test/fuzz/run-asyncify-fuzz.mjs --failed         (the seeds saved in test/.cache/fuzz-failures)
//   node test/fuzz/run-asyncify-fuzz.mjs --variant eh --refusals-fail   (count what our rewrite refuses
//                                                          by design as failures, not skips)
//
// Failing seeds' modules go to test/.cache/fuzz-failures/asyncify-<seed>{.wasm,.ours.wasm,.txt}
// (asyncify-eh-<seed>.* for 'eh'); the summary (JSON) to
// test/.cache/asyncify-fuzz/summary-<variant>-<from>-<seeds>.json.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '2000' },
    from: { type: 'string', default: '0' },
    only: { type: 'string' },
    failed: { type: 'boolean', default: false },
    variant: { type: 'string', default: 'mvp' },
    'lax-rewind-args': { type: 'boolean', default: false },
    'refusals-fail': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  console.log(
    'usage: node test/fuzz/run-asyncify-fuzz.mjs [--variant mvp|eh] [--seeds N] [--from S] [--only A,B,...] [--failed] [--lax-rewind-args] [--refusals-fail]',
  )
  process.exit(0)
}
const variants = {
  mvp: { testFile: 'test/fuzz/asyncify-differential.test.ts', failurePrefix: 'asyncify-' },
  eh: { testFile: 'test/fuzz/asyncify-differential-eh.test.ts', failurePrefix: 'asyncify-eh-' },
}
const variant = variants[values.variant]
if (variant === undefined) {
  console.error(`--variant: one of ${Object.keys(variants).join(', ')}`)
  process.exit(2)
}
const failureDir = join(root, 'test', '.cache', 'fuzz-failures')
let list = null
if (values.failed) {
  list = existsSync(failureDir)
    ? readdirSync(failureDir)
        .map(f =>
          f.startsWith(variant.failurePrefix)
            ? /^(\d+)\.txt$/.exec(f.slice(variant.failurePrefix.length))?.[1]
            : undefined,
        )
        .filter(s => s !== undefined)
        .map(Number)
        .sort((a, b) => a - b)
    : []
  if (list.length === 0) {
    console.log('no saved failures')
    process.exit(0)
  }
} else if (values.only !== undefined) {
  list = values.only.split(',').map(Number)
}
const seeds = list?.length ?? Number(values.seeds)
const from = list ? 0 : Number(values.from)
if (
  !Number.isInteger(seeds) ||
  seeds < 1 ||
  !Number.isInteger(from) ||
  from < 0 ||
  list?.some(s => !(s >= 0))
) {
  console.error('--seeds, --from and --only take non-negative integers')
  process.exit(2)
}

// The workers run TypeScript through Node's type stripping: use the repository's Node (the root
// devDependency `node`), as npm scripts do, whatever node runs this script.
const localNode = join(root, 'node_modules', '.bin', 'node')
const node = existsSync(localNode) ? localNode : process.execPath
const outDir = join(root, 'test', '.cache', 'asyncify-fuzz')
mkdirSync(outDir, { recursive: true })
const summaryFile = join(
  outDir,
  list
    ? `summary-${values.variant}-list-${process.pid}.json`
    : `summary-${values.variant}-${from}-${seeds}.json`,
)

const t0 = performance.now()
const run = spawnSync(node, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', variant.testFile], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    ASYNCIFY_FUZZ_SEEDS: String(seeds),
    ASYNCIFY_FUZZ_FROM: String(from),
    ...(list ? { ASYNCIFY_FUZZ_LIST: list.join(',') } : {}),
    ASYNCIFY_FUZZ_SUMMARY: summaryFile,
    ASYNCIFY_FUZZ_PROGRESS: '1',
    ASYNCIFY_FUZZ_STRICT_REWIND_ARGS: values['lax-rewind-args'] ? '0' : '1',
    ASYNCIFY_FUZZ_REFUSALS_FAIL: values['refusals-fail'] ? '1' : '0',
    ASYNCIFY_FUZZ_TIMEOUT_MS: String(600_000 + seeds * 2_000),
  },
})
const seconds = ((performance.now() - t0) / 1000).toFixed(1)
if (!existsSync(summaryFile)) {
  console.error(`no summary written (vitest exit ${run.status}) after ${seconds} s`)
  process.exit(run.status || 1)
}
const s = JSON.parse(readFileSync(summaryFile, 'utf8'))
console.log(
  `\n${values.variant}, ${list ? `${seeds} listed seeds` : `seeds ${from}..${from + seeds - 1}`}: ${s.pass} pass, ${s.fail} fail, ${s.error} harness errors, ${s.skip} skip in ${seconds} s`,
)
console.log(`suspensions ${s.suspensions}; original: ${JSON.stringify(s.coverage)}`)
console.log(
  `largest unwind (bytes): ours ${s.unwindBytes.oursMax}, binaryen ${s.unwindBytes.binaryenMax}; summed over seeds: ours ${s.unwindBytes.oursSum}, binaryen ${s.unwindBytes.binaryenSum}`,
)
console.log(`time (ms, summed over seeds): ${JSON.stringify(s.ms)}`)
if (s.skip > 0) {
  console.log('skips:')
  for (const [why, n] of Object.entries(s.skips)) {
    const seedsSkipped = s.skipped.filter(k => k.detail.replace(/\(.*$/, '').trim() === why).map(k => k.seed)
    console.log(`  ${n}× ${why} (seeds ${seedsSkipped.slice(0, 20).join(', ')}${n > 20 ? ', ...' : ''})`)
  }
}
if (s.rewindArgMismatchSeeds > 0)
  console.log(
    `seeds rewinding imports with other arguments: ${s.rewindArgMismatchSeeds}`,
    s.rewindArgExamples,
  )
for (const m of s.binaryenMismatches) console.log(`binaryen ≠ original, seed ${m.seed}: ${m.detail}`)
for (const f of s.failures) console.log(`FAIL seed ${f.seed}: ${f.detail}`)
console.log(`summary: ${summaryFile}`)
process.exit(run.status ?? 1)

// Differential fuzzing of the asyncify rewrite against the uninstrumented module and binaryen's own
// asyncify, suspending at every import call (see asyncify-harness.ts). Seeds: ASYNCIFY_FUZZ_SEEDS
// (default 300) from ASYNCIFY_FUZZ_FROM (default 0), or ASYNCIFY_FUZZ_LIST; test/fuzz/run-asyncify-fuzz.mjs
// runs thousands.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runWasmOpt } from '../helpers/binaryen.js'
import { mapLimit, seedBytes } from '../helpers/fuzz.js'
import {
  asyncifyFuzzFlags,
  checkSeed,
  closePools,
  createPools,
  type SeedOutcome,
  sabotagedRunDiverges,
  summarize,
} from './asyncify-harness.js'

/** Explicit seeds (comma-separated) instead of a range, e.g. to re-check saved failures. */
const LIST = process.env.ASYNCIFY_FUZZ_LIST?.split(',').map(Number)
const SEEDS = LIST?.length ?? Number(process.env.ASYNCIFY_FUZZ_SEEDS ?? 300)
const FROM = Number(process.env.ASYNCIFY_FUZZ_FROM ?? 0)
const SUMMARY = process.env.ASYNCIFY_FUZZ_SUMMARY
/** Imports must be rewound with the arguments they unwound with, as binaryen does (0 to relax). */
const STRICT = process.env.ASYNCIFY_FUZZ_STRICT_REWIND_ARGS !== '0'
const PROGRESS = process.env.ASYNCIFY_FUZZ_PROGRESS === '1'

describe('asyncify differential fuzzing', () => {
  const pools = createPools()
  afterAll(() => closePools(pools))

  it('in-process wasm-opt -ttf writes what the CLI writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncify-ttf-'))
    try {
      const seed = 987_654
      writeFileSync(join(dir, 'in'), seedBytes(seed))
      runWasmOpt([join(dir, 'in'), '-ttf', ...asyncifyFuzzFlags, '-o', join(dir, 'cli.wasm')])
      const ours = await (pools.ttf as NonNullable<typeof pools.ttf>).generate(
        seed,
        asyncifyFuzzFlags,
        join(dir, 'worker.wasm'),
      )
      expect(Buffer.from(ours).equals(readFileSync(join(dir, 'cli.wasm')))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the comparison notices corrupted frames (harness self-test)', async () => {
    const verdicts = await mapLimit(
      Array.from({ length: 20 }, (_, i) => i),
      2,
      seed => sabotagedRunDiverges(seed, pools),
    )
    const suspending = verdicts.filter(v => v !== null)
    expect(suspending.length).toBeGreaterThan(10)
    expect(suspending.filter(v => v).length).toBeGreaterThan(suspending.length * 0.7)
  }, 300_000)

  it(
    `${LIST ? `${SEEDS} listed seeds` : `seeds ${FROM}..${FROM + SEEDS - 1}`}: ours and binaryen's asyncify behave like the original`,
    async () => {
      const seeds = LIST ?? Array.from({ length: SEEDS }, (_, i) => FROM + i)
      const t0 = performance.now()
      let done = 0
      const outcomes: SeedOutcome[] = await mapLimit(seeds, 4, async seed => {
        const o = await checkSeed(seed, pools, { save: true, strictRewindArgs: STRICT })
        done++
        if (PROGRESS && (o.status === 'fail' || o.status === 'error' || done % 100 === 0))
          console.log(`[${done}/${SEEDS}] seed ${seed}: ${o.status}${o.detail ? ` ${o.detail}` : ''}`)
        return o
      })
      const summary = summarize(outcomes, performance.now() - t0)
      if (SUMMARY) writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`)
      console.log(
        `asyncify fuzz: ${summary.pass} pass, ${summary.fail} fail, ${summary.error} error, ${summary.skip} skip` +
          ` of ${summary.seeds}` +
          ` (${summary.suspensions} suspensions); ms ${JSON.stringify(summary.ms)}` +
          `; original: ${JSON.stringify(summary.coverage)}; unwind bytes ${JSON.stringify(summary.unwindBytes)}` +
          `; ${summary.rewindArgMismatchSeeds} seeds rewind imports with other arguments than binaryen` +
          (summary.skip ? `; skips ${JSON.stringify(summary.skips)}` : ''),
      )
      // Most modules must really run and suspend, or the comparison proves little.
      expect(summary.pass + summary.fail).toBeGreaterThan(SEEDS * 0.9)
      expect(summary.suspensions).toBeGreaterThan(SEEDS * 10)
      expect(summary.binaryenRewindArgMismatches, 'binaryen rewinds with the same arguments').toBe(0)
      expect(summary.binaryenMismatches, 'binaryen disagrees with the original: harness problem?').toEqual([])
      expect(summary.failures).toEqual([])
    },
    Number(process.env.ASYNCIFY_FUZZ_TIMEOUT_MS ?? 600_000),
  )
})

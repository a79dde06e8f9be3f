// The differential asyncify fuzz tests of one variant (see asyncify-harness.ts), shared by
// asyncify-differential.test.ts ('mvp') and asyncify-differential-eh.test.ts ('eh'). Seeds:
// ASYNCIFY_FUZZ_SEEDS (default: the variant's) from ASYNCIFY_FUZZ_FROM (default 0), or ASYNCIFY_FUZZ_LIST;
// test/fuzz/run-asyncify-fuzz.mjs runs thousands.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runWasmOpt } from '../helpers/binaryen.js'
import { mapLimit, seedBytes } from '../helpers/fuzz.js'
import {
  checkSeed,
  closePools,
  createPools,
  type FuzzVariant,
  type SeedOutcome,
  sabotagedRunDiverges,
  summarize,
} from './asyncify-harness.js'

/** Explicit seeds (comma-separated) instead of a range, e.g. to re-check saved failures. */
const LIST = process.env.ASYNCIFY_FUZZ_LIST?.split(',').map(Number)
const SEEDS_ENV = process.env.ASYNCIFY_FUZZ_SEEDS
const FROM = Number(process.env.ASYNCIFY_FUZZ_FROM ?? 0)
const SUMMARY = process.env.ASYNCIFY_FUZZ_SUMMARY
/** Imports must be rewound with the arguments they unwound with, as binaryen does (0 to relax). */
const STRICT = process.env.ASYNCIFY_FUZZ_STRICT_REWIND_ARGS !== '0'
const PROGRESS = process.env.ASYNCIFY_FUZZ_PROGRESS === '1'
/** Count what our rewrite refuses by design as failures (default: skips, listed in the summary). */
const REFUSALS_FAIL = process.env.ASYNCIFY_FUZZ_REFUSALS_FAIL === '1'

export interface SuiteOptions {
  /** Seeds checked when neither ASYNCIFY_FUZZ_SEEDS nor ASYNCIFY_FUZZ_LIST says otherwise. */
  defaultSeeds: number
  /** Seeds 0..n-1 for the harness self-test (more than 10 of them must suspend). */
  selfTestSeeds: number
  /** Least share of the seeds that must really run (pass or fail, not skip). */
  minRunShare: number
  /** Least suspensions per seed on average (our output, both suspension patterns). */
  minSuspensionsPerSeed: number
}

export function describeDifferentialFuzz(variant: FuzzVariant, expectations: SuiteOptions): void {
  const SEEDS = LIST?.length ?? Number(SEEDS_ENV ?? expectations.defaultSeeds)
  const what = variant.binaryen ? "ours and binaryen's asyncify behave" : 'our asyncify behaves'
  describe(`asyncify differential fuzzing (${variant.name})`, () => {
    const pools = createPools()
    afterAll(() => closePools(pools))

    it('in-process wasm-opt -ttf writes what the CLI writes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'asyncify-ttf-'))
      try {
        const seed = 987_654
        writeFileSync(join(dir, 'in'), seedBytes(seed))
        runWasmOpt([join(dir, 'in'), '-ttf', ...variant.flags, '-o', join(dir, 'cli.wasm')])
        const ours = await (pools.ttf as NonNullable<typeof pools.ttf>).generate(
          seed,
          variant.flags,
          join(dir, 'worker.wasm'),
        )
        expect(Buffer.from(ours).equals(readFileSync(join(dir, 'cli.wasm')))).toBe(true)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('the comparison notices corrupted frames (harness self-test)', async () => {
      const verdicts = await mapLimit(
        Array.from({ length: expectations.selfTestSeeds }, (_, i) => i),
        2,
        seed => sabotagedRunDiverges(seed, pools, variant),
      )
      const suspending = verdicts.filter(v => v !== null)
      expect(suspending.length).toBeGreaterThan(10)
      expect(suspending.filter(v => v).length).toBeGreaterThan(suspending.length * 0.7)
    }, 300_000)

    it(
      `${LIST ? `${SEEDS} listed seeds` : `seeds ${FROM}..${FROM + SEEDS - 1}`}: ${what} like the original`,
      async () => {
        const seeds = LIST ?? Array.from({ length: SEEDS }, (_, i) => FROM + i)
        const t0 = performance.now()
        let done = 0
        const outcomes: SeedOutcome[] = await mapLimit(seeds, 4, async seed => {
          const o = await checkSeed(seed, pools, {
            variant,
            save: true,
            strictRewindArgs: STRICT,
            refusalsFail: REFUSALS_FAIL,
          })
          done++
          if (PROGRESS && (o.status === 'fail' || o.status === 'error' || done % 100 === 0))
            console.log(`[${done}/${SEEDS}] seed ${seed}: ${o.status}${o.detail ? ` ${o.detail}` : ''}`)
          return o
        })
        const summary = summarize(outcomes, performance.now() - t0)
        if (SUMMARY) writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`)
        console.log(
          `asyncify fuzz (${variant.name}): ${summary.pass} pass, ${summary.fail} fail, ${summary.error} error, ${summary.skip} skip` +
            ` of ${summary.seeds}` +
            ` (${summary.suspensions} suspensions); ms ${JSON.stringify(summary.ms)}` +
            `; original: ${JSON.stringify(summary.coverage)}; unwind bytes ${JSON.stringify(summary.unwindBytes)}` +
            `; ${summary.rewindArgMismatchSeeds} seeds rewind imports with other arguments than they unwound with` +
            (summary.skip ? `; skips ${JSON.stringify(summary.skips)}` : ''),
        )
        // Most modules must really run and suspend, or the comparison proves little.
        expect(summary.pass + summary.fail).toBeGreaterThan(SEEDS * expectations.minRunShare)
        expect(summary.suspensions).toBeGreaterThan(SEEDS * expectations.minSuspensionsPerSeed)
        if (variant.binaryen) {
          expect(summary.binaryenRewindArgMismatches, 'binaryen rewinds with the same arguments').toBe(0)
          expect(
            summary.binaryenMismatches,
            'binaryen disagrees with the original: harness problem?',
          ).toEqual([])
        }
        expect(summary.failures).toEqual([])
      },
      Number(process.env.ASYNCIFY_FUZZ_TIMEOUT_MS ?? 600_000),
    )
  })
}

// Differential fuzzing of our legacy-EH translation against the original module and binaryen's
// translate-to-exnref (legacy-eh-harness.ts), on generated legacy-EH modules ('gen') and on binaryen's
// -ttf modules left with their legacy try/catch ('ttf'). Seeds: LEGACY_EH_FUZZ_SEEDS (default below)
// from LEGACY_EH_FUZZ_FROM (default 0), LEGACY_EH_FUZZ_SOURCE (gen, ttf or both);
// `npm run fuzz:legacy-eh -- --seeds 5000` runs more.
import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { mapLimit } from '../helpers/fuzz.js'
import { closePools, createPools } from './asyncify-harness.js'
import {
  checkLegacySeed,
  handlersIgnoredDiverges,
  type LegacyEhSource,
  type LegacySeedOutcome,
  summarizeLegacy,
} from './legacy-eh-harness.js'

const DEFAULT_SEEDS: Record<LegacyEhSource, number> = { gen: 200, ttf: 100 }
const FROM = Number(process.env.LEGACY_EH_FUZZ_FROM ?? 0)
const SOURCE = process.env.LEGACY_EH_FUZZ_SOURCE
const SUMMARY = process.env.LEGACY_EH_FUZZ_SUMMARY
const PROGRESS = process.env.LEGACY_EH_FUZZ_PROGRESS === '1'
const sources = (['gen', 'ttf'] as const).filter(
  s => SOURCE === undefined || SOURCE === s || SOURCE === 'both',
)

describe('legacy-EH translation differential fuzzing', () => {
  const pools = createPools()
  afterAll(() => closePools(pools))

  it('the comparison notices a translation that drops the handlers (harness self-test)', async () => {
    const verdicts = await mapLimit(
      Array.from({ length: 40 }, (_, i) => i),
      2,
      seed => handlersIgnoredDiverges(seed, pools),
    )
    const ran = verdicts.filter(v => v !== null)
    expect(ran.length).toBeGreaterThan(30)
    expect(ran.filter(v => v).length).toBeGreaterThan(ran.length * 0.5)
  }, 300_000)

  it.each(sources)(
    "%s modules: ours behaves like the original and like binaryen's translation",
    async source => {
      const seeds = Number(process.env.LEGACY_EH_FUZZ_SEEDS ?? DEFAULT_SEEDS[source])
      let done = 0
      const outcomes: LegacySeedOutcome[] = await mapLimit(
        Array.from({ length: seeds }, (_, i) => FROM + i),
        4,
        async seed => {
          const o = await checkLegacySeed(seed, source, pools)
          done++
          if (PROGRESS && (o.status === 'fail' || o.status === 'error' || done % 200 === 0))
            console.log(
              `[${source} ${done}/${seeds}] seed ${seed}: ${o.status}${o.detail ? ` ${o.detail}` : ''}`,
            )
          return o
        },
      )
      const s = summarizeLegacy(outcomes)
      if (SUMMARY) writeFileSync(`${SUMMARY}.${source}.json`, `${JSON.stringify(s, null, 2)}\n`)
      console.log(
        `legacy-EH fuzz (${source}, seeds ${FROM}..${FROM + seeds - 1}): ${s.pass} pass, ${s.fail} fail, ` +
          `${s.error} error, ${s.skip} skip; original ran in ${s.originalRan}; ${s.calls} export calls, ` +
          `${s.exceptions} ended in an exception; ${s.suspensions} suspensions; ${s.translated} functions translated` +
          (s.skip ? `; skips ${JSON.stringify(s.skips)}` : ''),
      )
      expect(s.failures).toEqual([])
      expect(s.binaryenMismatches, 'binaryen disagrees with the original: harness problem?').toEqual([])
      expect(s.pass).toBeGreaterThan(seeds * 0.8)
      // The modules had legacy EH, and the runs suspended (and for 'gen' threw) enough to prove something.
      expect(s.translated).toBeGreaterThan(seeds)
      expect(s.suspensions).toBeGreaterThan(seeds)
      if (source === 'gen') {
        expect(s.originalRan).toBe(s.pass)
        expect(s.exceptions).toBeGreaterThan(s.calls * 0.1)
      }
    },
    Number(process.env.LEGACY_EH_FUZZ_TIMEOUT_MS ?? 600_000),
  )
})

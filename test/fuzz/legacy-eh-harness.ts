// Differential fuzzing of our legacy-EH translation (packages/core/src/legacy-eh.ts). Per seed, a module
// with legacy exception handling runs (asyncify-exec.ts's driver, in worker threads, under time budgets):
//   original     – as generated, under legacy EH (when V8 accepts it);
//   ours         – translated by ours alone;
//   binaryen     – translated by binaryen's translate-to-exnref (the oracle);
//   asyncified   – `asyncify(bytes)` (our translation, then instrumented; normal-state copies on even
//                  seeds, see oursOptions in asyncify-harness.ts), suspending at every import call.
// All must behave alike: per export the result or error (a wasm exception by tag and payload, a JS error
// by identity, a trap by message) and the values logged, then memory and globals. The reference is the
// original; where V8 refuses it, binaryen's translation.
//
// Two sources of modules:
//   'gen' – legacy-eh-gen.ts: legacy EH only (rethrow, delegate, try params), so the original runs;
//   'ttf' – binaryen's `wasm-opt -ttf` with exception handling, reference types and GC, without
//           `--translate-to-exnref`: legacy try/catch/catch_all next to try_table, which V8 refuses
//           untranslated, so ours is compared with binaryen's translation.
import { type AsyncifyOptions, asyncify } from '@unplugin-asyncify/core'
import { decode, decodeFunction, encode, type Instr } from '@unplugin-asyncify/wasm'
import { binaryenValidate } from '../helpers/binaryen.js'
import { translateBinaryen, translateOurs } from '../helpers/legacy-eh.js'
import type { RunRequest, RunResult } from './asyncify-exec.js'
import {
  compareRuns,
  type FuzzVariant,
  fuzzVariants,
  oursOptions,
  type Pools,
  prepareModule,
  refusal,
  seedModule,
} from './asyncify-harness.js'
import { legacyEhModule } from './legacy-eh-gen.js'

export type LegacyEhSource = 'gen' | 'ttf'

/** -ttf modules as the EH asyncify fuzz makes them, but left with their legacy try/catch. */
export const legacyTtfVariant: FuzzVariant = {
  ...fuzzVariants.eh,
  flags: fuzzVariants.eh.flags.filter(f => f !== '--translate-to-exnref'),
  cacheTag: 'legacy-eh-ttf',
  failurePrefix: 'legacy-eh-ttf-',
}

export interface LegacySeedOutcome {
  seed: number
  source: LegacyEhSource
  status: 'pass' | 'fail' | 'skip' | 'error'
  detail?: string
  /** Whether the original ran (V8 accepted it) and was the reference. */
  originalRan: boolean
  /** binaryen's translation disagreeing with the original, or failing. */
  binaryenMismatch?: string
  /** Exports whose reference run ended in an exception, and all export calls. */
  exceptions: number
  calls: number
  suspensions: number
  /** Functions with legacy exception handling that our translation rewrote. */
  translated: number
}

type PreparedModule = Exclude<ReturnType<typeof prepareModule>, { skip: string }>

/** One run of `bytes` (the prepared module or a translation of it) under the driver. */
function run(
  pools: Pools,
  prep: PreparedModule,
  bytes: Uint8Array,
  suspend: RunRequest['suspend'],
): Promise<RunResult> {
  const { params, tags, hangLimit } = prep
  return pools.exec.run({ params, tags, hangLimit, strictRewindArgs: true, bytes, suspend })
}

/** Runs one seed of `source` through the four ways; harness errors become status 'error'. */
export async function checkLegacySeed(
  seed: number,
  source: LegacyEhSource,
  pools: Pools,
): Promise<LegacySeedOutcome> {
  const out = (status: LegacySeedOutcome['status'], detail?: string): LegacySeedOutcome => ({
    seed,
    source,
    status,
    ...(detail === undefined ? {} : { detail }),
    originalRan: false,
    exceptions: 0,
    calls: 0,
    suspensions: 0,
    translated: 0,
  })
  try {
    const raw = source === 'gen' ? legacyEhModule(seed) : await seedModule(seed, pools, legacyTtfVariant)
    const prep = prepareModule(raw)
    if ('skip' in prep) return out('skip', prep.skip)
    return await compareTranslations(prep, out, pools, oursOptions(seed))
  } catch (e) {
    return out('error', `harness error: ${(e as Error)?.stack ?? String(e)}`)
  }
}

async function compareTranslations(
  prep: PreparedModule,
  out: (status: LegacySeedOutcome['status'], detail?: string) => LegacySeedOutcome,
  pools: Pools,
  /** Our options for the seed (normal-state copies on every other one, see oursOptions). */
  options: AsyncifyOptions,
): Promise<LegacySeedOutcome> {
  let ours: Uint8Array<ArrayBuffer>
  let translated: number
  try {
    ;({ binary: ours, translated } = translateOurs(prep.bytes))
  } catch (e) {
    return out('fail', `our translation threw: ${(e as Error).message}`)
  }
  if (!WebAssembly.validate(ours) || !binaryenValidate(ours, legacyTtfVariant.features))
    return out('fail', 'our translation does not validate')
  let theirs: Uint8Array | null = null
  let theirsError = ''
  try {
    theirs = translateBinaryen(prep.bytes, legacyTtfVariant.features)
  } catch (e) {
    theirsError = (e as Error).message
  }
  let asyncified: Uint8Array | null = null
  try {
    asyncified = (await asyncify(prep.bytes, options)).binary
  } catch (e) {
    // What the rewrite refuses by design (unrelated to the translation) leaves that run out.
    if (refusal(e) === null) return out('fail', `asyncify threw: ${(e as Error).message}`)
  }

  const [original, oursRun, theirsRun, asyncRun] = await Promise.all([
    run(pools, prep, prep.bytes, 'never'),
    run(pools, prep, ours, 'never'),
    theirs === null ? null : run(pools, prep, theirs, 'never'),
    asyncified === null ? null : run(pools, prep, asyncified, 'always'),
  ])
  const originalRan = original.instantiate === 'ok'
  const reference = originalRan ? original : theirsRun
  if (reference === null || reference.instantiate.startsWith('harness:'))
    return out(
      'skip',
      `no reference run: original ${original.instantiate}; binaryen: ${theirsError || 'ran'}`,
    )
  if ([reference, oursRun, theirsRun, asyncRun].some(r => r?.stackOverflow))
    return out('skip', 'the JS stack ran out (where depends on frame sizes)')
  const result = out('pass')
  result.originalRan = originalRan
  result.calls = reference.calls.length
  result.exceptions = reference.calls.filter(c => /^(wasm exception|throw:)/.test(c.outcome)).length
  result.suspensions = asyncRun?.suspensions ?? 0
  result.translated = translated
  if (originalRan)
    result.binaryenMismatch =
      theirsRun === null ? `binaryen failed: ${theirsError}` : (compareRuns(original, theirsRun) ?? undefined)
  if (result.binaryenMismatch === undefined) delete result.binaryenMismatch
  const diffs = [
    ['ours', compareRuns(reference, oursRun)],
    ['asyncified (suspending at every import)', asyncRun === null ? null : compareRuns(reference, asyncRun)],
  ].filter((d): d is [string, string] => d[1] !== null)
  if (diffs.length > 0) {
    result.status = 'fail'
    result.detail = `${originalRan ? 'vs the original' : "vs binaryen's translation"}: ${diffs.map(([w, d]) => `${w}: ${d}`).join(' | ')}`
  }
  return result
}

export interface LegacySummary {
  seeds: number
  pass: number
  fail: number
  skip: number
  error: number
  /** Passing seeds whose original ran (the reference was the untranslated module). */
  originalRan: number
  calls: number
  exceptions: number
  suspensions: number
  translated: number
  failures: { seed: number; detail: string }[]
  binaryenMismatches: { seed: number; detail: string }[]
  skips: Record<string, number>
}

export function summarizeLegacy(outcomes: readonly LegacySeedOutcome[]): LegacySummary {
  const skips: Record<string, number> = {}
  for (const o of outcomes)
    if (o.status === 'skip') {
      const why = (o.detail ?? '').replace(/[(:].*$/, '').trim()
      skips[why] = (skips[why] ?? 0) + 1
    }
  const pass = outcomes.filter(o => o.status === 'pass')
  const sum = (k: 'calls' | 'exceptions' | 'suspensions' | 'translated') =>
    outcomes.reduce((n, o) => n + o[k], 0)
  return {
    seeds: outcomes.length,
    pass: pass.length,
    fail: outcomes.filter(o => o.status === 'fail').length,
    skip: outcomes.filter(o => o.status === 'skip').length,
    error: outcomes.filter(o => o.status === 'error').length,
    originalRan: pass.filter(o => o.originalRan).length,
    calls: sum('calls'),
    exceptions: sum('exceptions'),
    suspensions: sum('suspensions'),
    translated: sum('translated'),
    failures: outcomes
      .filter(o => o.status === 'fail' || o.status === 'error')
      .map(o => ({ seed: o.seed, detail: `${o.source}: ${o.detail ?? ''}` })),
    binaryenMismatches: outcomes
      .filter(o => o.binaryenMismatch !== undefined)
      .map(o => ({ seed: o.seed, detail: `${o.source}: ${o.binaryenMismatch}` })),
    skips,
  }
}

/**
 * Harness self-test: the seed's module with every handler dropped (a legacy try becomes a block; the
 * rethrows were in the catch bodies) run against the original. Returns whether the runs differ, or null when the seed has
 * no reference run. Most seeds must differ, or the comparison could not tell a translation from none.
 */
export async function handlersIgnoredDiverges(seed: number, pools: Pools): Promise<boolean | null> {
  const prep = prepareModule(legacyEhModule(seed))
  if ('skip' in prep) return null
  const m = decode(prep.bytes, { bodies: 'lazy' })
  for (let d = 0; d < m.funcs.length; d++) {
    const f = m.funcs[d] as (typeof m.funcs)[number]
    f.body = decodeFunction(m, d)
    const lists: Instr[][] = [f.body.body]
    while (lists.length > 0) {
      for (const ins of lists.pop() as Instr[]) {
        if (ins.op.control === 'try') {
          ins.legacyCatches = undefined
          ins.delegate = undefined
        }
        if (ins.body !== undefined) lists.push(ins.body)
        if (ins.else !== undefined) lists.push(ins.else)
      }
    }
  }
  const broken = translateOurs(encode(m)).binary
  const [original, dropped] = await Promise.all([
    run(pools, prep, prep.bytes, 'never'),
    run(pools, prep, broken, 'never'),
  ])
  if (original.instantiate !== 'ok') return null
  return compareRuns(original, dropped) !== null
}

// Exception handling and references benchmark:
//
// 1. vips.wasm (legacy exception handling): our rewrite translates try/catch to try_table/exnref and
//    instruments it, with our translation and (as before legacy-eh.ts) binaryen's translate-to-exnref
//    round trip, in the same run: the ratio is checked against TRANSLATE_TARGET. binaryen.js on the same
//    input: translate-to-exnref alone, then its asyncify on the translated module (which aborts: the
//    outcome is the result), and for reference its asyncify on the untranslated legacy module.
// 2. Reference save/restore: the cost of one unwind + rewind round trip of a frame with K live externref
//    locals while H references are held by other paused stacks. The slot allocator is O(1), so the cost
//    must not grow with H.
//
// Every measurement runs in a fresh child process (eh-worker.mjs).
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
// Node 26 runs the TypeScript helper directly (type stripping): one list of corpus paths.
import { corpus } from '../helpers/corpus.ts'
import {
  formatBytes,
  formatMs,
  formatRatio,
  loadAverage,
  markdownTable,
  median,
  medianOf,
  runChild,
  sectionHeader,
} from './lib.mjs'

export const name = 'eh'
export const description =
  'vips (legacy EH): translate + asyncify vs binaryen.js; reference save/restore cost vs references held'
/** Built packages this suite imports (run.mjs builds them if dist is missing). */
export const packages = ['wasm', 'runtime', 'core']
/** The suite's inputs are fixed (it ignores --modules). */
export const inputs = 'vips + a WAT module with externref locals'

/** Live externref locals in the measured frame, and references held by other paused stacks. */
const KS = [1, 10, 100]
const HS = [0, 100, 10_000]
/** References each held stack keeps (eh-worker.mjs HOLD_REFS). */
const HOLD_REFS = 100
/** Warm-up round trips per K (count/2, twice); the timed ones are 201 short batches. */
const WARMUP_COUNT = 10_000
/** Allowed H = 10,000 / H = 0 ratio of the round-trip time (noise). */
export const GROWTH_LIMIT = 1.5
/** vips translate + instrument with our translation / with binaryen's round trip: at most this. */
export const TRANSLATE_TARGET = 0.5

const WORKER = fileURLToPath(new URL('./eh-worker.mjs', import.meta.url))

/**
 * @param {{ runs: number, log: (line: string) => void }} options
 * @returns {Promise<{ markdown: string, failed: number }>} the section's markdown; how many children failed
 */
export async function run({ runs, log }) {
  const input = corpus().find(m => m.name === 'vips')
  const loadBefore = loadAverage()
  const started = new Date()
  const results = {
    ours: [],
    oursBinaryen: [],
    translate: [],
    asyncifyTranslated: [],
    asyncifyLegacy: [],
    refs: Object.fromEntries(HS.map(h => [h, []])),
    refsBinaryen: [],
  }
  const errors = []
  const failedKeys = new Set()
  const attempt = async (key, list, args, describe) => {
    // A measurement that failed once is not retried.
    if (failedKeys.has(key)) return
    try {
      const r = await runChild(args)
      list.push(r)
      log(`[eh] ${describe(r)}`)
    } catch (error) {
      failedKeys.add(key)
      errors.push({ key, message: error.message })
      log(`[eh] ${key}: FAILED\n${error.message}`)
    }
  }
  /** binaryen's asyncify may take the whole process down: a crash is its outcome, not a failure. */
  const binaryenOutcome = async (list, args, describe) => {
    let r
    try {
      r = await runChild(args)
    } catch (error) {
      const lines = error.message.split('\n')
      r = {
        outcome: 'aborts',
        crashed: true,
        message: `process died (${lines[0]}): ${lines.slice(1).join(' / ')}`,
      }
    }
    list.push(r)
    log(`[eh] ${describe(r)}`)
  }
  const outcomeText = r =>
    r.outcome === 'ran'
      ? `ran: ${formatMs(r.totalMs)}, ${formatBytes(r.outputBytes)}${r.valid ? '' : ' (INVALID)'}`
      : `aborts${r.step ? ` in ${r.step}` : ''}: ${r.message}`

  for (let i = 1; i <= runs; i++) {
    const tag = `run ${i}/${runs}`
    await attempt(
      'ours',
      results.ours,
      ['--expose-gc', WORKER, 'ours', input.path],
      r =>
        `${tag} vips ours (translate + instrument): ${formatMs(r.totalMs)}, ${formatBytes(r.outputBytes)}` +
        `${r.valid ? '' : ' (INVALID)'}`,
    )
    await attempt(
      'ours-binaryen-translation',
      results.oursBinaryen,
      ['--expose-gc', WORKER, 'ours', input.path, 'binaryen'],
      r =>
        `${tag} vips ours with binaryen's translation (as before): ${formatMs(r.totalMs)}, ${formatBytes(r.outputBytes)}` +
        `${r.valid ? '' : ' (INVALID)'}`,
    )
    await attempt(
      'binaryen-translate',
      results.translate,
      ['--expose-gc', WORKER, 'binaryen-translate', input.path],
      r =>
        `${tag} vips binaryen translate-to-exnref: ${formatMs(r.translateMs)} ` +
        `(read + translate + emit ${formatMs(r.totalMs)})`,
    )
    await binaryenOutcome(
      results.asyncifyTranslated,
      ['--expose-gc', WORKER, 'binaryen-asyncify', input.path, 'translated'],
      r => `${tag} vips binaryen translate-to-exnref + asyncify: ${outcomeText(r)}`,
    )
    // The legacy module takes binaryen's asyncify long (many seconds): once, for reference.
    if (i === 1) {
      await binaryenOutcome(
        results.asyncifyLegacy,
        ['--expose-gc', WORKER, 'binaryen-asyncify', input.path, 'legacy'],
        r => `${tag} vips binaryen asyncify on the legacy module: ${outcomeText(r)}`,
      )
    }
    for (const h of HS) {
      await attempt(
        `refs H=${h}`,
        results.refs[h],
        [WORKER, 'refs', String(h), KS.join(','), String(WARMUP_COUNT)],
        r => `${tag} refs H=${h}: ${KS.map(k => `K=${k} ${formatUs(r.usPerRoundTrip[k])}`).join(', ')}`,
      )
    }
  }
  await binaryenOutcome(
    results.refsBinaryen,
    [WORKER, 'refs-binaryen'],
    r => `refs binaryen asyncify: ${outcomeText(r)}`,
  )
  if (results.ours.some(r => !r.valid))
    errors.push({ key: 'ours', message: 'output fails WebAssembly.validate' })
  if (results.oursBinaryen.some(r => !r.valid))
    errors.push({ key: 'ours-binaryen-translation', message: 'output fails WebAssembly.validate' })
  const loadAfter = loadAverage()
  return {
    markdown: report({ runs, input, results, errors, started, loadBefore, loadAfter }),
    failed: errors.length,
  }
}

function formatUs(us) {
  if (us === undefined) return '–'
  if (us < 1) return `${us.toFixed(3)} µs`
  if (us < 10) return `${us.toFixed(2)} µs`
  if (us < 100) return `${us.toFixed(1)} µs`
  return `${Math.round(us)} µs`
}

const ratioOf = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b)

/** Median of each phase, in the order the first result lists them; `rename` relabels phases. */
function phases(list, rename = {}, bold = []) {
  if (list.length === 0) return '–'
  return Object.keys(list[0].phases)
    .filter(k => list.some(r => r.phases[k] > 0))
    .map(k => {
      const text = `${rename[k] ?? k} ${formatMs(median(list.map(r => r.phases[k])))}`
      return bold.includes(k) ? `**${text}**` : text
    })
    .join(' · ')
}

/** One outcome for a list of binaryen runs: the (first) abort message, or the median time. */
function outcome(list) {
  if (list.length === 0) return { text: '–' }
  const aborts = list.filter(r => r.outcome !== 'ran')
  if (aborts.length > 0) {
    const r = aborts[0]
    const how = aborts.length === list.length ? 'aborts' : `aborts in ${aborts.length} of ${list.length} runs`
    return { aborted: true, text: `**${how}**${r.step ? ` (in ${r.step})` : ''}: \`${r.message}\`` }
  }
  return { aborted: false, text: 'runs' }
}

function report({ runs, input, results, errors, started, loadBefore, loadAfter }) {
  const inputBytes = statSync(input.path).size
  const features = results.translate[0]?.features ?? results.asyncifyTranslated[0]?.features ?? []
  const size = bytes => (bytes === undefined ? '–' : `${formatBytes(bytes)} (${bytes} B)`)

  const ours = results.ours
  const before = results.oursBinaryen
  const oursSize = ours[0]?.outputBytes
  const tr = results.translate
  const at = results.asyncifyTranslated
  const al = results.asyncifyLegacy
  const atOutcome = outcome(at)
  const alOutcome = outcome(al)
  const ranLegacy = al.filter(r => r.outcome === 'ran')
  const notes = []
  if (ours[0])
    notes.push(
      `${ours[0].instrumented} functions instrumented, ${ours[0].sites} call sites; ` +
        `${ours.every(r => r.valid) ? 'output validates' : '**output INVALID**'}`,
    )
  const vipsRows = [
    [
      'ours: `asyncify(bytes, { legacyExceptions: "translate" })`',
      `**${formatMs(medianOf(ours, 'totalMs'))}**`,
      phases(ours, {}, ['translate']),
      size(oursSize),
      formatRatio(ratioOf(oursSize, inputBytes)),
      notes[0] ?? '–',
    ],
    [
      "ours with binaryen's translation (the rewrite before legacy-eh.ts)",
      `**${formatMs(medianOf(before, 'totalMs'))}**`,
      phases(before, { translate: 'translate (binaryen read + translate-to-exnref + emit, decode again)' }, [
        'translate',
      ]),
      size(before[0]?.outputBytes),
      formatRatio(ratioOf(before[0]?.outputBytes, inputBytes)),
      before.length === 0 ? '–' : before.every(r => r.valid) ? 'output validates' : '**output INVALID**',
    ],
    [
      'binaryen (a): `translate-to-exnref` alone',
      `**${formatMs(medianOf(tr, 'translateMs'))}** (bytes in → out ${formatMs(medianOf(tr, 'totalMs'))})`,
      phases(tr, { translate: 'translate-to-exnref' }, ['translate']),
      size(tr[0]?.outputBytes),
      formatRatio(ratioOf(tr[0]?.outputBytes, inputBytes)),
      tr.length === 0 ? '–' : tr.every(r => r.valid) ? 'output validates' : '**output INVALID**',
    ],
    [
      'binaryen (b): `translate-to-exnref`, then `asyncify`',
      atOutcome.aborted ? '**aborts**' : `**${formatMs(medianOf(at, 'totalMs'))}**`,
      phases(at, { translate: 'translate-to-exnref', asyncify: 'asyncify (until the abort)' }),
      atOutcome.aborted ? '–' : size(at[0]?.outputBytes),
      atOutcome.aborted ? '–' : formatRatio(ratioOf(at[0]?.outputBytes, inputBytes)),
      atOutcome.text,
    ],
    [
      'binaryen (c), for reference: `asyncify` on the untranslated legacy module (1 run)',
      alOutcome.aborted ? '**aborts**' : `${formatMs(medianOf(ranLegacy, 'totalMs'))}`,
      phases(al),
      alOutcome.aborted ? '–' : size(ranLegacy[0]?.outputBytes),
      alOutcome.aborted ? '–' : formatRatio(ratioOf(ranLegacy[0]?.outputBytes, inputBytes)),
      alOutcome.aborted
        ? alOutcome.text
        : `runs (legacy try/catch kept); ${ranLegacy.every(r => r.valid) ? 'output validates' : '**output INVALID**'}`,
    ],
  ]
  const vipsTable = markdownTable(
    ['transform', 'time (median)', 'phases (median)', 'output', 'vs input', 'notes'],
    vipsRows,
  )
  const translateVerdict = translationVerdict(ours, before)

  // References: K × H.
  const rf = results.refs
  const us = (h, k) => median(rf[h].map(r => r.usPerRoundTrip[k]))
  const binaryenRefs = results.refsBinaryen[0]
  const binaryenCell =
    binaryenRefs === undefined
      ? '–'
      : binaryenRefs.outcome === 'ran'
        ? `runs (${binaryenRefs.valid ? 'valid' : 'INVALID'})`
        : 'n/a: refuses reference locals'
  const verdicts = []
  const refRows = KS.map(k => {
    const ratio = ratioOf(us(HS.at(-1), k), us(HS[0], k))
    const v = ratio === undefined ? '–' : ratio <= GROWTH_LIMIT ? '✅ pass' : '❌ fail'
    if (ratio !== undefined) verdicts.push(`K=${k} ${v.replace(/^\S+ /, '')} (${formatRatio(ratio)})`)
    const low = HS[0]
    const high = HS.at(-1)
    let range = '–'
    if (rf[low].length === rf[high].length && rf[low].length >= 2) {
      const ratios = rf[high]
        .map((r, i) => r.usPerRoundTrip[k] / rf[low][i].usPerRoundTrip[k])
        .sort((a, b) => a - b)
      range = `${formatRatio(ratios[0])} – ${formatRatio(ratios.at(-1))}`
    }
    const frame = rf[low][0]?.kFrameBytes?.[k]
    return [
      String(k),
      frame === undefined ? '–' : `${frame} B`,
      ...HS.map(h => `**${formatUs(us(h, k))}**`),
      `**${formatRatio(ratio)}**`,
      range,
      `≤ ${GROWTH_LIMIT}×`,
      v,
      binaryenCell,
    ]
  })
  const refTable = markdownTable(
    [
      'K live externrefs',
      'saved frame',
      ...HS.map(h => `H = ${h.toLocaleString('en-US')}`),
      `H = ${HS.at(-1).toLocaleString('en-US')} / H = 0`,
      'per-run range',
      'target',
      'result',
      'binaryen asyncify',
    ],
    refRows,
  )
  const holdFrame = rf[HS.at(-1)][0]?.holdFrameBytes

  const lines = [
    ...sectionHeader(
      'Exception handling and references: vips (legacy EH), reference save/restore',
      started,
      runs,
      loadBefore,
      loadAfter,
    ),
    '### vips.wasm: translate legacy exception handling, then asyncify',
    '',
    `Input: \`wasm-vips\` lib/vips.wasm (${formatBytes(inputBytes)}; emscripten, C/C++ with legacy`,
    'exception handling (try/catch/rethrow) and pthreads); every import may suspend (the default of both).',
    'Each measurement is a fresh `node` process (test/bench/eh-worker.mjs); libraries are loaded and the',
    'input read before the clock starts; times are bytes in to bytes out, cold, single shot. Ours:',
    "`asyncify(bytes, { legacyExceptions: 'translate' })` from packages/core/dist (optimize 0): decode,",
    'translate the legacy try/catch/rethrow/delegate to try_table/throw_ref in the decoded IR',
    "(packages/core/src/legacy-eh.ts; the report's `translate` phase), analyze, instrument, encode. The",
    "same with binaryen's translation, as the rewrite did before (the internal `asyncifyWith` with",
    '`translateWithBinaryen`: binaryen `readBinary`, `translate-to-exnref`, `emitBinary`, decode again,',
    'all in `translate`), measured in the same run, in alternation. binaryen.js: `readBinary` and',
    `\`setFeatures\` with only the features the module declares in its target_features section (${features.map(f => `\`${f}\``).join(', ') || '–'}),`,
    'then the passes, `emitBinary`; asyncify at optimize level 0, shrink level 0 (as ours: no optimization).',
    "binaryen's aborts are thrown into JS as exceptions, so the worker survives them and reports the message",
    'binaryen printed (a process that dies anyway is reported the same way).',
    '',
    vipsTable,
    '',
    translateVerdict,
    '',
    '### Reference save/restore: unwind + rewind round trip vs references held by other paused stacks',
    '',
    'A WAT module (in eh-worker.mjs; compiled with binaryen `parseText`, features',
    '`Features.All & ~((1 << 26) | (1 << 21))`, checked with `WebAssembly.validate`) instrumented by ours',
    `(optimize 0). Export \`kK(e)\` sets K externref locals from its parameter, calls the sleeping import,`,
    'then returns how many are non-null (checked: K). Our rewrite saves exactly the K references (report',
    'checked), each to a slot of its module-internal tables, the frame storing the slot index. Before the',
    `clock, H references are held: H / ${HOLD_REFS} calls of \`hold\` (${HOLD_REFS} live externref locals${holdFrame === undefined ? '' : `, a ${holdFrame}-byte frame`}) are left suspended,`,
    'in flight through `@unplugin-asyncify/runtime`, each with its own buffer in memory; at the end each is',
    `resumed and must see its ${HOLD_REFS} references. One round trip: \`await kK(e)\` through the runtime,`,
    'the import returning an already resolved promise (an unwind, an await, a rewind), result checked.',
    `Per K: ${WARMUP_COUNT / 2} warm-up round trips, a 200 ms pause (V8's background tier-up),`,
    `${WARMUP_COUNT / 2} more, then 201 timed batches of about 0.5 ms each; the median batch's time per round`,
    'trip is the process\'s figure. One process per H (measuring every K), rounds interleaved; "per-run',
    `range" is the lowest and highest H = ${HS.at(-1).toLocaleString('en-US')} / H = 0 ratio within one round.`,
    'The requirement: the cost does not grow with H (slot allocation and release are O(1) free-list',
    `operations, no table scan per save); pass if H = ${HS.at(-1).toLocaleString('en-US')} is at most ${GROWTH_LIMIT}× H = 0 (noise).`,
    '',
    refTable,
    '',
    `Result: ${verdicts.join(', ') || '–'}.`,
  ]
  if (binaryenRefs !== undefined && binaryenRefs.outcome !== 'ran')
    lines.push(
      '',
      "binaryen's asyncify on the same module (its round trip cannot be measured): " +
        `${binaryenRefs.crashed ? 'the process died' : 'aborts'}: \`${binaryenRefs.message}\`.`,
    )
  if (errors.length > 0) {
    lines.push('', '### Failures', '')
    for (const e of errors) lines.push(`- ${e.key}: ${e.message.split('\n')[0]}`)
  }
  return lines.join('\n')
}

/**
 * Our translation vs binaryen's, whole asyncify run (bytes in to bytes out) and the translate +
 * instrument phases alone; medians, and the range of the ratio over runs (the i-th of each).
 */
function translationVerdict(ours, before) {
  if (ours.length === 0 || before.length === 0) return 'Translation target: not measured.'
  const total = ratioOf(medianOf(ours, 'totalMs'), medianOf(before, 'totalMs'))
  const tiOf = r => r.phases.translate + r.phases.instrument
  const ti = ratioOf(median(ours.map(tiOf)), median(before.map(tiOf)))
  const pairs = ours
    .slice(0, before.length)
    .map((r, i) => r.totalMs / before[i].totalMs)
    .sort((a, b) => a - b)
  const verdict = total !== undefined && total <= TRANSLATE_TARGET ? '✅ pass' : '❌ fail'
  return (
    `Translation target (vips translate + instrument, ours ≤ ${TRANSLATE_TARGET}× the time with binaryen's ` +
    `translation): whole run **${formatRatio(total)}** (per-run range ${formatRatio(pairs[0])} – ` +
    `${formatRatio(pairs.at(-1))}) ${verdict}; translate + instrument phases alone **${formatRatio(ti)}**; ` +
    `translate phase ${formatMs(median(ours.map(r => r.phases.translate)))} vs ` +
    `${formatMs(median(before.map(r => r.phases.translate)))}.`
  )
}

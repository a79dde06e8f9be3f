// Codec benchmark: our decode/encode against binaryen.js, and our lazy round trip against a memcpy.
// Every measurement runs in a fresh child process (codec-worker.mjs) so heaps do not interfere; the
// side-by-side op then puts both libraries in one process on purpose, as the protocol asks.
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
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

export const name = 'codec'
export const description =
  'eager decode+encode vs binaryen.js readBinary+emitBinary, cold and side by side in one process; lazy round trip vs memcpy'

/** The target: our eager decode + encode takes at most this fraction of binaryen's time. */
export const TARGET_RATIO = 0.25

/**
 * Rounds of the side-by-side op: round 1 is the cold one, rounds 2..R the steady state. Four steady rounds
 * give a median and a range while keeping swc (about 14 s a round cold) under a couple of minutes.
 */
export const SIDE_BY_SIDE_ROUNDS = 5

const WORKER = fileURLToPath(new URL('./codec-worker.mjs', import.meta.url))

// Interleaved within each run (rather than all runs of one op in a row) so drifting machine load
// affects every op alike.
const OPS = [
  'baseline-plain',
  'memcpy',
  'baseline-ours',
  'ours-eager',
  'ours-lazy',
  'baseline-binaryen',
  'binaryen',
]

/**
 * The same-process op, run once per module per bench run after the cold ops (same interleaving). Kept out
 * of OPS: its result holds per-round arrays rather than one timing, and it has no baseline.
 */
const SIDE_BY_SIDE = 'side-by-side'

/** Which baseline child a measured op's peak RSS is compared against. */
const BASELINE = {
  'ours-eager': 'baseline-ours',
  'ours-lazy': 'baseline-ours',
  binaryen: 'baseline-binaryen',
  memcpy: 'baseline-plain',
}

/**
 * @param {{ runs: number, modules: { name: string, path: string }[], log: (line: string) => void }} options
 * @returns {Promise<{ markdown: string, failed: number }>} the section's markdown; how many children failed
 */
export async function run({ runs, modules, log }) {
  const loadBefore = loadAverage()
  const started = new Date()
  /** results[module][op] = child results; errors = messages. */
  const results = Object.fromEntries(
    modules.map(m => [m.name, Object.fromEntries([...OPS, SIDE_BY_SIDE].map(op => [op, []]))]),
  )
  const errors = []
  for (let i = 1; i <= runs; i++) {
    for (const module of modules) {
      for (const op of [...OPS, SIDE_BY_SIDE]) {
        // An op that failed once is not retried (binaryen on a huge module failing takes a while).
        if (errors.some(e => e.module === module.name && e.op === op)) continue
        try {
          const args = ['--expose-gc', WORKER, op, module.path]
          if (op === SIDE_BY_SIDE) args.push(String(SIDE_BY_SIDE_ROUNDS))
          const r = await runChild(args)
          results[module.name][op].push(r)
          const what =
            op === SIDE_BY_SIDE
              ? ` ${sideBySideLog(r)};`
              : r.totalMs === undefined
                ? ''
                : ` ${formatMs(r.totalMs)},`
          log(`[codec] run ${i}/${runs} ${module.name} ${op}:${what} maxRSS ${formatBytes(r.maxRSS)}`)
        } catch (error) {
          errors.push({ module: module.name, op, message: error.message })
          log(`[codec] run ${i}/${runs} ${module.name} ${op}: FAILED\n${error.message}`)
        }
      }
    }
  }
  const loadAfter = loadAverage()
  return {
    markdown: report({ runs, modules, results, errors, started, loadBefore, loadAfter }),
    failed: errors.length,
  }
}

/**
 * One side-by-side process reduced to the figures the table shows: round 1 (cold) and the medians of
 * rounds 2..R (steady state), each ratio taken within the process so both libraries saw the same load.
 */
function sideBySideFigures(r) {
  const ours = r.ours.totalMs
  const bin = r.binaryen.totalMs
  const ratios = ours.map((t, i) => t / bin[i])
  const steadyOurs = median(ours.slice(1))
  const steadyBin = median(bin.slice(1))
  const steadyRatios = ratios.slice(1)
  return {
    rounds: r.rounds,
    coldOurs: ours[0],
    coldBinaryen: bin[0],
    coldRatio: ratios[0],
    steadyOurs,
    steadyBinaryen: steadyBin,
    steadyRatio: steadyOurs === undefined || steadyBin === undefined ? undefined : steadyOurs / steadyBin,
    steadyMinRatio: steadyRatios.length === 0 ? undefined : Math.min(...steadyRatios),
    steadyMaxRatio: steadyRatios.length === 0 ? undefined : Math.max(...steadyRatios),
    identical: r.identical,
  }
}

/** Progress line for one side-by-side process: round 1 → steady state, for both libraries. */
function sideBySideLog(r) {
  const f = sideBySideFigures(r)
  return (
    `ours ${formatMs(f.coldOurs)} → ${formatMs(f.steadyOurs)}, binaryen ${formatMs(f.coldBinaryen)} → ` +
    `${formatMs(f.steadyBinaryen)} (round 1 → median of 2..${f.rounds}), ratio ${formatRatio(f.steadyRatio, 3)}`
  )
}

/**
 * Why an eager round trip may differ from its input: it writes every LEB inside the bodies in its
 * shortest form. Go's linker pads call targets there (and every size field, which both round trips
 * keep), so its eager output is smaller while the lazy one stays identical.
 */
function eagerDiffersNote(modules, stats) {
  const differs = modules.filter(m => stats[m.name]['ours-eager'].identical === false).map(m => m.name)
  if (differs.length === 0) return []
  const lazyDiffers = differs.filter(name => !stats[name]['ours-lazy'].identical)
  const except = lazyDiffers.length === 0 ? '' : ` except on ${lazyDiffers.join(', ')}`
  return [
    `The eager output differs from the input on ${differs.join(', ')}: an eager round trip writes every LEB in`,
    "the bodies in its shortest form, and Go's linker pads call targets there. Size fields keep their width",
    `in both round trips; the lazy output is identical${except} (last table).`,
    '',
  ]
}

function report({ runs, modules, results, errors, started, loadBefore, loadAfter }) {
  const stats = {}
  for (const module of modules) {
    const r = results[module.name]
    const s = {}
    for (const op of OPS) {
      s[op] = {
        decodeMs: medianOf(r[op], 'decodeMs'),
        encodeMs: medianOf(r[op], 'encodeMs'),
        totalMs: medianOf(r[op], 'totalMs'),
        maxRSS: medianOf(r[op], 'maxRSS'),
        outputBytes: r[op][0]?.outputBytes,
        identical: r[op].length === 0 ? undefined : r[op].every(x => x.identical),
      }
    }
    for (const [op, baseline] of Object.entries(BASELINE)) {
      const raw = s[op].maxRSS
      const base = s[baseline].maxRSS
      s[op].deltaRSS = raw === undefined || base === undefined ? undefined : raw - base
    }
    stats[module.name] = s
  }

  const size = module => formatBytes(statSync(module.path).size)
  const rssCell = st =>
    st.maxRSS === undefined ? '–' : `${formatBytes(st.maxRSS)} (Δ ${formatBytes(st.deltaRSS)})`
  const outputCell = st => {
    if (st.identical === undefined) return '–'
    return st.identical ? 'identical' : `differs (${st.outputBytes} B)`
  }
  const ratioOf = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b)

  const coldRatios = []
  const eagerRows = modules.map(module => {
    const s = stats[module.name]
    const ours = s['ours-eager']
    const bin = s.binaryen
    const ratio = ratioOf(ours.totalMs, bin.totalMs)
    // Ratios of the ours/binaryen pair from the same run (adjacent processes, similar machine load).
    const runsOurs = results[module.name]['ours-eager']
    const runsBin = results[module.name].binaryen
    const perRun =
      runsOurs.length === runsBin.length ? runsOurs.map((r, i) => r.totalMs / runsBin[i].totalMs) : []
    perRun.sort((a, b) => a - b)
    const verdict = ratio === undefined ? '–' : ratio <= TARGET_RATIO ? '✅ pass' : '❌ fail'
    if (ratio !== undefined) coldRatios.push(`${module.name} ${formatRatio(ratio, 3)}`)
    return [
      module.name,
      size(module),
      formatMs(ours.decodeMs),
      formatMs(ours.encodeMs),
      `**${formatMs(ours.totalMs)}**`,
      formatMs(bin.decodeMs),
      formatMs(bin.encodeMs),
      `**${formatMs(bin.totalMs)}**`,
      `**${formatRatio(ratio, 3)}**`,
      perRun.length > 1 ? `${formatRatio(perRun[0], 3)} – ${formatRatio(perRun.at(-1), 3)}` : '–',
      verdict,
      outputCell(ours),
    ]
  })
  const eagerTable = markdownTable(
    [
      'module',
      'size',
      'ours decode',
      'ours encode',
      'ours total',
      'binaryen read',
      'binaryen emit',
      'binaryen total',
      'ours / binaryen',
      'per-run range',
      `target ≤ ${TARGET_RATIO}×`,
      'ours output vs input',
    ],
    eagerRows,
  )

  // Pooled across bench runs: each per-process figure's median over the runs (so a pooled ratio is the
  // median of per-process ratios, not the quotient of the pooled times).
  const verdicts = []
  const differs = []
  const sideRows = modules.map(module => {
    const perRun = results[module.name][SIDE_BY_SIDE].map(sideBySideFigures)
    const f = field => median(perRun.map(p => p[field]))
    const steadyRatio = f('steadyRatio')
    const verdict = steadyRatio === undefined ? '–' : steadyRatio <= TARGET_RATIO ? '✅ pass' : '❌ fail'
    if (steadyRatio !== undefined)
      verdicts.push(`${module.name} ${verdict.replace(/^\S+ /, '')} (${formatRatio(steadyRatio, 3)})`)
    if (perRun.some(p => !p.identical)) differs.push(module.name)
    const low = f('steadyMinRatio')
    const high = f('steadyMaxRatio')
    return [
      module.name,
      perRun.length === 0 ? '–' : String(perRun[0].rounds),
      formatMs(f('coldOurs')),
      formatMs(f('coldBinaryen')),
      formatRatio(f('coldRatio'), 3),
      formatMs(f('steadyOurs')),
      formatMs(f('steadyBinaryen')),
      `**${formatRatio(steadyRatio, 3)}**`,
      low === undefined ? '–' : `${formatRatio(low, 3)} – ${formatRatio(high, 3)}`,
      verdict,
    ]
  })
  const sideTable = markdownTable(
    [
      'module',
      'rounds',
      'ours round 1 (cold)',
      'binaryen round 1',
      'ours / binaryen round 1',
      'ours median 2..R',
      'binaryen median 2..R',
      'ours / binaryen 2..R',
      'per-round range 2..R',
      `target ≤ ${TARGET_RATIO}×`,
    ],
    sideRows,
  )

  const memoryRows = modules.map(module => {
    const s = stats[module.name]
    return [
      module.name,
      rssCell(s['ours-eager']),
      rssCell(s.binaryen),
      formatRatio(ratioOf(s['ours-eager'].deltaRSS, s.binaryen.deltaRSS)),
      rssCell(s['ours-lazy']),
      rssCell(s.memcpy),
      [s['baseline-ours'], s['baseline-binaryen'], s['baseline-plain']]
        .map(b => formatBytes(b.maxRSS))
        .join(' / '),
    ]
  })
  const memoryTable = markdownTable(
    [
      'module',
      'ours eager',
      'binaryen',
      'ours Δ / binaryen Δ',
      'ours lazy',
      'memcpy',
      'baselines: ours / binaryen / plain',
    ],
    memoryRows,
  )

  const lazyRows = modules.map(module => {
    const s = stats[module.name]
    const lazy = s['ours-lazy']
    return [
      module.name,
      size(module),
      formatMs(lazy.decodeMs),
      formatMs(lazy.encodeMs),
      `**${formatMs(lazy.totalMs)}**`,
      `**${formatMs(s.memcpy.totalMs)}**`,
      formatRatio(ratioOf(lazy.totalMs, s.memcpy.totalMs)),
      outputCell(lazy),
      formatBytes(lazy.deltaRSS),
    ]
  })
  const lazyTable = markdownTable(
    [
      'module',
      'size',
      'lazy decode',
      'encode',
      'lazy total',
      '`Uint8Array.slice()`',
      'lazy / slice',
      'output vs input',
      'peak RSS Δ',
    ],
    lazyRows,
  )

  const lines = [
    ...sectionHeader('Codec: decode + encode vs binaryen.js', started, runs, loadBefore, loadAfter),
    'Except for the side-by-side table, each measurement is one operation in a fresh `node` process',
    '(test/bench/codec-worker.mjs): libraries are loaded and the file is read before the clock starts, so',
    'times are cold single-shot times including JIT warm-up, as in a bundler build. Peak memory is',
    '`process.resourceUsage().maxRSS` at the end of that process; Δ subtracts a baseline process that loads',
    'the same library and reads the file. Each column is an independent median, so a total need not equal',
    'decode + encode. binaryen reads with `Features.All`. "ours / binaryen" divides the median totals;',
    '"per-run range" is the lowest and highest ratio of an ours process and the binaryen process measured in',
    'the same round (rounds interleave every measurement).',
    '',
    '### Eager decode + encode vs binaryen.js `readBinary` + `emitBinary`',
    '',
    eagerTable,
    '',
    ...eagerDiffersNote(modules, stats),
    "### Same process, side by side (the issue's protocol)",
    '',
    'One `node` process per module and bench run (`codec-worker.mjs side-by-side`) loads both libraries and',
    `reads the file, then runs ${SIDE_BY_SIDE_ROUNDS} rounds; each round times one binaryen \`readBinary\` + \`emitBinary\` and`,
    "one of our `decode(bytes, { bodies: 'eager' })` + `encode`, ours first in odd rounds and binaryen first",
    'in even ones, with a GC before every timed op. Round 1 is cold for both libraries: ours includes the JIT',
    "warm-up of our JS code, binaryen V8's lazy compilation and tier-up of the binaryen.js wasm functions it",
    'reaches (V8 compiles wasm lazily too). Rounds 2..R are the steady state a dev server or watch build sees',
    'when it re-transforms; the cold single-shot table above remains the figure for a one-off build. Ratios',
    'are taken within a process (both libraries under the same load); with several bench runs every cell is',
    'the median over runs of that per-process figure. Peak memory cannot be split between two libraries in',
    'one process: see the peak RSS table below (separate processes).',
    '',
    sideTable,
    '',
    `Target: our eager decode + encode takes ≤ ${TARGET_RATIO}× binaryen's read + emit time, judged on the`,
    `same-process steady state (ours / binaryen of the medians of rounds 2..${SIDE_BY_SIDE_ROUNDS}): ${verdicts.join(', ') || '–'}.`,
    `Cold single-shot ratios (fresh processes, first table), reported alongside: ${coldRatios.join(', ') || '–'}.`,
    ...(differs.length > 0
      ? [`Our side-by-side output differed from the input on ${differs.join(', ')}.`]
      : []),
    '',
    '### Peak RSS (raw, and Δ over the baseline)',
    '',
    memoryTable,
    '',
    '### Lazy decode + encode (bodies copied verbatim) vs a plain memory copy',
    '',
    lazyTable,
  ]
  if (errors.length > 0) {
    lines.push('', '### Failures', '')
    for (const e of errors) lines.push(`- ${e.module} ${e.op}: ${e.message.split('\n')[0]}`)
  }
  return lines.join('\n')
}

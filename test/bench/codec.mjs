// Codec benchmark: our decode/encode against binaryen.js, and our lazy round trip against a memcpy.
// Every measurement runs in a fresh child process (codec-worker.mjs) so heaps do not interfere.
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  formatBytes,
  formatMs,
  formatRatio,
  loadAverage,
  markdownTable,
  medianOf,
  runChild,
  sectionHeader,
} from './lib.mjs'

export const name = 'codec'
export const description =
  'eager decode+encode vs binaryen.js readBinary+emitBinary; lazy round trip vs memcpy'

/** The target: our eager decode + encode takes at most this fraction of binaryen's time. */
export const TARGET_RATIO = 0.25

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
  const results = Object.fromEntries(modules.map(m => [m.name, Object.fromEntries(OPS.map(op => [op, []]))]))
  const errors = []
  for (let i = 1; i <= runs; i++) {
    for (const module of modules) {
      for (const op of OPS) {
        // An op that failed once is not retried (binaryen on a huge module failing takes a while).
        if (errors.some(e => e.module === module.name && e.op === op)) continue
        try {
          const r = await runChild(['--expose-gc', WORKER, op, module.path])
          results[module.name][op].push(r)
          const what = r.totalMs === undefined ? '' : ` ${formatMs(r.totalMs)},`
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

  const verdicts = []
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
    if (ratio !== undefined)
      verdicts.push(`${module.name} ${verdict.replace(/^\S+ /, '')} (${formatRatio(ratio, 3)})`)
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
    'Each measurement is one operation in a fresh `node` process (test/bench/codec-worker.mjs): libraries are',
    'loaded and the file is read before the clock starts, so times are cold single-shot times including JIT',
    'warm-up, as in a bundler build. Peak memory is `process.resourceUsage().maxRSS` at the end of that',
    'process; Δ subtracts a baseline process that loads the same library and reads the file. Each column is',
    'an independent median, so a total need not equal decode + encode. binaryen reads with `Features.All`.',
    '"ours / binaryen" divides the median totals; "per-run range" is the lowest and highest ratio of an ours',
    'process and the binaryen process measured in the same round (rounds interleave every measurement).',
    '',
    '### Eager decode + encode vs binaryen.js `readBinary` + `emitBinary`',
    '',
    eagerTable,
    '',
    `Target: our eager decode + encode takes ≤ ${TARGET_RATIO}× binaryen's read + emit time. ${verdicts.join(', ')}.`,
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

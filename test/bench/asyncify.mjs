// Asyncify benchmark on QuickJS: our rewrite (packages/core) against binaryen.js's asyncify pass, for
// transform time, output size, speed of the instrumented module when nothing suspends, and the cost of an
// unwind + rewind round trip through the runtime. Every measurement runs in a fresh child process
// (asyncify-worker.mjs).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
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

export const name = 'asyncify'
export const description =
  'QuickJS: asyncify time and output size vs binaryen.js asyncify, normal-path speed, unwind+rewind cost'
/** Built packages this suite imports (run.mjs builds them if dist is missing). */
export const packages = ['wasm', 'runtime', 'core']
/** The suite's input is fixed (it ignores --modules). */
export const inputs = 'quickjs'

/** Targets: transform time ours / binaryen per level; output size ours / binaryen -O1. */
export const TIME_TARGETS = { 0: 0.2, 1: 1.0 }
export const SIZE_TARGETS = { 0: 1.0, 1: 0.9 }

/** Round-trip depths and timed round trips per depth. */
const DEPTHS = [1, 10, 100]
const ROUND_TRIPS = 10_000

const WORKER = fileURLToPath(new URL('./asyncify-worker.mjs', import.meta.url))

const TRANSFORMS = [
  { key: 'ours-O0', impl: 'ours', level: 0 },
  { key: 'binaryen-O0', impl: 'binaryen', level: 0 },
  { key: 'ours-O1', impl: 'ours', level: 1 },
  { key: 'binaryen-O1', impl: 'binaryen', level: 1 },
]
/** Modules whose normal path is measured: the input, and the -O1 outputs. */
const NORMAL = ['original', 'ours-O1', 'binaryen-O1']
const ROUNDTRIPS = [
  { key: 'plain', impl: 'plain', level: 0 },
  { key: 'ours-O0', impl: 'ours', level: 0 },
  { key: 'binaryen-O0', impl: 'binaryen', level: 0 },
  { key: 'ours-O1', impl: 'ours', level: 1 },
  { key: 'binaryen-O1', impl: 'binaryen', level: 1 },
]

/**
 * @param {{ runs: number, log: (line: string) => void }} options
 * @returns {Promise<{ markdown: string, failed: number }>} the section's markdown; how many children failed
 */
export async function run({ runs, log }) {
  const input = corpus().find(m => m.name === 'quickjs')
  const loadBefore = loadAverage()
  const started = new Date()
  const dir = mkdtempSync(join(os.tmpdir(), 'asyncify-bench-'))
  const output = key => join(dir, `${key}.wasm`)
  const results = {
    transform: Object.fromEntries(TRANSFORMS.map(t => [t.key, []])),
    normal: Object.fromEntries(NORMAL.map(k => [k, []])),
    roundtrip: Object.fromEntries(ROUNDTRIPS.map(r => [r.key, []])),
  }
  const errors = []
  const failed = (group, key) => errors.some(e => e.group === group && e.key === key)
  const attempt = async (group, key, args, describe) => {
    // A measurement that failed once is not retried.
    if (failed(group, key)) return
    try {
      const r = await runChild(args)
      results[group][key].push(r)
      log(`[asyncify] ${describe(r)}`)
    } catch (error) {
      errors.push({ group, key, message: error.message })
      log(`[asyncify] ${group} ${key}: FAILED\n${error.message}`)
    }
  }
  try {
    for (let i = 1; i <= runs; i++) {
      const tag = `run ${i}/${runs}`
      for (const t of TRANSFORMS) {
        await attempt(
          'transform',
          t.key,
          ['--expose-gc', WORKER, 'transform', t.impl, String(t.level), input.path, output(t.key)],
          r =>
            `${tag} transform ${t.key}: ${formatMs(r.totalMs)}, ${formatBytes(r.outputBytes)}` +
            `${r.valid ? '' : ' (INVALID)'}`,
        )
      }
      for (const key of NORMAL) {
        // Needs the transform's output (written by any successful run).
        if (key !== 'original' && results.transform[key].length === 0) continue
        const file = key === 'original' ? input.path : output(key)
        await attempt(
          'normal',
          key,
          [WORKER, 'normal', file],
          r => `${tag} normal path ${key}: ${formatMs(r.totalMs)} (result ${r.result})`,
        )
      }
      for (const rt of ROUNDTRIPS) {
        await attempt(
          'roundtrip',
          rt.key,
          [WORKER, 'roundtrip', rt.impl, String(rt.level), DEPTHS.join(','), String(ROUND_TRIPS)],
          r =>
            `${tag} round trip ${rt.key}: ${DEPTHS.map(d => `depth ${d} ${formatUs(r.usPerRoundTrip[d])}`).join(', ')}`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  // The instrumented modules must compute what the original does.
  const want = results.normal.original[0]?.result
  for (const key of NORMAL) {
    const wrong = results.normal[key].find(r => r.result !== want)
    if (want !== undefined && wrong)
      errors.push({ group: 'normal', key, message: `result ${wrong.result}, the original's is ${want}` })
  }
  for (const t of TRANSFORMS) {
    if (results.transform[t.key].some(r => !r.valid))
      errors.push({ group: 'transform', key: t.key, message: 'output fails WebAssembly.validate' })
  }
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
const verdict = (ratio, target) => (ratio === undefined ? '–' : ratio <= target ? '✅ pass' : '❌ fail')
const levelName = level => `-O${level}`

/** Lowest and highest ratio of the runs measured in the same round. */
function perRunRange(as, bs, field, digits) {
  if (as.length !== bs.length || as.length < 2) return '–'
  const ratios = as.map((a, i) => a[field] / bs[i][field]).sort((x, y) => x - y)
  return `${formatRatio(ratios[0], digits)} – ${formatRatio(ratios.at(-1), digits)}`
}

/** Median of each phase, in the order the first result lists them. */
export function phases(list) {
  if (list.length === 0) return '–'
  return Object.keys(list[0].phases)
    .filter(k => list.some(r => r.phases[k] > 0))
    .map(k => `${k} ${formatMs(median(list.map(r => r.phases[k])))}`)
    .join(' · ')
}

function report({ runs, input, results, errors, started, loadBefore, loadAfter }) {
  const inputBytes = statSync(input.path).size
  const tr = results.transform
  const verdicts = []

  const timeRows = [0, 1].map(level => {
    const ours = tr[`ours-O${level}`]
    const bin = tr[`binaryen-O${level}`]
    const ratio = ratioOf(medianOf(ours, 'totalMs'), medianOf(bin, 'totalMs'))
    const v = verdict(ratio, TIME_TARGETS[level])
    if (ratio !== undefined)
      verdicts.push(`time ${levelName(level)} ${v.replace(/^\S+ /, '')} (${formatRatio(ratio, 3)})`)
    return [
      `${levelName(level)}`,
      `**${formatMs(medianOf(ours, 'totalMs'))}**`,
      phases(ours),
      `**${formatMs(medianOf(bin, 'totalMs'))}**`,
      phases(bin),
      `**${formatRatio(ratio, 3)}**`,
      perRunRange(ours, bin, 'totalMs', 3),
      `≤ ${TIME_TARGETS[level]}×`,
      v,
    ]
  })
  const timeTable = markdownTable(
    [
      'level',
      'ours',
      'ours phases',
      'binaryen',
      'binaryen phases',
      'ours / binaryen',
      'per-run range',
      'target',
      'result',
    ],
    timeRows,
  )

  const size = key => tr[key][0]?.outputBytes
  const binO1 = size('binaryen-O1')
  const sizeRows = [
    ['input', inputBytes, undefined],
    ['binaryen -O0', size('binaryen-O0'), undefined],
    ['binaryen -O1', binO1, undefined],
    ['ours, optimize 0', size('ours-O0'), 0],
    ['ours, optimize 1', size('ours-O1'), 1],
  ].map(([label, bytes, level]) => {
    const vsBin = ratioOf(bytes, binO1)
    let target = ''
    let v = ''
    if (level !== undefined) {
      target = `≤ ${SIZE_TARGETS[level]}× binaryen -O1`
      v = verdict(vsBin, SIZE_TARGETS[level])
      if (vsBin !== undefined)
        verdicts.push(`size ${levelName(level)} ${v.replace(/^\S+ /, '')} (${formatRatio(vsBin)})`)
    }
    return [
      label,
      bytes === undefined ? '–' : `${formatBytes(bytes)} (${bytes} B)`,
      formatRatio(ratioOf(bytes, inputBytes)),
      formatRatio(vsBin),
      target,
      v,
    ]
  })
  const sizeTable = markdownTable(
    ['module', 'size', 'vs input', 'vs binaryen -O1', 'target', 'result'],
    sizeRows,
  )

  const nr = results.normal
  const original = medianOf(nr.original, 'totalMs')
  const normalLabel = { original: 'original', 'ours-O1': 'ours, optimize 1', 'binaryen-O1': 'binaryen -O1' }
  const normalRows = NORMAL.map(key => [
    normalLabel[key],
    `**${formatMs(medianOf(nr[key], 'totalMs'))}**`,
    key === 'original' ? '1.00×' : `**${formatRatio(ratioOf(medianOf(nr[key], 'totalMs'), original))}**`,
    key === 'original' ? '–' : perRunRange(nr[key], nr.original, 'totalMs'),
    formatMs(medianOf(nr[key], 'warmupMs')),
  ])
  const normalTable = markdownTable(
    ['module', '`bench(1)`', 'vs original', 'per-run range', 'warm-up `bench(0.1)`'],
    normalRows,
  )

  const rt = results.roundtrip
  const us = (key, depth) => median(rt[key].map(r => r.usPerRoundTrip[depth]))
  const rtRows = DEPTHS.map(depth => [
    String(depth),
    formatUs(us('plain', depth)),
    ...[0, 1].flatMap(level => [
      formatUs(us(`ours-O${level}`, depth)),
      formatUs(us(`binaryen-O${level}`, depth)),
      `**${formatRatio(ratioOf(us(`ours-O${level}`, depth), us(`binaryen-O${level}`, depth)))}**`,
    ]),
  ])
  const rtTable = markdownTable(
    [
      'depth',
      'plain call, no asyncify',
      'ours -O0',
      'binaryen -O0',
      'ours / binaryen -O0',
      'ours -O1',
      'binaryen -O1',
      'ours / binaryen -O1',
    ],
    rtRows,
  )

  const lines = [
    ...sectionHeader(
      'Asyncify: our rewrite vs binaryen.js `asyncify` on QuickJS',
      started,
      runs,
      loadBefore,
      loadAfter,
    ),
    `Input: QuickJS (\`@jitl/quickjs-wasmfile-release-sync\` emscripten-module.wasm, ${formatBytes(inputBytes)}), every`,
    'import may suspend (the default of both). Each measurement is a fresh `node` process',
    '(test/bench/asyncify-worker.mjs); rounds interleave every measurement, "per-run range" is the lowest and',
    'highest ratio within one round. Ours: `asyncify(bytes, { optimize })` from packages/core/dist, which',
    'with optimize 1 runs binaryen `-O1` over the whole output. binaryen: `readBinary`, `setFeatures(MVP |',
    'MutableGlobals | BulkMemory | BulkMemoryOpt | SignExt | NontrappingFPToInt)`, `setOptimizeLevel(n)`,',
    "`setShrinkLevel(0)`, `runPasses(['asyncify'])`, `emitBinary` (at -O1 the pass optimizes the functions it",
    'instruments). Libraries are loaded and the input read before the clock starts; times are bytes in to',
    'bytes out, cold, single shot.',
    '',
    '### Transform time',
    '',
    timeTable,
    '',
    '### Output size',
    '',
    sizeTable,
    '',
    '### Normal path: the instrumented module when nothing suspends',
    '',
    'QuickJS evaluates a compute-heavy script (primes by trial division, recursive fib, sorting objects,',
    "string keys; test/bench/quickjs-workload.mjs) through the package's own emscripten glue, given each",
    'binary as `wasmBinary`. The time is `bench(1)` after a `bench(0.1)` warm-up in the same process (so',
    'V8 has compiled and tiered up what it runs). The -O1 outputs are compared: that is what a build ships.',
    '',
    normalTable,
    '',
    '### Unwind + rewind round trip',
    '',
    'A small module (in asyncify-worker.mjs) whose export recurses to the given depth of wasm frames, each',
    'with three locals (i32, i64, f64) live across the call, the innermost calling a sleeping import. One',
    'round trip: `await exports.run(depth)` through `@unplugin-asyncify/runtime` in asyncify mode, the',
    'import returning an already resolved promise: the unwind, an await, the rewind (both binaries are',
    "driven the same way; binaryen's has no metadata section, so every import and export may suspend),",
    `result checked. ${ROUND_TRIPS} round trips per depth after ${ROUND_TRIPS / 2} warm-up ones, in 5 batches (median batch);`,
    '"plain call" is one synchronous call of the uninstrumented module, for scale. The runtime suite below',
    'compares the round trip with JSPI.',
    '',
    rtTable,
    '',
    `Targets: ${verdicts.join(', ') || '–'}. Time: ours -O0 ≤ ${TIME_TARGETS[0]}× binaryen -O0, ours -O1 ≤ ${TIME_TARGETS[1]}× binaryen -O1; size (vs binaryen -O1): ours without optimization ≤ ${SIZE_TARGETS[0]}×, ours -O1 ≤ ${SIZE_TARGETS[1]}×.`,
  ]
  if (errors.length > 0) {
    lines.push('', '### Failures', '')
    for (const e of errors) lines.push(`- ${e.group} ${e.key}: ${e.message.split('\n')[0]}`)
  }
  return lines.join('\n')
}

// Runtime benchmark (@unplugin-asyncify/runtime, packages/runtime/dist): suspend/resume round trips at
// depth 1, 10, 100 in asyncify mode against JSPI mode (and JSPI without the runtime); fiber switches in
// both modes; a non-suspending export through the runtime against the raw one; the runtime's size
// (minified + gzip) with and without fibers. Every measurement is a fresh child process
// (runtime-worker.mjs); within one, the kinds compared alternate batch by batch, so their ratio is taken
// under the same load.
import { fileURLToPath } from 'node:url'
import {
  formatBytes,
  formatRatio,
  formatUs,
  loadAverage,
  markdownTable,
  median,
  runChild,
  sectionHeader,
} from './lib.mjs'

export const name = 'runtime'
export const description = 'round trip asyncify vs JSPI, fiber switches, non-suspending exports, runtime size'
export const packages = ['wasm', 'runtime', 'core']
export const inputs = 'WAT modules and test/runtime/fixtures/fibers-O2.wasm'

const DEPTHS = [1, 10, 100]
const LEVELS = [0, 1]
/** Warm-up operations before the clock (the timed ones are 101 rounds of short batches per kind). */
const ROUND_TRIPS = 10_000
const SWITCHES = 10_000
const CALLS = 1_000_000
/** asyncify / JSPI round trip at a depth; a non-suspending export / the raw one; the runtime without fibers. */
export const TARGETS = { roundtrip: { 10: 2, 100: 3 }, exports: 1.05, sizeBytes: 4096 }

const WORKER = fileURLToPath(new URL('./runtime-worker.mjs', import.meta.url))

/**
 * @param {{ runs: number, log: (line: string) => void }} options
 * @returns {Promise<{ markdown: string, failed: number }>}
 */
export async function run({ runs, log }) {
  const loadBefore = loadAverage()
  const started = new Date()
  const results = {
    roundtrip: Object.fromEntries(LEVELS.map(l => [l, []])),
    fibers: [],
    exports: [],
    size: [],
  }
  const errors = []
  const attempt = async (key, list, args, describe) => {
    if (errors.some(e => e.key === key)) return
    try {
      const r = await runChild(args)
      list.push(r)
      log(`[runtime] ${describe(r)}`)
    } catch (error) {
      errors.push({ key, message: error.message })
      log(`[runtime] ${key}: FAILED\n${error.message}`)
    }
  }
  for (let i = 1; i <= runs; i++) {
    const tag = `run ${i}/${runs}`
    for (const level of LEVELS)
      await attempt(
        `roundtrip -O${level}`,
        results.roundtrip[level],
        [WORKER, 'roundtrip', String(level), DEPTHS.join(','), String(ROUND_TRIPS)],
        r =>
          `${tag} round trip, ours -O${level}: ${DEPTHS.map(d => `depth ${d} ${formatUs(r.perDepth[d].asyncify)} / JSPI ${formatUs(r.perDepth[d].jspi)} (raw ${formatUs(r.perDepth[d].jspiRaw)})`).join(', ')}`,
      )
    await attempt(
      'fibers',
      results.fibers,
      [WORKER, 'fibers', String(SWITCHES)],
      r =>
        `${tag} fibers: JS resume ${formatUs(r.jsResume.asyncify)} / ${formatUs(r.jsResume.jspi)}, emscripten swap ${formatUs(r.emscriptenSwap.asyncify)} / ${formatUs(r.emscriptenSwap.jspi)}`,
    )
    await attempt(
      'exports',
      results.exports,
      [WORKER, 'exports', String(CALLS)],
      r => `${tag} exports: ${formatRatio(r.ratio, 3)}`,
    )
  }
  await attempt(
    'size',
    results.size,
    [WORKER, 'size'],
    r => `size: no fibers ${r.noFibers.asyncify.gzip} B (asyncify), ${r.noFibers.jspi.gzip} B (JSPI)`,
  )
  const loadAfter = loadAverage()
  return {
    markdown: report({ runs, results, errors, started, loadBefore, loadAfter }),
    failed: errors.length,
  }
}

const pass = ok => (ok === undefined ? '–' : ok ? '✅ pass' : '❌ fail')

function report({ runs, results, errors, started, loadBefore, loadAfter }) {
  const verdicts = []
  const rtRows = []
  for (const level of LEVELS) {
    const list = results.roundtrip[level]
    const m = (depth, field) => median(list.map(r => r.perDepth[depth][field]))
    for (const depth of DEPTHS) {
      const ratio = m(depth, 'asyncifyVsJspi')
      const target = TARGETS.roundtrip[depth]
      const ok = target === undefined || ratio === undefined ? undefined : ratio <= target
      if (level === 0 && target !== undefined)
        verdicts.push(`round trip depth ${depth} ${pass(ok)} (${formatRatio(ratio)})`)
      rtRows.push([
        `-O${level}${level === 0 ? ' (default)' : ''}`,
        String(depth),
        `**${formatUs(m(depth, 'asyncify'))}**`,
        `**${formatUs(m(depth, 'jspi'))}**`,
        formatUs(m(depth, 'jspiRaw')),
        `**${formatRatio(ratio)}**`,
        formatRatio(m(depth, 'asyncifyVsJspiRaw')),
        target === undefined ? '–' : `≤ ${target}×`,
        pass(ok),
      ])
    }
  }
  const rtTable = markdownTable(
    [
      'ours',
      'depth',
      'asyncify mode',
      'JSPI mode',
      'JSPI, no runtime',
      'asyncify / JSPI mode',
      'asyncify / JSPI, no runtime',
      'target',
      'result',
    ],
    rtRows,
  )

  const f = results.fibers
  const fm = (group, field) => median(f.map(r => r[group][field]))
  const fiberTable = markdownTable(
    ['switch', 'asyncify mode', 'JSPI mode', 'asyncify / JSPI'],
    [
      [
        'JS fiber: `resume` + `fiber.yield` (two switches)',
        ...['asyncify', 'jspi'].map(k => `**${formatUs(fm('jsResume', k))}**`),
        formatRatio(fm('jsResume', 'asyncifyVsJspi')),
      ],
      [
        'C: one `emscripten_fiber_swap` (fibers-O2.wasm `pingpong`)',
        ...['asyncify', 'jspi'].map(k => `**${formatUs(fm('emscriptenSwap', k))}**`),
        formatRatio(fm('emscriptenSwap', 'asyncifyVsJspi')),
      ],
    ],
  )

  const e = results.exports
  const exportsRatio = median(e.map(r => r.ratio))
  const exportsOk = exportsRatio === undefined ? undefined : exportsRatio <= TARGETS.exports
  verdicts.push(`non-suspending export ${pass(exportsOk)} (${formatRatio(exportsRatio, 3)})`)
  const exportsTable = markdownTable(
    ['call', 'per call', 'vs raw', 'target', 'result'],
    [
      [
        'through the runtime (`exports.pure`)',
        formatUs(median(e.map(r => r.runtime))),
        `**${formatRatio(exportsRatio, 3)}**`,
        `≤ ${TARGETS.exports}×`,
        pass(exportsOk),
      ],
      ['raw (`instance.exports.pure`)', formatUs(median(e.map(r => r.raw))), '1.000×', '', ''],
    ],
  )

  const s = results.size[0]
  const sizeRows = []
  if (s !== undefined)
    for (const [key, label] of [
      ['noFibers', '`@unplugin-asyncify/runtime/no-fibers`'],
      ['fibers', '`@unplugin-asyncify/runtime` (fibers)'],
    ]) {
      const x = s[key]
      for (const [mode, what] of [
        ['asyncify', 'asyncify mode'],
        ['jspi', 'JSPI mode'],
      ]) {
        const judged = key === 'noFibers'
        const ok = judged ? x[mode].gzip <= TARGETS.sizeBytes : undefined
        if (judged) verdicts.push(`size without fibers, ${what} ${pass(ok)} (${x[mode].gzip} B)`)
        sizeRows.push([
          label,
          `esbuild, split: ${what}`,
          String(x[mode].files),
          `${x[mode].minified} B`,
          `**${x[mode].gzip} B** (${formatBytes(x[mode].gzip)})`,
          judged ? `≤ ${TARGETS.sizeBytes} B` : '',
          judged ? pass(ok) : '',
        ])
      }
      sizeRows.push([
        label,
        'esbuild, one file (no splitting)',
        '1',
        `${x.single.minified} B`,
        `${x.single.gzip} B`,
        '',
        '',
      ])
      if (x.vite)
        for (const [mode, what] of [
          ['asyncify', 'asyncify mode'],
          ['jspi', 'JSPI mode'],
        ])
          sizeRows.push([
            label,
            `Vite ${x.vite.version}: ${what}${x.vite.preloadHelper ? ', with its preload helper' : ''}`,
            String(x.vite[mode].files),
            '',
            `${x.vite[mode].gzip} B`,
            '',
            '',
          ])
    }
  const sizeTable = markdownTable(
    ['entry', 'build, what a page loads', 'files', 'minified', 'gzip', 'target', 'result'],
    sizeRows,
  )
  const onDemand =
    s === undefined
      ? '–'
      : Object.entries(s.noFibers.onDemand)
          .map(([src, m]) => `\`${src}\` ${m.gzip} B`)
          .join(', ')

  const lines = [
    ...sectionHeader(
      'Runtime: asyncify mode vs JSPI, fibers, exports, size',
      started,
      runs,
      loadBefore,
      loadAfter,
    ),
    'Each figure is the median over bench runs of one fresh process (test/bench/runtime-worker.mjs); inside',
    'a process the kinds compared alternate batch by batch (101 rounds of batches of about 0.5 ms, the first',
    'kind rotating), and a ratio is the median of the per-round ratios, so both sides of it ran under the',
    'same load. Modules are compiled and warmed up before any clock.',
    '',
    '### Suspend/resume round trip',
    '',
    'test/bench/roundtrip-module.mjs: `run(depth)` recurses `depth` wasm frames (three locals live across',
    'each call), the innermost calling `env.sleep`, which returns an already resolved promise. One round trip',
    'is `await exports.run(depth)`: in asyncify mode an unwind, an await and a rewind (our rewrite at the',
    "level shown; -O0 is `asyncify()`'s default); in JSPI mode the original module under `Suspending` /",
    '`promising` through the runtime (which parks every suspension and resumes stacks one at a time, so',
    'that each finds its own C stack pointer); "JSPI, no runtime" wraps the import and the export by hand.',
    `${ROUND_TRIPS} warm-up round trips per kind and depth.`,
    '',
    rtTable,
    '',
    '### Fiber switch',
    '',
    'A JS fiber (`fibers.create`) resumed again and again, each resume running it to its next `fiber.yield`;',
    "and the C fixture's `pingpong(n)`, two emscripten fibers swapping n times (time per swap; n ≥ 1024, as",
    'each call also starts two fresh fibers, which in JSPI mode means new stacks, tens of µs).',
    '',
    fiberTable,
    '',
    '### A non-suspending export',
    '',
    '`pure(x) = x + 1` of a module that also has a suspending export, called in a loop through the exports',
    'object the runtime hands out and through `instance.exports`. The',
    `runtime hands out the raw function itself (same object: ${e[0]?.same ?? '–'}), so only noise separates them.`,
    '',
    exportsTable,
    '',
    '### Size',
    '',
    'packages/runtime/dist bundled by esbuild (`minify`, ESM, es2022), gzip level 9. "split" is a code-split',
    'build, as bundlers for browsers make: the files a page loads in that mode on the common path (a module',
    'with its metadata, no start section), each gzipped on its own as it is fetched, summed. The runtime',
    'loads only its byte reader on demand (start sections, binaries without metadata, the metadata of a JSPI',
    `pair from bytes): ${onDemand} more (gzip). "one file" is a build without splitting (every chunk inlined).`,
    'The Vite rows build a page importing the entry (no modulepreload polyfill) and count what it loads in',
    "that mode; Vite wraps every dynamic import in a preload helper of its own (shared with the app's).",
    '',
    sizeTable,
    '',
    `Targets: ${verdicts.join(', ') || '–'}.`,
  ]
  if (errors.length > 0) {
    lines.push('', '### Failures', '')
    for (const err of errors) lines.push(`- ${err.key}: ${err.message.split('\n')[0]}`)
  }
  return lines.join('\n')
}

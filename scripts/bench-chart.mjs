// The README's benchmark summary and chart, generated from test/bench/RESULTS.md (written by
// `npm run bench`): `npm run bench:chart` rewrites docs/bench.svg and the README's
// `<!-- bench:start -->` … `<!-- bench:end -->` table; `--check` changes nothing and fails when either
// is out of date (test/docs/bench-chart.test.ts runs it). `npm run bench` runs it after each write.
//
// Each summary row names the RESULTS.md section, the `###` table under it, the row and the columns it
// reads, so a renamed table or column is an error naming it rather than a silently wrong chart. The
// chart is drawn by the playground's bar chart (playground/src/chart.ts; Node 26 strips its types, so
// run it through npm, which uses the repository's Node).
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { barChart } from '../playground/src/chart.ts'
import { markdownTable } from '../test/bench/lib.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const RESULTS = join(root, 'test/bench/RESULTS.md')
const README = join(root, 'README.md')
const SVG = join(root, 'docs/bench.svg')

const OURS = 0
const BINARYEN = 1
const JSPI = 2
const SERIES = [
  { name: 'unplugin-asyncify', color: '#2563eb' },
  { name: 'binaryen.js', color: '#9ca3af' },
  { name: 'JSPI (native stack switching)', color: '#f59e0b' },
]

/**
 * The summary: one chart group and one README row each. `bars` are [series, column] pairs read from
 * the row of `table` (a `###` heading's start) in `section` whose first cells are `row`; or `rows` maps
 * each series to its row (or to [row, column]) and `column` is read from each. `ratio` is the table's own ratio column (in the
 * row of our bar), so the README quotes the ratio the bench computed (a median of per-round ratios).
 */
const SUMMARY = [
  {
    label: 'decode + encode QuickJS (491 KB), cold',
    section: 'codec',
    table: 'Eager decode + encode',
    row: 'quickjs',
    ratio: 'ours / binaryen',
    bars: [
      [OURS, 'ours total'],
      [BINARYEN, 'binaryen total'],
    ],
  },
  {
    label: 'decode + encode swc (17.2 MB), cold',
    section: 'codec',
    table: 'Eager decode + encode',
    row: 'swc',
    ratio: 'ours / binaryen',
    bars: [
      [OURS, 'ours total'],
      [BINARYEN, 'binaryen total'],
    ],
  },
  {
    label: 'asyncify QuickJS, no optimizer (-O0)',
    section: 'asyncify',
    table: 'Transform time',
    row: '-O0',
    ratio: 'ours / binaryen',
    bars: [
      [OURS, 'ours'],
      [BINARYEN, 'binaryen'],
    ],
  },
  {
    label: 'asyncify QuickJS with -O1',
    section: 'asyncify',
    table: 'Transform time',
    row: '-O1',
    ratio: 'ours / binaryen',
    bars: [
      [OURS, 'ours'],
      [BINARYEN, 'binaryen'],
    ],
  },
  {
    label: 'QuickJS output size, -O1',
    section: 'asyncify',
    table: 'Output size',
    rows: { [OURS]: 'ours, optimize 1', [BINARYEN]: 'binaryen -O1' },
    column: 'size',
    ratio: 'vs binaryen -O1',
  },
  {
    label: 'asyncify vips (4.9 MB, legacy exceptions)',
    section: 'eh',
    table: 'vips.wasm',
    rows: { [OURS]: /^ours/, [BINARYEN]: /^binaryen \(b\)/ },
    column: 'time (median)',
  },
  {
    label: 'asyncify DuckDB (32.7 MB, legacy exceptions)',
    section: 'asyncify-large',
    table: null,
    // binaryen's time is a dash: what happened is in its notes ("fails: …").
    rows: { [OURS]: /^ours/, [BINARYEN]: [/^binaryen/, 'notes'] },
    column: 'time (median)',
  },
  {
    label: 'Vite dev: first transform of QuickJS (binaryen: its pass alone)',
    section: 'plugin',
    table: null,
    rows: { [OURS]: "cold transform: the plugin's load hook", [BINARYEN]: /^anchor: binaryen/ },
    column: 'time',
    ratio: 'ratio',
  },
  {
    label: 'Vite dev: QuickJS again, from the cache',
    section: 'plugin',
    table: null,
    rows: { [OURS]: "warm load (cache hit): the plugin's load hook" },
    column: 'time',
  },
  {
    label: 'Vite dev: QuickJS rebuilt on disk → page updated (HMR)',
    section: 'plugin',
    table: null,
    rows: { [OURS]: /^HMR round trip/ },
    column: 'time',
  },
  {
    label: 'suspend + resume, 1 frame deep',
    section: 'runtime',
    table: 'Suspend/resume round trip',
    row: ['-O0 (default)', '1'],
    ratio: 'asyncify / JSPI mode',
    bars: [
      [OURS, 'asyncify mode'],
      [JSPI, 'JSPI mode'],
    ],
  },
  {
    label: 'suspend + resume, 100 frames deep',
    section: 'runtime',
    table: 'Suspend/resume round trip',
    row: ['-O0 (default)', '100'],
    ratio: 'asyncify / JSPI mode',
    bars: [
      [OURS, 'asyncify mode'],
      [JSPI, 'JSPI mode'],
    ],
  },
]

function section(text, name) {
  const start = text.indexOf(`<!-- ${name}:start -->`)
  const end = text.indexOf(`<!-- ${name}:end -->`)
  if (start < 0 || end < start) throw new Error(`RESULTS.md has no ${name} section`)
  return text.slice(start, end)
}

const cells = line =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map(c => c.trim().replace(/\*\*/g, ''))

/** The first markdown table after the `### <heading…>` line (or in the section): its header and rows. */
function table(text, heading, where) {
  const lines = text.split('\n')
  const at = heading === null ? 0 : lines.findIndex(l => l.startsWith(`### ${heading}`))
  if (at < 0) throw new Error(`${where}: no "### ${heading}" table`)
  const first = lines.findIndex((l, i) => i > at && l.startsWith('|'))
  const body = []
  for (let i = first; i < lines.length && lines[i]?.startsWith('|'); i++) body.push(cells(lines[i]))
  const [header, , ...rows] = body
  return { header: header ?? [], rows, where: heading === null ? where : `${where}, "${heading}"` }
}

function cell(t, match, column) {
  const matches = row =>
    Array.isArray(match)
      ? match.every((m, i) => row[i] === m)
      : match instanceof RegExp
        ? match.test(row[0] ?? '')
        : row[0] === match
  const row = t.rows.find(matches)
  if (row === undefined) throw new Error(`${t.where}: no row ${JSON.stringify(String(match))}`)
  const c = t.header.indexOf(column)
  if (c < 0) throw new Error(`${t.where}: no column "${column}" (columns: ${t.header.join(', ')})`)
  return row[c] ?? ''
}

/** `131 ms`, `0.590 µs`, `1.0 MB (1057118 B)`, `aborts` → { value, unit, text } in the unit shown. */
function measurement(text) {
  const bytes = /\((\d+) B\)/.exec(text)
  if (bytes) return { value: Number(bytes[1]) / 1024, unit: 'KB', text: text.replace(/\s*\(\d+ B\)/, '') }
  const m = /^([\d.]+) (ms|µs|s)\b/.exec(text)
  if (m) return { value: Number(m[1]), unit: m[2], text: `${m[1]} ${m[2]}` }
  // No number: what happened instead (`aborts`, `fails: …` → `fails`).
  const word = text.split(/[:(]/)[0].trim()
  return { value: word, unit: '', text: word }
}

const SCALE = { µs: 0.001, ms: 1, s: 1000, KB: 1 }

/** Every summary row read from RESULTS.md: the bars, in one unit per row. */
export function summary(results = readFileSync(RESULTS, 'utf8')) {
  return SUMMARY.map(s => {
    const t = table(section(results, s.section), s.table, `RESULTS.md section ${s.section}`)
    const reads = s.bars
      ? s.bars.map(([series, column]) => [series, cell(t, s.row, column)])
      : Object.entries(s.rows).map(([series, row]) =>
          Array.isArray(row)
            ? [Number(series), cell(t, row[0], row[1])]
            : [Number(series), cell(t, row, s.column)],
        )
    const bars = reads.map(([series, text]) => ({ series, ...measurement(text) }))
    const ratio = s.ratio === undefined ? '' : cell(t, s.row ?? s.rows[OURS], s.ratio)
    const unit = bars.find(b => typeof b.value === 'number')?.unit ?? ''
    for (const b of bars)
      if (typeof b.value === 'number' && b.unit !== unit) b.value = (b.value * SCALE[b.unit]) / SCALE[unit]
    return { label: s.label, section: s.section, unit, bars, ratio }
  })
}

function updated(results) {
  const dates = [...results.matchAll(/^Updated (\d{4}-\d\d-\d\d)T/gm)].map(m => m[1]).sort()
  const machine = /^Machine: ([^,]+, \d+ cores)/m.exec(results)?.[1] ?? 'unknown machine'
  return `${dates[0]} to ${dates.at(-1)}, ${machine}`
}

export function chartSvg(rows, results) {
  return `${barChart({
    title: 'unplugin-asyncify vs binaryen.js and JSPI (shorter is better)',
    series: SERIES,
    groups: rows.map(r => ({ label: r.label, unit: r.unit, bars: r.bars })),
    note: `From test/bench/RESULTS.md (npm run bench), ${updated(results)}.`,
    width: 720,
  })}\n`
}

export function readmeTable(rows) {
  const text = (r, series) => r.bars.find(b => b.series === series)?.text ?? ''
  return markdownTable(
    ['measurement', 'unplugin-asyncify', 'binaryen.js', 'JSPI', 'ours / other', 'section'],
    rows.map(r => [r.label, text(r, OURS), text(r, BINARYEN), text(r, JSPI), r.ratio, r.section]),
  )
}

/** The README with its bench section replaced. */
export function withTable(readme, body) {
  const start = '<!-- bench:start -->\n'
  const end = '<!-- bench:end -->'
  const a = readme.indexOf(start)
  const b = readme.indexOf(end)
  if (a < 0 || b < a) throw new Error('README.md has no <!-- bench:start --> … <!-- bench:end --> section')
  return `${readme.slice(0, a + start.length)}${body}\n${readme.slice(b)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = readFileSync(RESULTS, 'utf8')
  const rows = summary(results)
  const svg = chartSvg(rows, results)
  const readme = readFileSync(README, 'utf8')
  const next = withTable(readme, readmeTable(rows))
  if (process.argv.includes('--check')) {
    const stale = [
      ...(readFileSync(SVG, 'utf8') === svg ? [] : ['docs/bench.svg']),
      ...(readme === next ? [] : ['README.md (bench section)']),
    ]
    if (stale.length > 0) {
      console.error(`out of date with test/bench/RESULTS.md: ${stale.join(', ')} (run npm run bench:chart)`)
      process.exit(1)
    }
  } else {
    writeFileSync(SVG, svg)
    writeFileSync(README, next)
    console.log('wrote docs/bench.svg and the bench section of README.md')
  }
}

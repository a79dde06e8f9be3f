/**
 * A small horizontal bar chart as SVG text, with no dependencies: the playground's JSPI-vs-asyncify panel
 * draws it in the page, and scripts/bench-chart.mjs draws the README's benchmark chart with it (Node runs
 * this file directly, which is why it uses only erasable TypeScript and imports nothing).
 *
 * Each group is one comparison (a row label, then one bar per series) with a scale of its own, so that
 * groups in different units can share a chart; every bar is labelled with its value.
 */

export interface ChartSeries {
  name: string
  color: string
}

export interface ChartBar {
  /** Index into `ChartSpec.series`. */
  series: number
  /** A number draws a bar; a string is shown instead of one (`n/a`, `aborts`). */
  value: number | string
}

export interface ChartGroup {
  label: string
  /** Unit appended to each value label. */
  unit: string
  bars: ChartBar[]
}

export interface ChartSpec {
  title: string
  series: ChartSeries[]
  groups: ChartGroup[]
  /** A line under the chart (the source of the numbers). */
  note?: string
  width?: number
}

const ROW = 18
const GAP = 10
const LABEL = 16
const PAD = 12
const VALUE_ROOM = 90

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, c => `&#${c.charCodeAt(0)};`)
}

export function formatValue(value: number, unit: string): string {
  const digits = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toPrecision(3)
  return `${digits}${unit === '' ? '' : ` ${unit}`}`
}

function legend(spec: ChartSpec, y: number): string {
  let x = PAD
  return spec.series
    .map(s => {
      const item = `<rect x="${x}" y="${y - 10}" width="12" height="12" rx="2" fill="${s.color}"/><text x="${x + 16}" y="${y}">${escapeXml(s.name)}</text>`
      x += 28 + s.name.length * 7
      return item
    })
    .join('')
}

function group(spec: ChartSpec, g: ChartGroup, y: number, barWidth: number): string {
  const max = Math.max(...g.bars.map(b => (typeof b.value === 'number' ? b.value : 0)), Number.MIN_VALUE)
  const parts = [`<text x="${PAD}" y="${y + 12}" class="group">${escapeXml(g.label)}</text>`]
  g.bars.forEach(({ series: index, value }, i) => {
    const top = y + LABEL + i * ROW
    const series = spec.series[index]
    if (series === undefined)
      throw new Error(`chart "${spec.title}": group "${g.label}" names series ${index}`)
    if (typeof value === 'string') {
      parts.push(
        `<text x="${PAD}" y="${top + 11}" class="na">${escapeXml(`${series.name}: ${value}`)}</text>`,
      )
      return
    }
    const w = Math.max(1, (value / max) * barWidth)
    parts.push(
      `<rect x="${PAD}" y="${top}" width="${w.toFixed(1)}" height="${ROW - 4}" rx="2" fill="${series.color}"><title>${escapeXml(`${series.name}: ${formatValue(value, g.unit)}`)}</title></rect>`,
      `<text x="${(PAD + w + 6).toFixed(1)}" y="${top + 11}">${escapeXml(formatValue(value, g.unit))}</text>`,
    )
  })
  return parts.join('')
}

/** The chart as a standalone `<svg>` element (usable inline in HTML or as an .svg file). */
export function barChart(spec: ChartSpec): string {
  const width = spec.width ?? 640
  const barWidth = width - 2 * PAD - VALUE_ROOM
  let y = 24
  const body: string[] = [`<text x="${PAD}" y="${y}" class="title">${escapeXml(spec.title)}</text>`]
  y += 22
  body.push(legend(spec, y))
  y += 14
  for (const g of spec.groups) {
    body.push(group(spec, g, y, barWidth))
    y += LABEL + g.bars.length * ROW + GAP
  }
  if (spec.note !== undefined) {
    body.push(`<text x="${PAD}" y="${y + 6}" class="note">${escapeXml(spec.note)}</text>`)
    y += 14
  }
  const height = y + PAD
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
    '<style>text{font:12px system-ui,sans-serif;fill:#333}.title{font-size:14px;font-weight:600}.group{font-weight:600}.note,.na{fill:#777}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
  ].join('\n')
}

// Shared pieces of the benchmark runner: fresh child processes, statistics, formatting, RESULTS.md.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'

/**
 * Runs `node <args>` (the current node: process.execPath) in a fresh process and parses the last
 * stdout line as JSON. Rejects with the child's stderr if it fails.
 */
export function runChild(args, { timeoutMs = 10 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          const detail = (stderr || stdout || '').trim().split('\n').slice(-8).join('\n')
          reject(
            new Error(
              `${error.killed ? 'timed out' : `exit ${error.code}`}: node ${args.join(' ')}\n${detail}`,
            ),
          )
          return
        }
        const last = stdout.trim().split('\n').at(-1)
        try {
          resolve(JSON.parse(last))
        } catch {
          reject(new Error(`no JSON result from node ${args.join(' ')}:\n${stdout}\n${stderr}`))
        }
      },
    )
  })
}

export function median(values) {
  const sorted = values.filter(v => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median of one field over a list of child results. */
export function medianOf(results, field) {
  return median((results ?? []).map(r => r[field]))
}

export function formatMs(ms) {
  if (ms === undefined) return '–'
  if (ms < 1) return `${ms.toFixed(3)} ms`
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 100) return `${ms.toFixed(1)} ms`
  return `${Math.round(ms)} ms`
}

export function formatBytes(bytes) {
  if (bytes === undefined) return '–'
  const sign = bytes < 0 ? '−' : ''
  const abs = Math.abs(bytes)
  if (abs >= 1024 ** 3) return `${sign}${(abs / 1024 ** 3).toFixed(2)} GB`
  if (abs >= 1024 ** 2) return `${sign}${(abs / 1024 ** 2).toFixed(abs >= 100 * 1024 ** 2 ? 0 : 1)} MB`
  return `${sign}${(abs / 1024).toFixed(0)} KB`
}

/** `0.27×`; `digits` decimals (3 below 0.1 by default). */
export function formatRatio(ratio, digits) {
  if (ratio === undefined) return '–'
  return `${ratio.toFixed(digits ?? (ratio < 0.1 ? 3 : 2))}×`
}

/** A markdown table from a header row and data rows (arrays of cell strings). */
export function markdownTable(header, rows) {
  const line = cells => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function machineInfo() {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memory: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  }
}

export function loadAverage() {
  return os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(', ')
}

export function machineLine(info = machineInfo()) {
  return `${info.cpu}, ${info.cores} cores, ${formatBytes(info.memory)} RAM, ${info.platform}, Node ${info.node}`
}

const PREAMBLE = `# Benchmark results

Written by \`npm run bench\` (test/bench/run.mjs). Each benchmark suite owns the part between its
\`<!-- name:start -->\` and \`<!-- name:end -->\` markers and rewrites only that part; text outside the
markers is kept.
`

/** Replaces (or appends) the `<!-- name:start -->` … `<!-- name:end -->` section of a markdown file. */
export function updateSection(file, name, body) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const section = `${start}\n${body.trim()}\n${end}`
  const current = existsSync(file) ? readFileSync(file, 'utf8') : PREAMBLE
  const from = current.indexOf(start)
  const to = current.indexOf(end)
  let next
  if (from !== -1 && to > from) {
    next = current.slice(0, from) + section + current.slice(to + end.length)
  } else {
    next = `${current.trimEnd()}\n\n${section}\n`
  }
  writeFileSync(file, next)
}

/** The first lines of a RESULTS.md section: title, when and how it was measured, the machine and its load. */
export function sectionHeader(title, started, runs, loadBefore, loadAfter) {
  return [
    `## ${title}`,
    '',
    `Updated ${started.toISOString().replace(/\.\d+Z$/, 'Z')} by \`npm run bench\`: median of ${runs} run${runs === 1 ? '' : 's'} per measurement.`,
    `Machine: ${machineLine()}. Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}.`,
    '',
  ]
}

export function formatUs(us) {
  if (us === undefined) return '–'
  if (us < 1) return `${us.toFixed(3)} µs`
  if (us < 10) return `${us.toFixed(2)} µs`
  if (us < 100) return `${us.toFixed(1)} µs`
  return `${Math.round(us)} µs`
}

// Asyncify on a large real module: DuckDB (`@duckdb/duckdb-wasm` duckdb-eh.wasm, 34 MB of emscripten C++
// with legacy exception handling and switch lowering nested about 1,500 blocks deep). Ours: translate the
// legacy exceptions, instrument with every import suspending, encode; time (with phases) and peak memory of
// a fresh process, output size, and the output's compile time in V8. Anchor: binaryen's own `--asyncify` on
// the same input in a fresh process (binaryen.js, the same reading features), for time and peak memory,
// or why it fails. Every measurement runs in a fresh child process (asyncify-worker.mjs).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// Node 26 runs the TypeScript helper directly (type stripping).
import { duckdbWasmPath } from '../helpers/corpus.ts'
import { phases } from './asyncify.mjs'
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

export const name = 'asyncify-large'
export const description =
  'DuckDB (34 MB C++, legacy EH, deep nesting): asyncify time, peak memory, compile time'
export const packages = ['wasm', 'core']
export const inputs = 'duckdb-eh'

const WORKER = fileURLToPath(new URL('./asyncify-worker.mjs', import.meta.url))
/** Child processes get room: the module and its IR take a few GB. */
const HEAP = '--max-old-space-size=12000'
const TIMEOUT_MS = 30 * 60_000

/**
 * @param {{ runs: number, log: (line: string) => void }} options
 * @returns {Promise<{ markdown: string, failed: number }>}
 */
export async function run({ runs, log }) {
  const input = duckdbWasmPath()
  const loadBefore = loadAverage()
  const started = new Date()
  const dir = mkdtempSync(join(os.tmpdir(), 'asyncify-large-'))
  const out = join(dir, 'ours.wasm')
  const results = { ours: [], compile: [], binaryen: [] }
  const errors = []
  try {
    for (let i = 1; i <= runs; i++) {
      const tag = `run ${i}/${runs}`
      try {
        const r = await runChild([HEAP, WORKER, 'transform', 'ours', '0', input, out, 'eh'], {
          timeoutMs: TIMEOUT_MS,
        })
        results.ours.push(r)
        log(`[${name}] ${tag} ours: ${formatMs(r.totalMs)}, peak RSS ${formatBytes(r.maxRSS)}`)
        const c = await runChild([WORKER, 'compile', out], { timeoutMs: TIMEOUT_MS })
        results.compile.push(c)
        log(`[${name}] ${tag} compile: ${formatMs(c.totalMs)}`)
      } catch (error) {
        errors.push({ what: 'ours', message: error.message })
        log(`[${name}] ${tag} ours FAILED\n${error.message}`)
        break
      }
      // binaryen's pass is slow on this input: once is enough to place it.
      if (i > 1 || errors.some(e => e.what === 'binaryen')) continue
      try {
        const r = await runChild(
          [HEAP, WORKER, 'transform', 'binaryen', '0', input, join(dir, 'b.wasm'), 'eh'],
          {
            timeoutMs: TIMEOUT_MS,
          },
        )
        results.binaryen.push(r)
        log(`[${name}] ${tag} binaryen: ${formatMs(r.totalMs)}, peak RSS ${formatBytes(r.maxRSS)}`)
      } catch (error) {
        errors.push({ what: 'binaryen', message: error.message })
        log(`[${name}] ${tag} binaryen FAILED\n${error.message}`)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const loadAfter = loadAverage()
  return {
    markdown: report({ runs, input, results, errors, started, loadBefore, loadAfter }),
    failed: errors.filter(e => e.what === 'ours').length,
  }
}

function report({ runs, input, results, errors, started, loadBefore, loadAfter }) {
  const inputBytes = statSync(input).size
  const { ours, compile, binaryen } = results
  const failure = errors.find(e => e.what === 'binaryen')?.message ?? ''
  // The child's last words, without Node's own lines around an uncaught exception.
  const said = failure
    .split('\n')
    .slice(1)
    .map(l => l.trim())
    .find(l => l !== '' && !/^(node:internal|triggerUncaughtException|\^|Node\.js v)/.test(l))
  const binaryenError = failure.startsWith('timed out')
    ? `did not finish within ${TIMEOUT_MS / 60_000} min`
    : `fails: \`${said ?? failure.split('\n')[0]}\``
  const rows = [
    [
      'ours (translate + instrument + encode)',
      `**${formatMs(medianOf(ours, 'totalMs'))}**`,
      phases(ours),
      formatBytes(medianOf(ours, 'maxRSS')),
      ours[0] === undefined
        ? '–'
        : `${formatBytes(ours[0].outputBytes)} (${formatRatio(ours[0].outputBytes / inputBytes)})`,
      ours[0] === undefined
        ? '–'
        : `${ours[0].sites} sites; compiles in ${formatMs(medianOf(compile, 'totalMs'))}`,
    ],
    binaryen.length > 0
      ? [
          'binaryen `--asyncify`',
          `**${formatMs(medianOf(binaryen, 'totalMs'))}**`,
          phases(binaryen),
          formatBytes(medianOf(binaryen, 'maxRSS')),
          `${formatBytes(binaryen[0].outputBytes)} (${formatRatio(binaryen[0].outputBytes / inputBytes)})`,
          binaryen[0].valid ? 'validates' : 'output fails WebAssembly.validate',
        ]
      : ['binaryen `--asyncify`', '–', '–', '–', '–', binaryenError],
  ]
  const lines = [
    ...sectionHeader(
      'Asyncify on a large module: DuckDB (legacy EH, deep nesting)',
      started,
      runs,
      loadBefore,
      loadAfter,
    ),
    `Input: \`@duckdb/duckdb-wasm\` duckdb-eh.wasm (${formatBytes(inputBytes)}: emscripten C++ with legacy exception`,
    'handling; switch lowering nests blocks about 1,500 deep, which overflowed the JS stack of the recursive',
    'rewrite), every import may suspend. Each cell is a fresh `node` process (test/bench/asyncify-worker.mjs)',
    'with the libraries loaded and the file read before the clock starts; peak memory is',
    '`process.resourceUsage().maxRSS` at its end. Ours: `asyncify(bytes)` (optimize 0) from packages/core/dist,',
    'whose `translate` phase is our legacy-EH translation in the IR (`legacy-eh.ts`);',
    '"compiles in" is `new WebAssembly.Module(output)` in another fresh process. binaryen: `readBinary` with',
    "the input's features, `runPasses(['asyncify'])`, `emitBinary`, measured once (an object like",
    '`SA { gC: … }` is a C++ exception binaryen.js threw without a message; it runs in a wasm32 memory',
    'of at most 4 GB).',
    '',
    markdownTable(['transform', 'time (median)', 'phases (median)', 'peak RSS', 'output', 'notes'], rows),
  ]
  const oursError = errors.find(e => e.what === 'ours')
  if (oursError) lines.push('', `Ours failed: ${oursError.message.split('\n')[0]}`)
  return lines.join('\n')
}

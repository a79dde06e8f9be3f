// Plugin benchmark: QuickJS imported with `?asyncify` in Vite's dev server (the built plugin, Chromium for
// the page). Cold transform (first request, empty cache), warm load (first request of a fresh server, the
// disk cache full) and the hot-update round trip (rebuilt .wasm written → the page's accept callback has
// instantiated the new module), beside binaryen.js's own asyncify pass on the same input as the anchor.
// Every measurement runs in a fresh process (plugin-worker.mjs; the anchor in asyncify-worker.mjs).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode } from '@unplugin-asyncify/wasm'
import { quickjsWasmPath } from '../helpers/corpus.ts'
import { formatMs, formatRatio, loadAverage, markdownTable, median, runChild, sectionHeader } from './lib.mjs'

export const name = 'plugin'
export const description =
  'QuickJS in Vite dev: cold transform, warm load (cache hit), HMR round trip in Chromium'
export const packages = ['wasm', 'core', 'runtime', 'unplugin']
export const inputs = 'quickjs'

/** Targets: a cache hit in milliseconds; the HMR round trip as a multiple of the cold transform. */
export const TARGETS = { warmMs: 20, hmrVsCold: 1.5 }
/** Hot updates per run (their median is the run's round trip). */
const UPDATES = 5

const WORKER = fileURLToPath(new URL('./plugin-worker.mjs', import.meta.url))
const ANCHOR = fileURLToPath(new URL('./asyncify-worker.mjs', import.meta.url))

/** Stand-ins for every import QuickJS declares, so that the page can instantiate it (nothing runs). */
function importsModule(bytes) {
  const m = decode(bytes, { bodies: 'lazy' })
  const modules = {}
  for (const imp of m.imports) {
    modules[imp.module] ??= []
    if (imp.desc.kind === 'func') modules[imp.module].push(`${JSON.stringify(imp.name)}: () => 0`)
    else if (imp.desc.kind === 'memory')
      modules[imp.module].push(
        `${JSON.stringify(imp.name)}: new WebAssembly.Memory({ initial: ${imp.desc.memory.limits.min}, maximum: ${imp.desc.memory.limits.max ?? 65536} })`,
      )
    else throw new Error(`QuickJS imports a ${imp.desc.kind}; the benchmark page cannot provide it`)
  }
  const body = Object.entries(modules).map(
    ([mod, fields]) => `  ${JSON.stringify(mod)}: {\n    ${fields.join(',\n    ')},\n  },`,
  )
  return `export const imports = () => ({\n${body.join('\n')}\n})\n`
}

function makeApp(dir) {
  copyFileSync(quickjsWasmPath(), join(dir, 'quickjs.wasm'))
  writeFileSync(join(dir, 'imports.js'), importsModule(readFileSync(join(dir, 'quickjs.wasm'))))
  writeFileSync(join(dir, 'warmup.js'), 'export {}\n')
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"></head><body><script type="module" src="./page.js"></script></body></html>\n',
  )
  writeFileSync(
    join(dir, 'page.js'),
    `import init from './quickjs.wasm?asyncify'
import { imports } from './imports.js'

// Counts instantiated modules: 0 after the first, n after the n-th hot update.
window.updates = -1
async function show(init) {
  try {
    await init(imports())
  } catch (error) {
    window.updateError = String(error)
  }
  window.updates++
}
show(init)
import.meta.hot.accept('./quickjs.wasm?asyncify', mod => show(mod.default))
`,
  )
}

export async function run({ runs, log }) {
  const loadBefore = loadAverage()
  const started = new Date()
  const dir = mkdtempSync(join(os.tmpdir(), 'asyncify-plugin-bench-'))
  const app = join(dir, 'app')
  const r = { cold: [], warm: [], hmr: [], anchor: [] }
  const errors = []
  const attempt = async (key, args, describe) => {
    try {
      const result = await runChild(args)
      r[key].push(result)
      log(`[plugin] ${describe(result)}`)
    } catch (error) {
      errors.push({ key, message: error.message })
      log(`[plugin] ${key}: FAILED\n${error.message}`)
    }
  }
  try {
    mkdirSync(app)
    makeApp(app)
    for (let i = 1; i <= runs; i++) {
      const tag = `run ${i}/${runs}`
      const cache = join(dir, `cache-${i}`)
      const both = x => `request ${formatMs(x.ms)}, of which the plugin's load hook ${formatMs(x.hookMs)}`
      await attempt('cold', [WORKER, 'load', app, cache], x => `${tag} cold transform: ${both(x)}`)
      await attempt('warm', [WORKER, 'load', app, cache], x => `${tag} warm load (cache hit): ${both(x)}`)
      await attempt(
        'hmr',
        [WORKER, 'hmr', app, cache, String(UPDATES)],
        x => `${tag} HMR round trips: ${x.ms.map(formatMs).join(', ')}`,
      )
      await attempt(
        'anchor',
        [ANCHOR, 'transform', 'binaryen', '0', join(app, 'quickjs.wasm'), join(dir, 'binaryen.wasm')],
        x => `${tag} binaryen.js asyncify -O0: ${formatMs(x.totalMs)}`,
      )
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const cold = median(r.cold.map(x => x.ms))
  const coldHook = median(r.cold.map(x => x.hookMs))
  const warm = median(r.warm.map(x => x.hookMs))
  const warmRequest = median(r.warm.map(x => x.ms))
  const hmr = median(r.hmr.map(x => median(x.ms)))
  const anchor = median(r.anchor.map(x => x.totalMs))
  const loadAfter = loadAverage()
  const ratio = (a, b) => formatRatio(a !== undefined && b !== undefined ? a / b : undefined)
  const verdict = ok => (ok === undefined ? '–' : ok ? 'met' : '**missed**')
  const warmOk = warm === undefined ? undefined : warm <= TARGETS.warmMs
  const hmrOk = hmr === undefined || cold === undefined ? undefined : hmr <= TARGETS.hmrVsCold * cold
  const rows = [
    ['cold transform: glue request, empty cache', formatMs(cold), ratio(cold, anchor), ''],
    ["cold transform: the plugin's load hook", formatMs(coldHook), ratio(coldHook, anchor), ''],
    [
      "warm load (cache hit): the plugin's load hook",
      formatMs(warm),
      '',
      `≤ ${TARGETS.warmMs} ms: ${verdict(warmOk)}`,
    ],
    ["warm load (cache hit): glue request, Vite's own work included", formatMs(warmRequest), '', ''],
    [
      `HMR round trip (median of ${UPDATES} updates per run)`,
      formatMs(hmr),
      ratio(hmr, cold),
      `≤ ${TARGETS.hmrVsCold}× cold: ${verdict(hmrOk)}`,
    ],
    ['anchor: binaryen.js asyncify pass, -O0 (bytes in → bytes out)', formatMs(anchor), '1.00×', ''],
  ]
  const markdown = [
    ...sectionHeader('Plugin: QuickJS in Vite dev', started, runs, loadBefore, loadAfter),
    "QuickJS (test corpus, 491 KB) imported as `quickjs.wasm?asyncify` by a page in Vite 8's dev server with the",
    'built plugin (defaults: every import may suspend, no optimizer in dev). Each run is fresh processes: the',
    'cold transform is the HTTP request of the glue module on a new server with an empty cache (the',
    'transform worker starts, the rewrite runs); the warm load is the same request on another new server',
    'with the cache that run filled (the plugin hashes the input and reads, checks and serves the entry).',
    'The HMR round trip writes a rebuilt `quickjs.wasm` (a new custom section: a new input, so a real',
    "transform) and stops when Chromium's accept callback has fetched and instantiated the new module;",
    'ratio column: vs binaryen for the cold transform, vs the cold transform for HMR.',
    '',
    markdownTable(['measurement', 'time', 'ratio', 'target'], rows),
    ...(errors.length > 0 ? ['', ...errors.map(e => `- FAILED ${e.key}: ${e.message.split('\n')[0]}`)] : []),
  ].join('\n')
  return { markdown, failed: errors.length }
}

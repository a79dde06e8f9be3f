/**
 * The playground page: five panels, each running one wasm module of ./wasm through its `?asyncify`
 * import (the plugin's glue: `init(imports?, options?)` plus the transform's `report`). The panels'
 * logic is in ./panels (also run by the tests in Node); this file is the DOM and the hot-reload wiring.
 */
import './style.css'
import { barChart } from './chart.js'
import { element, type ModuleReport, Panel } from './panel.js'
import { type ExceptionResult, exceptionsText, runExceptions } from './panels/exceptions.js'
import { fetchLoopText, runFetchLoop } from './panels/fetch-loop.js'
import { fibersText, runFibers } from './panels/fibers.js'
import type { Init } from './panels/host.js'
import { type HotExports, hotText, runHot } from './panels/hot.js'
import { hasJspi, type ModeSettings, modesChart, modesText, runModes } from './panels/modes.js'
import exceptions, { report as exceptionsReport } from './wasm/exceptions.wat?asyncify'
import exceptionsSource from './wasm/exceptions.wat?raw'
import exceptionsLegacy, { report as exceptionsLegacyReport } from './wasm/exceptions-legacy.wat?asyncify'
import exceptionsLegacySource from './wasm/exceptions-legacy.wat?raw'
import fetchLoopSource from './wasm/fetch-loop.c?raw'
import fetchLoop, { report as fetchLoopReport } from './wasm/fetch-loop.wasm?asyncify'
import fibersSource from './wasm/fibers.c?raw'
import fibers, { report as fibersReport } from './wasm/fibers.wasm?asyncify'
import hot, { report as hotReport } from './wasm/hot.wat?asyncify'
import hotSource from './wasm/hot.wat?raw'
import workloadSource from './wasm/workload.c?raw'
import workload, { report as workloadReport } from './wasm/workload.wasm?asyncify'

const grid = document.querySelector<HTMLElement>('#panels')!
const pageFetch = (url: string): Promise<Response> => fetch(new URL(url, document.baseURI))

document.querySelector('#engine')!.textContent = hasJspi()
  ? 'This browser has JSPI: panel 4 runs both modes.'
  : 'This browser has no JSPI (WebAssembly.Suspending): everything runs in asyncify mode.'

const log = element('ol', { className: 'log' })
const fetchPanel = new Panel(grid, {
  id: 'panel-fetch',
  title: '1 · A C loop that sleeps and fetches',
  blurb:
    '<code>fetch_loop()</code> is a plain C loop calling <code>sleep()</code> and <code>fetch_text()</code>, ' +
    'two imports that return promises. Each call unwinds the wasm stack to JS, awaits, and rewinds into the loop.',
  button: 'Run fetch_loop(3, 300)',
  async run() {
    log.replaceChildren()
    const r = await runFetchLoop(fetchLoop, {
      steps: 3,
      sleepMs: 300,
      fetch: pageFetch,
      onStep: (i, text) => log.append(element('li', { textContent: `step ${i}: ${text.trim()}` })),
    })
    return fetchLoopText(r)
  },
  sources: [{ name: 'fetch-loop.c', text: fetchLoopSource }],
  reports: [fetchLoopReport],
})
fetchPanel.extra.append(log)

const exceptionsPanel = new Panel(grid, {
  id: 'panel-exceptions',
  title: '2 · Exceptions across suspensions',
  blurb:
    'Thrown after a resume and caught by the caller; a catch handler that awaits, then rethrows; a rejected ' +
    '<code>fetch</code> caught in wasm through <code>WebAssembly.JSTag</code>. In both exception-handling ' +
    'forms: <code>try_table</code> and the legacy <code>try</code>/<code>catch</code> clang emits.',
  button: 'Throw, catch, rethrow',
  async run() {
    const results: ExceptionResult[] = [
      await runExceptions('try_table', exceptions, { fetch: pageFetch }),
      await runExceptions('legacy try/catch', exceptionsLegacy, { fetch: pageFetch }),
    ]
    return exceptionsText(results)
  },
  sources: [
    { name: 'exceptions.wat', text: exceptionsSource },
    { name: 'exceptions-legacy.wat', text: exceptionsLegacySource },
  ],
  reports: [exceptionsReport, exceptionsLegacyReport],
})

const fibersPanel = new Panel(grid, {
  id: 'panel-fibers',
  title: '3 · Fibers: producer and consumer',
  blurb:
    'Two fibers written in C against emscripten’s Fibers API (the runtime’s <code>emscripten/fiber.h</code>, ' +
    'built with plain clang and wasi-libc) pass squares through a 3-slot queue; the producer also awaits a sleep now and then.',
  button: 'Run produce_consume(12)',
  run: async () => fibersText(await runFibers(fibers, 12)),
  sources: [{ name: 'fibers.c', text: fibersSource }],
  reports: [fibersReport],
})

const settings: ModeSettings = { rounds: 5000, collatzLimit: 300_000 }
const chart = element('div', { className: 'chart' })
const modesPanel = new Panel(grid, {
  id: 'panel-modes',
  title: '4 · JSPI vs asyncify',
  blurb:
    'The same C workload (<code>?asyncify&amp;mode=auto</code> ships both binaries): the instrumented one in ' +
    'asyncify mode, the original under JSPI where the browser has it. Shorter bars are faster.',
  button: 'Measure both modes',
  async run() {
    const r = await runModes(workload, settings)
    chart.innerHTML = barChart(modesChart(r, settings))
    return modesText(r)
  },
  sources: [{ name: 'workload.c', text: workloadSource }],
  reports: [workloadReport],
})
modesPanel.extra.append(chart)

/** Panel 5's state survives hot updates: only the module (and its report) is swapped. */
const hotState = { init: hot as Init<HotExports>, updates: 0 }
const editor = element('textarea', { className: 'editor', spellcheck: false, value: hotSource, rows: 10 })
const save = element('button', { type: 'button', textContent: 'Save hot.wat' })
const status = element('span', { className: 'status' })
const hotPanel = new Panel(grid, {
  id: 'panel-hot',
  title: '5 · Hot reload',
  blurb:
    'Edit <code>src/wasm/hot.wat</code> here or in your editor and save: the plugin rebuilds it and the page ' +
    'swaps in the new module without reloading (<code>import.meta.hot.accept</code>).',
  button: 'Run answer()',
  run: async () => hotText(await runHot(hotState.init), hotState.updates),
  sources: [],
  reports: [hotReport],
})
hotPanel.extra.append(editor, element('div', { className: 'actions' }, save, status))

save.addEventListener('click', async () => {
  if (!import.meta.hot) {
    status.textContent = 'saving needs the dev server (npm run playground)'
    return
  }
  status.textContent = 'saving…'
  const response = await fetch('/__playground/hot.wat', { method: 'PUT', body: editor.value })
  status.textContent = response.ok ? 'saved; rebuilding…' : `save failed: HTTP ${response.status}`
})

/** An edit on disk shows in the editor too: after a rebuild, the editor shows the file the plugin built. */
async function showSavedSource(): Promise<void> {
  const response = await fetch('/__playground/hot.wat')
  if (!response.ok) return
  const text = await response.text()
  if (text !== editor.value) editor.value = text
}

if (import.meta.hot) {
  import.meta.hot.accept('./wasm/hot.wat?asyncify', mod => {
    if (mod === undefined) return
    hotState.init = mod.default as Init<HotExports>
    hotState.updates++
    hotPanel.setReports([mod.report as ModuleReport])
    status.textContent = `rebuilt (update ${hotState.updates})`
    void hotPanel.run()
    void showSavedSource()
  })
  // Accepted so that an edit does not reload the page; the editor follows the rebuilt module instead
  // (showSavedSource), since `?raw` may have read the file half-written.
  import.meta.hot.accept('./wasm/hot.wat?raw', () => {})
} else status.textContent = 'hot reload needs the dev server (npm run playground)'

// One after the other, so that panel 4's timings are not taken while the others run.
const runAll = document.querySelector<HTMLButtonElement>('#run-all')!
runAll.addEventListener('click', async () => {
  runAll.disabled = true
  for (const panel of [fetchPanel, exceptionsPanel, fibersPanel, modesPanel, hotPanel]) await panel.run()
  runAll.disabled = false
})

// The logic of every playground panel, run in Node 26 on the same modules and settings as the page
// (the page itself is tested in Chromium by playground.test.ts).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { barChart } from '../../playground/src/chart.js'
import {
  type ExceptionExports,
  exceptionsText,
  runExceptions,
} from '../../playground/src/panels/exceptions.js'
import { type FetchLoopExports, fetchLoopText, runFetchLoop } from '../../playground/src/panels/fetch-loop.js'
import { type FiberExports, fibersText, runFibers, runs } from '../../playground/src/panels/fibers.js'
import { type HotExports, runHot } from '../../playground/src/panels/hot.js'
import {
  DEPTHS,
  type ModeSettings,
  measureMode,
  modesChart,
  modesText,
  runModes,
  type WorkloadExports,
} from '../../playground/src/panels/modes.js'
import { playground, playgroundInit, publicFetch } from './helpers.js'

const greeting = readFileSync(join(playground, 'public/data/greeting.txt'), 'utf8')
const words = greeting.split(/\s+/).filter(w => w !== '').length

describe('playground panels in Node', () => {
  it('1: the C loop sleeps and fetches, step by step, and counts the words it fetched', async () => {
    const init = await playgroundInit<FetchLoopExports>('fetch-loop.wasm')
    const steps: number[] = []
    const r = await runFetchLoop(init, {
      steps: 3,
      sleepMs: 20,
      fetch: publicFetch,
      onStep: i => steps.push(i),
    })
    expect(steps).toEqual([0, 1, 2])
    expect(r.urls).toEqual(Array(3).fill('data/greeting.txt'))
    expect(r.texts).toEqual(Array(3).fill(greeting))
    expect(r.words).toBe(3 * words)
    expect(r.elapsedMs).toBeGreaterThanOrEqual(3 * 20 - 1)
    expect(fetchLoopText(r)).toContain(`C counted ${3 * words} words`)
  })

  it('1: a fetch that fails rejects the C loop with the fetch error', async () => {
    const init = await playgroundInit<FetchLoopExports>('fetch-loop.wasm')
    const missing = async () => new Response('', { status: 404 })
    await expect(runFetchLoop(init, { steps: 1, sleepMs: 1, fetch: missing })).rejects.toThrow(
      'HTTP 404 for data/greeting.txt',
    )
  })

  for (const [form, file] of [
    ['try_table', 'exceptions.wat'],
    ['legacy try/catch', 'exceptions-legacy.wat'],
  ] as const)
    it(`2: exceptions across suspensions (${form})`, async () => {
      const init = await playgroundInit<ExceptionExports>(file)
      const r = await runExceptions(form, init, { fetch: publicFetch })
      expect(r).toMatchObject({
        form,
        caughtByCaller: 7,
        uncaught: 8,
        rethrown: { payload: 9, cleanups: 1 },
        rejection: { returned: -1, caught: 'HTTP 404 for data/missing.txt' },
      })
      // The rethrow comes after the thrower's sleep and the handler's: two 30 ms sleeps.
      expect(r.rethrown.elapsedMs).toBeGreaterThanOrEqual(59)
      const rows = exceptionsText([r, { ...r, form: 'other' }]).split('\n')
      expect(rows.map(row => row.split(/ {2,}/))).toEqual([
        ['', form, 'other'],
        ['caught by the wasm caller', 'oops(7)', 'oops(7)'],
        ['caught by the JS caller', 'oops(8)', 'oops(8)'],
        ['handler awaited, rethrew', 'oops(9)', 'oops(9)'],
        ['JS rejection → wasm', '-1', '-1'],
        ['the rejection wasm caught: Error "HTTP 404 for data/missing.txt"'],
      ])
    })

  it('3: producer and consumer fibers interleave through the queue, counting their switches', async () => {
    const init = await playgroundInit<FiberExports>('fibers.wasm')
    const r = await runFibers(init, 12)
    const squares = Array.from({ length: 12 }, (_, i) => (i + 1) ** 2)
    expect(r.sum).toBe(squares.reduce((a, b) => a + b))
    // The queue holds 3: the producer queues 3, the consumer takes them, and so on (runs of 3).
    expect(runs(r.trace)).toEqual(
      [0, 3, 6, 9].flatMap(i => [
        squares.slice(i, i + 3).map(v => `P${v}`),
        squares.slice(i, i + 3).map(v => `C${v}`),
      ]),
    )
    // main → producer, then 4 × (producer → consumer) and 3 × (consumer → producer), then consumer → main.
    expect(r.switches).toBe(9)
    expect(r.sleeps).toBe(3)
    // A second run in the same instance starts afresh.
    const again = await runFibers(init, 4)
    expect(again.sum).toBe(1 + 4 + 9 + 16)
    expect(fibersText(r)).toContain('sum 650, 9 fiber switches, 3 sleeps')
  })

  it('4: the workload computes the same in asyncify and JSPI mode, with timings for the chart', async () => {
    const init = await playgroundInit<WorkloadExports>('workload.wasm')
    const settings: ModeSettings = { rounds: 200, collatzLimit: 70_000 }
    const r = await runModes(init, settings)
    expect(r.jspiAvailable).toBe(true) // Node 26
    expect(r.measurements.map(m => m.mode)).toEqual(['asyncify', 'jspi'])
    expect(r.agree).toBe(true)
    // round_trips(depth, rounds) in JS: descend(1, v) = v; descend(d, v) = descend(d - 1, v + 1) + d - v.
    const descend = (d: number, v: number): number => (d <= 1 ? v : descend(d - 1, v + 1) + d - v)
    const expected = DEPTHS.map(d =>
      Array.from({ length: 200 }, (_, v) => descend(d, v)).reduce((a, b) => a + b),
    )
    expect(r.measurements[0]?.results.slice(0, 3)).toEqual(expected)
    expect(r.measurements[0]?.results[3]).toBe(339) // the longest Collatz chain below 70 000 (from 52 527)
    for (const m of r.measurements) {
      expect(m.roundTripUs.every(us => us > 0 && Number.isFinite(us))).toBe(true)
      expect(m.collatzMs).toBeGreaterThan(0)
    }
    const svg = barChart(modesChart(r, settings))
    expect(svg.match(/<rect x="12" y="\d+" width="[\d.]+" height="14"/g)).toHaveLength(8)
    expect(modesText(r)).toMatch(
      /^per suspension at depth 1 \/ 10 \/ 100:\nasyncify [\d.]+ \/ [\d.]+ \/ [\d.]+ µs, collatz [\d.]+ ms\nJSPI {5}[\d.]+ \/ [\d.]+ \/ [\d.]+ µs, collatz/,
    )
    expect(modesText(r)).toContain('results agree across modes')
  })

  it('4: without JSPI the chart shows asyncify alone', async () => {
    const init = await playgroundInit<WorkloadExports>('workload.wasm')
    const settings: ModeSettings = { rounds: 20, collatzLimit: 1000 }
    const m = await measureMode(init, 'asyncify', settings)
    const r = { jspiAvailable: false, measurements: [m], agree: true }
    expect(barChart(modesChart(r, settings))).toContain('JSPI: not in this browser')
    expect(modesText(r)).toContain('JSPI: not in this browser')
  })

  it('5: the hot-reload module answers after its sleep', async () => {
    const r = await runHot(await playgroundInit<HotExports>('hot.wat'))
    expect(r.answer).toBe(42)
    expect(r.elapsedMs).toBeGreaterThanOrEqual(49)
  })
})

describe.skipIf(spawnSync('sh', ['-c', 'command -v clang-19']).status !== 0)('playground C sources', () => {
  it('the committed .wasm files are what build-wasm.mjs makes from the .c files (clang-19)', () => {
    const r = spawnSync(process.execPath, [join(playground, 'scripts/build-wasm.mjs'), '--check'], {
      encoding: 'utf8',
    })
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('the committed .wasm files match their sources')
    expect(r.status).toBe(0)
  }, 120_000)
})

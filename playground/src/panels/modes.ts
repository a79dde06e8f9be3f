/**
 * Panel 4: workload.c in both modes — the instrumented binary (asyncify) and the original under JSPI,
 * where the engine has `WebAssembly.Suspending`. The page imports it with `?asyncify&mode=auto`, so
 * `init(imports, { mode })` can pick either. Both runs must compute the same results.
 */
import type { ChartSpec } from '../chart.js'
import { type Init, now } from './host.js'

export interface WorkloadExports {
  round_trips(depth: number, rounds: number): Promise<number>
  collatz(limit: number): Promise<number>
}

export type RunMode = 'asyncify' | 'jspi'

export const DEPTHS = [1, 10, 100] as const

export interface ModeSettings {
  /** Suspensions per timed batch at each depth (3 batches, the median counts). */
  rounds: number
  collatzLimit: number
}

export interface ModeMeasurement {
  mode: RunMode
  /** µs per suspend + resume, per depth of DEPTHS. */
  roundTripUs: number[]
  collatzMs: number
  /** What the calls returned (the round trips per depth, then collatz): both modes must agree. */
  results: number[]
}

export interface ModesResult {
  jspiAvailable: boolean
  measurements: ModeMeasurement[]
  agree: boolean
}

export const hasJspi = (): boolean => 'Suspending' in WebAssembly

async function medianBatch(run: () => Promise<number>): Promise<{ ms: number; result: number }> {
  const times: number[] = []
  let result = 0
  for (let i = 0; i < 3; i++) {
    const start = now()
    result = await run()
    times.push(now() - start)
  }
  times.sort((a, b) => a - b)
  return { ms: times[1] as number, result }
}

export async function measureMode(
  init: Init<WorkloadExports>,
  mode: RunMode,
  settings: ModeSettings,
): Promise<ModeMeasurement> {
  const { exports } = await init({ env: { tick: (v: number) => Promise.resolve(v) } }, { mode })
  const roundTripUs: number[] = []
  const results: number[] = []
  for (const depth of DEPTHS) {
    await exports.round_trips(depth, Math.ceil(settings.rounds / 10)) // warm-up
    const { ms, result } = await medianBatch(() => exports.round_trips(depth, settings.rounds))
    roundTripUs.push((ms * 1000) / settings.rounds)
    results.push(result)
  }
  const { ms: collatzMs, result } = await medianBatch(() => exports.collatz(settings.collatzLimit))
  results.push(result)
  return { mode, roundTripUs, collatzMs, results }
}

export async function runModes(init: Init<WorkloadExports>, settings: ModeSettings): Promise<ModesResult> {
  const jspiAvailable = hasJspi()
  const modes: RunMode[] = jspiAvailable ? ['asyncify', 'jspi'] : ['asyncify']
  const measurements: ModeMeasurement[] = []
  for (const mode of modes) measurements.push(await measureMode(init, mode, settings))
  const first = JSON.stringify(measurements[0]?.results)
  const agree = measurements.every(m => JSON.stringify(m.results) === first)
  return { jspiAvailable, measurements, agree }
}

const COLORS: Record<RunMode, string> = { asyncify: '#3b82f6', jspi: '#f59e0b' }

export function modesChart(r: ModesResult, settings: ModeSettings): ChartSpec {
  const modes: RunMode[] = ['asyncify', 'jspi']
  const bars = (pick: (m: ModeMeasurement) => number) =>
    modes.map((mode, series) => {
      const m = r.measurements.find(x => x.mode === mode)
      return { series, value: m === undefined ? 'not in this browser' : pick(m) }
    })
  return {
    title: 'Same workload, asyncify vs JSPI (shorter is faster)',
    series: modes.map(m => ({ name: m === 'jspi' ? 'JSPI' : 'asyncify', color: COLORS[m] })),
    groups: [
      ...DEPTHS.map((depth, i) => ({
        label: `suspend + resume, ${depth} C frame${depth === 1 ? '' : 's'} deep`,
        unit: 'µs',
        bars: bars(m => m.roundTripUs[i] as number),
      })),
      {
        label: `collatz(${settings.collatzLimit}), rarely suspending`,
        unit: 'ms',
        bars: bars(m => m.collatzMs),
      },
    ],
    width: 520,
  }
}

export function modesText(r: ModesResult): string {
  const lines = [`per suspension at depth ${DEPTHS.join(' / ')}:`]
  lines.push(
    ...r.measurements.map(
      m =>
        `${(m.mode === 'jspi' ? 'JSPI' : 'asyncify').padEnd(9)}${m.roundTripUs.map(us => us.toPrecision(3)).join(' / ')} µs, collatz ${m.collatzMs.toFixed(1)} ms`,
    ),
  )
  if (!r.jspiAvailable) lines.push('JSPI: not in this browser (no WebAssembly.Suspending), so asyncify only')
  lines.push(r.agree ? 'results agree across modes' : 'results DIFFER across modes')
  return lines.join('\n')
}

/**
 * Panel 3: fibers.c's producer and consumer, two emscripten fibers (C on the runtime's
 * emscripten/fiber.h) handing squares over through a 3-slot queue; the runtime serves the fiber
 * imports and counts nothing itself — the C code counts its swaps.
 */
import { delay, type Init, now } from './host.js'

export interface FiberExports {
  produce_consume(items: number): Promise<number>
  switches(): number
}

export interface FiberResult {
  items: number
  sum: number
  switches: number
  /** 'P<value>' when the producer queued a value, 'C<value>' when the consumer took one, in order. */
  trace: string[]
  /** Sleeps the producer awaited while it was the running fiber. */
  sleeps: number
  elapsedMs: number
}

export async function runFibers(init: Init<FiberExports>, items: number): Promise<FiberResult> {
  const trace: string[] = []
  let sleeps = 0
  const { exports } = await init({
    env: {
      sleep: (ms: number) => {
        sleeps++
        return delay(ms)
      },
      event: (kind: number, value: number) => trace.push(`${String.fromCharCode(kind)}${value}`),
    },
  })
  const start = now()
  const sum = await exports.produce_consume(items)
  return { items, sum, switches: exports.switches(), trace, sleeps, elapsedMs: now() - start }
}

/** The trace in runs: `P1 P4 P9 → C1 C4 C9 → …`. */
export function runs(trace: string[]): string[][] {
  const out: string[][] = []
  for (const event of trace) {
    const last = out.at(-1)
    if (last !== undefined && last[0]?.[0] === event[0]) last.push(event)
    else out.push([event])
  }
  return out
}

export function fibersText(r: FiberResult): string {
  return [
    `${r.items} squares through a 3-slot queue: sum ${r.sum}, ${r.switches} fiber switches, ` +
      `${r.sleeps} sleeps awaited inside the producer, ${r.elapsedMs.toFixed(0)} ms`,
    runs(r.trace)
      .map(run => run.join(' '))
      .join(' → '),
  ].join('\n')
}

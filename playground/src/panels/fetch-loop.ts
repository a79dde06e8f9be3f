/**
 * Panel 1: fetch-loop.c's `fetch_loop(steps, ms)`, a plain C loop that calls `sleep` and `fetch_text`
 * — imports that return promises here. The page sees the steps arrive one by one while the C loop is
 * suspended in the middle of its body.
 */
import { cString, delay, type Init, MemoryRef, now, text } from './host.js'

export interface FetchLoopExports {
  memory: WebAssembly.Memory
  fetch_loop(steps: number, ms: number): Promise<number>
}

export interface FetchLoopSettings {
  steps: number
  sleepMs: number
  /** `fetch`, resolved against the page (tests pass one that reads the playground's public/ directory). */
  fetch(url: string): Promise<Response>
  /** Called synchronously from C after each step, with the text it fetched. */
  onStep?(step: number, text: string): void
}

export interface FetchLoopResult {
  steps: number
  sleepMs: number
  /** What C's word count returned, summed over the steps. */
  words: number
  urls: string[]
  texts: string[]
  elapsedMs: number
}

class FetchLoopHost {
  readonly ref = new MemoryRef()
  readonly urls: string[] = []
  readonly texts: string[] = []

  constructor(readonly settings: FetchLoopSettings) {}

  imports(): WebAssembly.Imports {
    return {
      env: {
        sleep: (ms: number) => delay(ms),
        fetch_text: (url: number, buffer: number, capacity: number) => this.fetchText(url, buffer, capacity),
        step: (step: number, ptr: number, length: number) => {
          const t = text(this.ref.memory, ptr, length)
          this.texts.push(t)
          this.settings.onStep?.(step, t)
        },
      },
    }
  }

  /** Copies the body's first `capacity` bytes to `buffer`; the promise's value is C's return value. */
  async fetchText(urlPtr: number, buffer: number, capacity: number): Promise<number> {
    const url = cString(this.ref.memory, urlPtr)
    this.urls.push(url)
    const response = await this.settings.fetch(url)
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`)
    const body = new Uint8Array(await response.arrayBuffer()).subarray(0, capacity)
    new Uint8Array(this.ref.memory.buffer, buffer, body.length).set(body)
    return body.length
  }
}

export async function runFetchLoop(
  init: Init<FetchLoopExports>,
  settings: FetchLoopSettings,
): Promise<FetchLoopResult> {
  const host = new FetchLoopHost(settings)
  const exports = await host.ref.init(init, host.imports())
  const start = now()
  const words = await exports.fetch_loop(settings.steps, settings.sleepMs)
  const elapsedMs = now() - start
  return {
    steps: settings.steps,
    sleepMs: settings.sleepMs,
    words,
    urls: host.urls,
    texts: host.texts,
    elapsedMs,
  }
}

export function fetchLoopText(r: FetchLoopResult): string {
  const fetched = [...new Set(r.urls)].join(', ')
  return [
    `${r.steps} × (sleep ${r.sleepMs} ms, fetch ${fetched}) in ${r.elapsedMs.toFixed(0)} ms`,
    `C counted ${r.words} words (${r.texts.length} texts of ${r.texts.at(-1)?.length ?? 0} bytes)`,
  ].join('\n')
}

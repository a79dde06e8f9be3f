/**
 * Panel 5: hot.wat, which the page's editor (or any editor, on disk) changes. The logic only calls the
 * current module; ../main.ts swaps modules when Vite hot-updates `./wasm/hot.wat?asyncify`.
 */
import { delay, type Init, now } from './host.js'

export interface HotExports {
  answer(): Promise<number>
}

export interface HotResult {
  answer: number
  elapsedMs: number
}

export async function runHot(init: Init<HotExports>): Promise<HotResult> {
  const { exports } = await init({ env: { sleep: (ms: number) => delay(ms) } })
  const start = now()
  const answer = await exports.answer()
  return { answer, elapsedMs: now() - start }
}

export function hotText(r: HotResult, updates: number): string {
  return `answer() = ${r.answer} (after a ${r.elapsedMs.toFixed(0)} ms sleep) · hot updates: ${updates}`
}

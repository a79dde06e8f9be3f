/**
 * Panel 2: exceptions.wat (try_table, throw_ref, exnref) and exceptions-legacy.wat (the legacy
 * try/catch/rethrow clang emits), the same program in the two exception-handling forms:
 *
 * - an exception thrown after a suspension resumed, caught by the wasm caller, and left uncaught for the
 *   JS caller (the export's promise rejects with the `WebAssembly.Exception`);
 * - a catch handler that suspends (a cleanup that awaits), then rethrows;
 * - a JS promise that rejects (a fetch of a missing file), caught in wasm through `WebAssembly.JSTag`.
 */
import { delay, type Init, MemoryRef, now, text } from './host.js'

export interface ExceptionExports {
  memory: WebAssembly.Memory
  oops: WebAssembly.Tag
  caught_by_caller(n: number): Promise<number>
  uncaught(n: number): Promise<void>
  rethrow_after_cleanup(n: number): Promise<void>
  cleanups(): number
  fetch_or_fallback(): Promise<number>
}

export interface ExceptionSettings {
  fetch(url: string): Promise<Response>
}

export interface ExceptionResult {
  form: string
  /** caught_by_caller(7): the payload its try_table caught. */
  caughtByCaller: number
  /** uncaught(8): the payload JS read from the rejection, or what it rejected with instead. */
  uncaught: number | string
  /** rethrow_after_cleanup(9): payload of the rethrown exception, cleanups run, time (two 30 ms sleeps). */
  rethrown: { payload: number | string; cleanups: number; elapsedMs: number }
  /** fetch_or_fallback(): its result, and the message of the JS error wasm caught. */
  rejection: { returned: number; caught: string }
}

/** WebAssembly.JSTag, which TypeScript's DOM types do not declare yet (nor tags as import values). */
function jsTag(): WebAssembly.ImportValue {
  const tag = (WebAssembly as unknown as { JSTag?: WebAssembly.ImportValue }).JSTag
  if (tag === undefined)
    throw new Error('this engine has no WebAssembly.JSTag (needed to catch JS errors in wasm)')
  return tag
}

class ExceptionHost {
  readonly ref = new MemoryRef()
  caught: unknown = undefined

  constructor(readonly settings: ExceptionSettings) {}

  imports(): WebAssembly.Imports {
    return {
      env: {
        sleep: (ms: number) => delay(ms),
        fetch_length: (ptr: number, length: number) => this.fetchLength(text(this.ref.memory, ptr, length)),
        caught: (value: unknown) => {
          this.caught = value
        },
      },
      js: { tag: jsTag() },
    }
  }

  async fetchLength(url: string): Promise<number> {
    const response = await this.settings.fetch(url)
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`)
    return (await response.arrayBuffer()).byteLength
  }
}

/** The payload of a rejection with this module's `oops`, or a description of what else it was. */
async function oopsPayload(call: Promise<unknown>, oops: WebAssembly.Tag): Promise<number | string> {
  try {
    await call
    return 'no exception'
  } catch (e) {
    if (e instanceof WebAssembly.Exception && e.is(oops)) return e.getArg(oops, 0) as number
    return `another error: ${e}`
  }
}

export async function runExceptions(
  form: string,
  init: Init<ExceptionExports>,
  settings: ExceptionSettings,
): Promise<ExceptionResult> {
  const host = new ExceptionHost(settings)
  const exports = await host.ref.init(init, host.imports())
  const caughtByCaller = await exports.caught_by_caller(7)
  const uncaught = await oopsPayload(exports.uncaught(8), exports.oops)
  const start = now()
  const payload = await oopsPayload(exports.rethrow_after_cleanup(9), exports.oops)
  const rethrown = { payload, cleanups: exports.cleanups(), elapsedMs: now() - start }
  const returned = await exports.fetch_or_fallback()
  const caught = host.caught instanceof Error ? host.caught.message : String(host.caught)
  return { form, caughtByCaller, uncaught, rethrown, rejection: { returned, caught } }
}

const CASES: [string, (r: ExceptionResult) => string][] = [
  ['caught by the wasm caller', r => `oops(${r.caughtByCaller})`],
  ['caught by the JS caller', r => `oops(${r.uncaught})`],
  ['handler awaited, rethrew', r => `oops(${r.rethrown.payload})`],
  ['JS rejection → wasm', r => String(r.rejection.returned)],
]

/** A small table: one row per case, one column per exception-handling form. */
export function exceptionsText(results: ExceptionResult[]): string {
  const width = Math.max(...CASES.map(([label]) => label.length)) + 2
  const columns = results.map(r => Math.max(r.form.length, 8) + 2)
  const row = (label: string, cells: string[]): string =>
    (label.padEnd(width) + cells.map((c, i) => c.padEnd(columns[i] as number)).join('')).trimEnd()
  const caught = [...new Set(results.map(r => r.rejection.caught))].map(m => JSON.stringify(m)).join(', ')
  return [
    row(
      '',
      results.map(r => r.form),
    ),
    ...CASES.map(([label, cell]) => row(label, results.map(cell))),
    `the rejection wasm caught: Error ${caught}`,
  ].join('\n')
}

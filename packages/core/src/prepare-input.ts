/**
 * The first step of the rewrite: the input as a module whose every body is lifted (`m.funcs[d].body`, the
 * one place a function's IR lives; the original bytes stay in `raw` for the functions nothing changes, see
 * `keepOriginalBytes`), with legacy exception handling translated to `try_table` so that a handler can
 * be unwound. The translation is ours, in the IR (`legacy-eh.ts`); binaryen's round trip
 * (`legacy-eh-binaryen.ts`) can stand in for it, which only the EH benchmark does.
 */
import { EXPORTS } from '@unplugin-asyncify/runtime/abi'
import { bodyContext, decode, decodeFunction, type Module } from '@unplugin-asyncify/wasm'
import { AsyncifyError } from './errors.js'
import { firstLegacyEhBody, functionAt, type LegacyEhTranslation } from './legacy-eh.js'
import type { ResolvedOptions } from './options.js'

export interface PreparedInput {
  module: Module
  /** Whether legacy try/catch was translated. */
  translated: boolean
  /** Milliseconds spent translating. */
  translateMs: number
}

export async function prepareInput(
  input: Uint8Array,
  opts: Pick<ResolvedOptions, 'legacyExceptions'>,
  translate: LegacyEhTranslation,
): Promise<PreparedInput> {
  const m = decode(input, { bodies: 'lazy' })
  if (m.exports.some(e => e.name === EXPORTS.start_unwind))
    throw new AsyncifyError(`the module is already instrumented (it exports ${EXPORTS.start_unwind})`)
  liftAll(m)
  const legacy = firstLegacyEhBody(m.funcs.map(f => f.body ?? { kind: 'func', locals: [], body: [] }))
  if (legacy < 0) return { module: m, translated: false, translateMs: 0 }
  if (opts.legacyExceptions === 'error')
    throw new AsyncifyError(
      `${functionAt(m, legacy)} uses legacy exception handling (try/catch/delegate/rethrow) and legacyExceptions is 'error'`,
    )
  const t0 = performance.now()
  const module = await translate(input, m)
  return { module, translated: true, translateMs: performance.now() - t0 }
}

/** Lifts every body, keeping its bytes (the call graph needs every body; most are written back as they came). */
export function liftAll(m: Module): void {
  const ctx = bodyContext(m)
  m.funcs.forEach((f, d) => {
    f.body = decodeFunction(m, d, ctx)
  })
}

/**
 * Before encoding: functions the rewrite did not change are written from their original bytes (lazy
 * bodies are where the codec beats binaryen on speed).
 */
export function keepOriginalBytes(m: Module, changed: (definedIndex: number) => boolean): void {
  m.funcs.forEach((f, d) => {
    if (f.raw !== null && !changed(d)) f.body = null
  })
}

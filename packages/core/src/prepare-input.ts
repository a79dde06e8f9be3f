/**
 * The first step of the rewrite: the input as a module whose every body is lifted (`m.funcs[d].body`, the
 * one place a function's IR lives; the original bytes stay in `raw` for the functions nothing changes, see
 * `keepOriginalBytes`), with legacy exception handling translated to `try_table` so that a handler can
 * be unwound.
 */
import { EXPORTS } from '@unplugin-asyncify/runtime/abi'
import { bodyContext, countImports, decode, decodeFunction, type Module, walk } from '@unplugin-asyncify/wasm'
import { functionNames } from './analysis.js'
import { runBinaryen } from './binaryen.js'
import { AsyncifyError } from './errors.js'
import { usedFeatures } from './features.js'
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
): Promise<PreparedInput> {
  let m = decode(input, { bodies: 'lazy' })
  if (m.exports.some(e => e.name === EXPORTS.start_unwind))
    throw new AsyncifyError(`the module is already instrumented (it exports ${EXPORTS.start_unwind})`)
  liftAll(m)
  const legacy = firstLegacyTry(m)
  if (legacy < 0) return { module: m, translated: false, translateMs: 0 }
  if (opts.legacyExceptions === 'error') {
    const index = countImports(m, 'func') + legacy
    throw new AsyncifyError(
      `function ${functionNames(m)[index] ?? index} uses legacy exception handling (try/catch/delegate/rethrow) and legacyExceptions is 'error'`,
    )
  }
  const t0 = performance.now()
  const converted = await runBinaryen(
    input,
    usedFeatures(m),
    'translate-to-exnref',
    mod => mod.runPasses(['translate-to-exnref']),
    true,
  )
  m = decode(converted, { bodies: 'lazy' })
  liftAll(m)
  return { module: m, translated: true, translateMs: performance.now() - t0 }
}

/** Lifts every body, keeping its bytes (the call graph needs every body; most are written back as they came). */
function liftAll(m: Module): void {
  const ctx = bodyContext(m)
  m.funcs.forEach((f, d) => {
    f.body = decodeFunction(m, d, ctx)
  })
}

/** The first defined function using legacy exception handling, or -1. */
function firstLegacyTry(m: Module): number {
  return m.funcs.findIndex(f => {
    let found = false
    walk(f.body?.body ?? [], ins => {
      if (ins.op.control === 'try' || ins.op.name === 'rethrow') found = true
    })
    return found
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

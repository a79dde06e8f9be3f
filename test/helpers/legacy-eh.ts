// Legacy exception handling in tests: WAT with legacy try/catch/delegate/rethrow compiled exactly as written
// (wabt: binaryen's text parser would restructure it), our translation alone (no instrumentation),
// binaryen's translate-to-exnref as the oracle, and a runner that records what each export does.

import { decode, decodeFunction, encode, type FuncBody } from '@unplugin-asyncify/wasm'
import createWabt from 'wabt'
import { translateLegacyExceptions } from '../../packages/core/src/legacy-eh.js'
import { binaryenRead } from './binaryen.js'

const wabt = await createWabt()

/** Legacy-EH WAT → binary, structure kept (try params, delegate to any label, rethrow depths). */
export function legacyWat(text: string): Uint8Array<ArrayBuffer> {
  const m = wabt.parseWat('legacy.wat', text, {
    exceptions: true,
    multi_value: true,
    reference_types: true,
  })
  try {
    m.resolveNames()
    m.validate()
    return new Uint8Array(m.toBinary({ write_debug_names: true }).buffer)
  } finally {
    m.destroy()
  }
}

/** Our translation alone: decode, translate the bodies with legacy EH, encode. */
export function translateOurs(bytes: Uint8Array): { binary: Uint8Array<ArrayBuffer>; translated: number } {
  const m = decode(bytes, { bodies: 'lazy' })
  const bodies: FuncBody[] = m.funcs.map((_, d) => decodeFunction(m, d))
  const translated = translateLegacyExceptions(m, bodies)
  return { binary: encode(m), translated }
}

/** binaryen's translate-to-exnref, emitted with the features it was read with. */
export function translateBinaryen(bytes: Uint8Array, features: number): Uint8Array<ArrayBuffer> {
  const mod = binaryenRead(bytes, features)
  try {
    mod.setFeatures(features)
    mod.runPasses(['translate-to-exnref'])
    return new Uint8Array(mod.emitBinary())
  } finally {
    mod.dispose()
  }
}

/** One export call: its arguments, and what it did (result, exception, trap) plus what it logged. */
export interface CallOutcome {
  call: string
  outcome: string
  logs: string[]
}

/**
 * Instantiates `bytes` with `env.log(i32)`, `env.fail(i32)` (throws `jsError` when its argument is
 * non-zero) and `env.tag` (an imported tag, param i32), calls each export with each argument list, and
 * records the outcomes: returned values, a wasm exception as its tag (exported tags are named by export
 * name) and payload, the JS error (by identity), or a trap's message.
 */
export function runCalls(
  bytes: Uint8Array<ArrayBuffer>,
  calls: [string, ...number[]][],
  shared: SharedImports,
  extra: WebAssembly.ModuleImports = {},
): CallOutcome[] {
  const env = sharedEnv(shared, extra)
  const module = new WebAssembly.Module(bytes)
  const wanted = new Set(WebAssembly.Module.imports(module).map(i => i.name))
  const instance = new WebAssembly.Instance(module, {
    env: Object.fromEntries(
      Object.entries(env.imports).filter(([k]) => wanted.has(k)),
    ) as WebAssembly.ModuleImports,
  })
  const tags = tagsOf(instance.exports, shared)
  return calls.map(([name, ...args]) => {
    env.logs.length = 0
    const fn = instance.exports[name] as (...a: number[]) => unknown
    let outcome: string
    try {
      outcome = `returns ${show(fn(...args))}`
    } catch (e) {
      outcome = describeError(e, tags, shared.jsError)
    }
    return { call: `${name}(${args.join(', ')})`, outcome, logs: [...env.logs] }
  })
}

/** The imported tag every module shares, and the error `env.fail` throws. */
export interface SharedImports {
  tag: WebAssembly.Tag
  jsError: Error
}

/** `env.log`, `env.fail`, `env.tag` (and `extra`), with the log they write to. */
export function sharedEnv(
  shared: SharedImports,
  extra: WebAssembly.ModuleImports = {},
): { imports: WebAssembly.ModuleImports; logs: string[] } {
  const logs: string[] = []
  return {
    logs,
    imports: {
      log: (x: number) => void logs.push(String(x)),
      fail: (x: number) => {
        if (x !== 0) throw shared.jsError
      },
      // TypeScript's lib does not list tags among import values yet.
      tag: shared.tag as unknown as WebAssembly.ImportValue,
      ...extra,
    },
  }
}

/** The tags an outcome is named by: the shared import, then the instance's exported tags. */
export function tagsOf(exports: Record<string, unknown>, shared: SharedImports): [string, WebAssembly.Tag][] {
  const tags: [string, WebAssembly.Tag][] = [['env.tag', shared.tag]]
  for (const [name, value] of Object.entries(exports))
    if (value instanceof WebAssembly.Tag) tags.push([name, value])
  return tags
}

export function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v)
}

/** An error an export call ended with, as text: the JS error, a wasm exception's tag and payload, a trap. */
export function describeError(e: unknown, tags: [string, WebAssembly.Tag][], jsError: Error): string {
  if (e === jsError) return 'throws the JS error'
  if (e instanceof WebAssembly.Exception) {
    for (const [name, tag] of tags) {
      if (!e.is(tag)) continue
      const payload: unknown[] = []
      for (let i = 0; ; i++) {
        try {
          payload.push(e.getArg(tag, i))
        } catch {
          break
        }
      }
      return `throws ${name}(${payload.map(show).join(', ')})`
    }
    return 'throws an exception of an unexported tag'
  }
  if (e instanceof WebAssembly.RuntimeError) return `traps: ${e.message}`
  return `throws ${String(e)}`
}

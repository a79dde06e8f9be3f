/**
 * `instantiate`, step by step: load the source; pick the mode; with the bytes at hand, move a start
 * function to an export (so that it runs inside a call that may suspend); read what may suspend (`plan.ts`);
 * let the mode's driver wrap the imports; instantiate; let it find memory, C stack pointer and allocator
 * and wrap the exports; run the moved start function.
 *
 * Each mode's driver, its fiber support and the byte reader are separate modules loaded when needed, so
 * a page downloads only the mode it runs in (and no fibers from the `no-fibers` entry).
 */
import { EXPORTS } from './abi.js'
import type { AsyncifyDriver } from './asyncify.js'
import { type Driver, type FiberHooks, START_EXPORT } from './driver.js'
import { AsyncifyError } from './errors.js'
import type { JspiDriver } from './jspi.js'
import type { Fn, SlotSizes } from './memory.js'
import { makePlan, readMetadata } from './plan.js'
import { load } from './source.js'
import type {
  AsyncifiedInstance,
  Imports,
  InstantiateOptions,
  Mode,
  SourcePair,
  WasmSource,
} from './types.js'

const hasJspi = (): boolean => typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function'

const isPair = (s: unknown): s is SourcePair =>
  typeof s === 'object' && s !== null && 'asyncify' in s && 'original' in s

export async function instantiateWith<E extends object>(
  fibers: FiberModules | null,
  source: WasmSource | SourcePair,
  imports: Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<E>> {
  const sizes = slotSizes(options)
  const pair = isPair(source) ? source : null
  let mode: Mode | 'auto' | undefined = options.mode ?? (pair === null ? undefined : 'auto')
  if (mode === 'auto') mode = hasJspi() ? 'jspi' : 'asyncify'
  if (mode === 'jspi' && !hasJspi())
    throw new AsyncifyError('mode jspi: this engine has no WebAssembly.Suspending')
  const loaded = await load(pair === null ? source : mode === 'jspi' ? pair.original : pair.asyncify)
  const bin = loaded.bytes && (await import('./binary.js'))
  const bytes = bin?.moveStart(loaded.bytes as Uint8Array) ?? null
  const module = loaded.module ?? (await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>))
  mode ??= WebAssembly.Module.exports(module).some(e => e.name === EXPORTS.start_unwind)
    ? 'asyncify'
    : hasJspi()
      ? 'jspi'
      : undefined
  if (mode === undefined)
    throw new AsyncifyError(
      'the module is not instrumented (run wasm-asyncify on it) and this engine has no JSPI',
    )
  let meta = readMetadata(module)
  // JSPI runs the original, which has no metadata: the instrumented one's, when it is at hand.
  if (meta === null && pair !== null && mode === 'jspi')
    meta = await (await import('./binary.js')).siblingMetadata(pair.asyncify)
  const plan = makePlan(meta, options.report, bin && (() => bin.importResults(loaded.bytes as Uint8Array)))
  const driver = await makeDriver(mode, fibers, plan, options, sizes)
  let instance: WebAssembly.Instance
  try {
    instance = await WebAssembly.instantiate(module, driver.imports(module, imports))
  } catch (e) {
    if ((e as Error)?.name !== 'SuspendError') throw e
    throw new AsyncifyError(
      "the module's start function suspends: pass its bytes (not a compiled Module) so that it can run as an export",
    )
  }
  const exports = driver.attach(instance)
  const start = exports[START_EXPORT] as Fn | undefined
  delete exports[START_EXPORT]
  await start?.()
  return { instance, module, exports: exports as E, mode, fibers: driver.fibers }
}

/** The fiber support of each mode, loaded with it (the `no-fibers` entry passes none). */
export interface FiberModules {
  asyncify(): Promise<{ fibers(d: AsyncifyDriver): FiberHooks }>
  jspi(): Promise<{ fibers(d: JspiDriver): FiberHooks }>
}

async function makeDriver(
  mode: Mode,
  fibers: FiberModules | null,
  ...args: ConstructorParameters<typeof Driver>
): Promise<Driver> {
  if (mode === 'asyncify') {
    const d = new (await import('./asyncify.js')).AsyncifyDriver(...args)
    if (fibers) d.install((await fibers.asyncify()).fibers(d))
    return d
  }
  const d = new (await import('./jspi.js')).JspiDriver(...args)
  if (fibers) d.install((await fibers.jspi()).fibers(d))
  return d
}

function slotSizes(o: InstantiateOptions): SlotSizes {
  const s = { asyncifyStackSize: o.asyncifyStackSize ?? 16384, stackSize: o.stackSize ?? 65536 }
  for (const [k, v] of Object.entries(s))
    if (!(Number.isInteger(v) && v > 0))
      throw new AsyncifyError(`options.${k} must be a positive integer, got ${v}`)
  return s
}

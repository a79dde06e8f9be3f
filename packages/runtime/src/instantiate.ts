/**
 * `instantiate`, step by step: load the source; pick the mode; with the bytes at hand, move a start
 * function to an export (so that it runs inside a call that may suspend); read what may suspend (`plan.ts`);
 * let the mode's driver wrap the imports; instantiate; let it find memory, C stack pointer and allocator
 * and wrap the exports; run the moved start function.
 *
 * Both drivers are imported statically: a bundle then ships the runtime as one piece, with no chunk to
 * fetch for the mode (and no bundler's preload helper for it). Only the byte reader (`binary.ts`: start
 * sections, binaries without metadata, the metadata of a pair's instrumented bytes) is loaded on demand.
 */
import { decodeMetadata, EXPORTS, METADATA_SECTION } from './abi.js'
import { AsyncifyDriver } from './asyncify.js'
import { type FiberHooks, START_EXPORT } from './driver.js'
import { AsyncifyError } from './errors.js'
import { JspiDriver } from './jspi.js'
import { checkSizes, type Fn } from './memory.js'
import { makePlan, readMetadata } from './plan.js'
import { bytesOf, hasStart, isBytes, load } from './source.js'
import type {
  AsyncifiedInstance,
  Imports,
  InstantiateOptions,
  Mode,
  SourcePair,
  WasmSource,
} from './types.js'

/** `instantiate`'s signature, which both entries export. */
export type Instantiate = <E extends object = Record<string, unknown>>(
  source: WasmSource | SourcePair,
  imports?: Imports,
  options?: InstantiateOptions,
) => Promise<AsyncifiedInstance<E>>

/** The fiber support of each mode (the `no-fibers` entry has none). */
export interface FiberModules {
  asyncify(d: AsyncifyDriver): FiberHooks
  jspi(d: JspiDriver): FiberHooks
}

const hasJspi = (): boolean => typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function'

const isPair = (s: unknown): s is SourcePair =>
  typeof s === 'object' && s !== null && 'asyncify' in s && 'original' in s

const reader = () => import('./binary.js')

export async function instantiateWith<E extends object>(
  fibers: FiberModules | null,
  source: WasmSource | SourcePair,
  imports: Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<E>> {
  const sizes = checkSizes(
    { asyncifyStackSize: options.asyncifyStackSize ?? 16384, stackSize: options.stackSize ?? 65536 },
    'options.',
  )
  const pair = isPair(source) ? source : null
  let mode = options.mode ?? (pair ? 'auto' : undefined)
  if (mode === 'auto') mode = hasJspi() ? 'jspi' : 'asyncify'
  if (mode === 'jspi' && !hasJspi())
    throw new AsyncifyError('mode jspi: this engine has no WebAssembly.Suspending')
  let [module, bytes] = await load(pair ? pair[mode === 'jspi' ? 'original' : 'asyncify'] : source)
  if (bytes && hasStart(bytes)) bytes = (await reader()).moveStart(bytes, START_EXPORT)
  module ??= await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>)
  mode ??= WebAssembly.Module.exports(module).some(e => e.name === EXPORTS.start_unwind)
    ? 'asyncify'
    : hasJspi()
      ? 'jspi'
      : undefined
  if (!mode)
    throw new AsyncifyError(
      'the module is not instrumented (run wasm-asyncify on it) and this engine has no JSPI',
    )
  const { report } = options
  let meta = report && 'version' in report ? report : readMetadata(module)
  // JSPI runs the original, which has no metadata: the instrumented one's, when it is at hand.
  const sibling = pair?.asyncify
  if (!meta && mode === 'jspi')
    if (sibling instanceof WebAssembly.Module) meta = readMetadata(sibling)
    else if (isBytes(sibling)) {
      const payload = (await reader()).customSection(bytesOf(sibling), METADATA_SECTION)
      meta = payload && decodeMetadata(payload)
    }
  const plan = makePlan(
    meta,
    report && !('version' in report) ? report : undefined,
    // Without metadata, the types of the stand-ins come from the bytes, when at hand.
    !meta && bytes && mode === 'asyncify' ? (await reader()).importResults(bytes) : null,
  )
  const d =
    mode === 'asyncify' ? new AsyncifyDriver(plan, options, sizes) : new JspiDriver(plan, options, sizes)
  d.hooks = fibers && (d instanceof AsyncifyDriver ? fibers.asyncify(d) : fibers.jspi(d))
  let instance: WebAssembly.Instance
  try {
    instance = await WebAssembly.instantiate(module, d.imports(module, imports))
  } catch (e) {
    if ((e as Error)?.name !== 'SuspendError') throw e
    throw new AsyncifyError(
      "the module's start function suspends: pass its bytes (not a compiled Module) so that it can run as an export",
    )
  }
  const exports = d.attach(instance)
  const start = exports[START_EXPORT] as Fn | undefined
  delete exports[START_EXPORT]
  await start?.()
  return { instance, module, exports: exports as E, mode: mode as Mode, fibers: d.fibers }
}

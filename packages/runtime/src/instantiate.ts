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
import { EXPORTS, METADATA_SECTION } from './abi.js'
import { AsyncifyDriver } from './asyncify.js'
import { type FiberHooks, START_EXPORT } from './driver.js'
import { AsyncifyError } from './errors.js'
import { JspiDriver } from './jspi.js'
import { checkSizes, type Fn } from './memory.js'
import { decode, makePlan, readMetadata } from './plan.js'
import { bytesOf, hasStart, isBytes, load } from './source.js'
import type {
  AsyncifiedInstance,
  Imports,
  InstantiateOptions,
  SourcePair,
  TransformReport,
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

const isPair = (s: unknown): s is SourcePair =>
  typeof s === 'object' && s !== null && 'asyncify' in s && 'original' in s

const reader = () => import('./binary.js')

export async function instantiateWith<E extends object>(
  fibers: FiberModules | null,
  source: WasmSource | SourcePair,
  imports: Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<E>> {
  const { report } = options
  const jspi = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function'
  const sizes = checkSizes(
    { asyncifyStackSize: options.asyncifyStackSize ?? 16384, stackSize: options.stackSize ?? 65536 },
    'options.',
  )
  const pair = isPair(source) ? source : null
  let mode = options.mode ?? (pair ? 'auto' : undefined)
  if (mode === 'auto') mode = jspi ? 'jspi' : 'asyncify'
  if (mode === 'jspi' && !jspi)
    throw new AsyncifyError('mode jspi: this engine has no WebAssembly.Suspending')
  let [module, bytes] = await load(pair ? pair[mode === 'jspi' ? 'original' : 'asyncify'] : source)
  if (bytes && hasStart(bytes)) bytes = (await reader()).moveStart(bytes, START_EXPORT)
  module ??= await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>)
  mode ??= WebAssembly.Module.exports(module).some(e => e.name === EXPORTS.start_unwind)
    ? 'asyncify'
    : jspi
      ? 'jspi'
      : undefined
  if (!mode)
    throw new AsyncifyError(
      'the module is not instrumented (run wasm-asyncify on it) and this engine has no JSPI',
    )
  const given = report && 'version' in report ? report : null
  // JSPI runs the original, which has no metadata: the instrumented one's, when it is at hand.
  const sibling = mode === 'jspi' ? pair?.asyncify : null
  let meta =
    given ?? readMetadata(module) ?? (sibling instanceof WebAssembly.Module ? readMetadata(sibling) : null)
  if (!meta && isBytes(sibling))
    meta = decode((await reader()).customSection(bytesOf(sibling), METADATA_SECTION))
  const plan = makePlan(
    meta,
    given ? undefined : (report as TransformReport | undefined),
    // Without metadata, the types of the stand-ins come from the bytes, when at hand.
    !meta && bytes && mode === 'asyncify' ? (await reader()).importResults(bytes) : null,
  )
  const d =
    mode === 'asyncify' ? new AsyncifyDriver(plan, options, sizes) : new JspiDriver(plan, options, sizes)
  d.hooks = fibers && (d instanceof AsyncifyDriver ? fibers.asyncify(d) : fibers.jspi(d))
  const instance = await WebAssembly.instantiate(module, d.imports(module, imports)).catch(e => {
    throw (e as Error)?.name === 'SuspendError'
      ? new AsyncifyError(
          "the module's start function suspends: pass its bytes (not a compiled Module) so that it can run as an export",
        )
      : e
  })
  const exports = d.attach(instance)
  const start = exports[START_EXPORT] as Fn | undefined
  delete exports[START_EXPORT]
  await start?.()
  return { instance, module, exports: exports as E, mode, fibers: d.fibers }
}

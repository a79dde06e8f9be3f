/**
 * `instantiate`: load, pick the mode, wrap the imports that may suspend, instantiate, find the memory,
 * allocator and C stack pointer, wrap the exports that may suspend. Non-suspending exports are handed
 * out as the raw export functions (no wrapper, no cost); non-function exports pass through.
 *
 * Fiber support is passed in (`FiberSupport`) so that the entry without fibers leaves it out.
 */
import { type AsyncifyMetadata, EXPORTS, RUNTIME_IMPORTS } from './abi.js'
import { Asyncify, control, type Fn } from './asyncify.js'
import { moveStart, START_EXPORT } from './binary.js'
import { AsyncifyError } from './errors.js'
import { Jspi, jspiApi } from './jspi.js'
import {
  type Arena,
  functionStackPointer,
  Gate,
  globalStackPointer,
  mallocArena,
  regionArena,
  type SlotSizes,
  Slots,
  type StackPointer,
} from './memory.js'
import { makePlan, type Plan, readMetadata, standIn } from './plan.js'
import { type Loaded, load } from './source.js'
import type { AsyncifiedInstance, Fibers, InstantiateOptions, SourcePair, WasmSource } from './types.js'

/** What an engine gives the fiber support once the instance exists. */
export interface Env {
  exports: WebAssembly.Exports
  /** The memory the C stack pointer and emscripten's fiber structs point into. */
  memory: WebAssembly.Memory
  /** The C stack pointer, whether or not each call runs on a stack of its own. */
  sp: StackPointer | null
  slots: Slots
  defaults: SlotSizes
  plan: Plan
}

export interface FiberHooks {
  /** The runtime's own implementation of an import the caller did not give, or undefined. */
  serve(module: string, name: string, label: string): unknown
  /** Called once the instance exists. */
  attach(env: Env): void
  api: Fibers
}

export interface FiberSupport {
  asyncify(engine: Asyncify, plan: Plan): FiberHooks
  jspi(engine: Jspi, plan: Plan): FiberHooks
}

const DEFAULTS: SlotSizes = { asyncifyStackSize: 16384, stackSize: 65536 }

function isPair(s: unknown): s is SourcePair {
  return typeof s === 'object' && s !== null && 'asyncify' in s && 'original' in s
}

const hasJspi = (): boolean => typeof jspiApi().Suspending === 'function'

export async function instantiateWith<E extends object>(
  support: FiberSupport | null,
  source: WasmSource | SourcePair,
  imports: WebAssembly.Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<E>> {
  const sizes = slotSizes(options)
  let mode = options.mode ?? (isPair(source) ? 'auto' : undefined)
  if (mode === 'auto') mode = hasJspi() ? 'jspi' : 'asyncify'
  if (mode === 'jspi' && !hasJspi())
    throw new AsyncifyError('mode jspi: this engine has no WebAssembly.Suspending')
  const pair = isPair(source) ? source : null
  const loaded = await load(pair === null ? source : mode === 'jspi' ? pair.original : pair.asyncify)
  const bytes = loaded.bytes && moveStart(loaded.bytes)
  const module = loaded.module ?? (await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>))
  const instrumented = WebAssembly.Module.exports(module).some(e => e.name === EXPORTS.start_unwind)
  mode ??= instrumented ? 'asyncify' : hasJspi() ? 'jspi' : undefined
  if (mode === undefined)
    throw new AsyncifyError(
      'the module is not instrumented (run wasm-asyncify on it) and this engine has no JSPI',
    )
  let meta = readMetadata(module, null)
  if (meta === null && pair !== null && mode === 'jspi') meta = await siblingMetadata(pair.asyncify)
  const plan = makePlan(meta, options.report, loaded.bytes)
  const engine =
    mode === 'asyncify'
      ? new AsyncifyMode(plan, options, sizes, support)
      : new JspiMode(plan, options, sizes, support)
  let instance: WebAssembly.Instance
  try {
    instance = await WebAssembly.instantiate(module, engine.imports(module, imports))
  } catch (e) {
    if ((e as Error)?.name === 'SuspendError')
      throw new AsyncifyError(
        "the module's start function suspends: pass its bytes (not a compiled Module) so that it can run as an export",
      )
    throw e
  }
  const exports = engine.attach(instance)
  if (typeof exports[START_EXPORT] === 'function') {
    const start = exports[START_EXPORT] as Fn
    delete exports[START_EXPORT]
    await start()
  }
  return { instance, module, exports: exports as E, mode, fibers: engine.fibers }
}

function slotSizes(o: InstantiateOptions): SlotSizes {
  for (const k of ['asyncifyStackSize', 'stackSize'] as const) {
    const v = o[k]
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new AsyncifyError(`options.${k} must be a positive integer, got ${String(v)}`)
  }
  return {
    asyncifyStackSize: o.asyncifyStackSize ?? DEFAULTS.asyncifyStackSize,
    stackSize: o.stackSize ?? DEFAULTS.stackSize,
  }
}

async function siblingMetadata(src: WasmSource): Promise<AsyncifyMetadata | null> {
  // Only when at hand: fetching the instrumented binary just for its metadata would cost a download.
  if (!(src instanceof WebAssembly.Module || src instanceof ArrayBuffer || ArrayBuffer.isView(src)))
    return null
  const l: Loaded = await load(src)
  return readMetadata(l.module, l.bytes)
}

const NO_FIBERS: Fibers = {
  create() {
    throw new AsyncifyError(
      "fibers are not in this build: import instantiate from '@unplugin-asyncify/runtime'",
    )
  },
  current: null,
}

/** The parts both modes share: imports, exports, memory and C stack discovery. */
abstract class Driver {
  fibers: Fibers = NO_FIBERS
  protected hooks: FiberHooks | null = null
  protected sp: StackPointer | null = null
  protected slots!: Slots
  protected gate!: Gate

  constructor(
    readonly plan: Plan,
    readonly options: InstantiateOptions,
    readonly sizes: SlotSizes,
  ) {}

  protected abstract wrapImport(fn: Fn, module: string, name: string, label: string): unknown
  protected abstract wrapExport(name: string, fn: Fn): Fn
  protected abstract setup(ex: WebAssembly.Exports): WebAssembly.Memory

  imports(module: WebAssembly.Module, given: WebAssembly.Imports): WebAssembly.Imports {
    const out: Record<string, Record<string, unknown>> = {}
    for (const { module: m, name, kind } of WebAssembly.Module.imports(module)) {
      let v: unknown = given[m]?.[name]
      const label = `${m}.${name}`
      if (kind === 'function') {
        if (v === undefined) v = this.serve(m, name, label)
        else if (typeof v === 'function' && this.plan.suspends(m, name))
          v = this.wrapImport(v as Fn, m, name, label)
      }
      out[m] ??= {}
      out[m][name] = v
    }
    return out as WebAssembly.Imports
  }

  private serve(m: string, name: string, label: string): unknown {
    const { emscripten: em, fiberYield } = RUNTIME_IMPORTS
    const ours =
      (m === em.module && name.startsWith('emscripten_fiber_')) ||
      (m === fiberYield.module && name === fiberYield.name)
    if (!ours) return undefined
    if (this.hooks === null)
      throw new AsyncifyError(
        `import ${label} needs fibers, which are not in this build: import from '@unplugin-asyncify/runtime'`,
      )
    const suspending = name !== em.init && name !== em.initFromCurrent
    if (suspending && !this.plan.suspends(m, name))
      throw new AsyncifyError(
        `import ${label} suspends, but the rewrite was told it does not: add it to the imports option of wasm-asyncify`,
      )
    return this.hooks.serve(m, name, label)
  }

  attach(instance: WebAssembly.Instance): Record<string, unknown> {
    const ex = instance.exports
    const main = this.setup(ex)
    const out: Record<string, unknown> = {}
    for (const [name, v] of Object.entries(ex))
      out[name] =
        typeof v === 'function' && (this.plan.exportSuspends(name) || name === START_EXPORT)
          ? this.wrapExport(name, v as Fn)
          : v
    this.hooks?.attach({
      exports: ex,
      memory: main,
      sp: this.sp,
      slots: this.slots,
      defaults: this.sizes,
      plan: this.plan,
    })
    return out
  }

  /** The memory the data lives in, and the module's main memory (C stacks, fiber structs). */
  protected memories(ex: WebAssembly.Exports): [WebAssembly.Memory, WebAssembly.Memory, boolean] {
    const mems = Object.entries(ex).filter(
      (e): e is [string, WebAssembly.Memory] => e[1] instanceof WebAssembly.Memory,
    )
    const named = this.plan.meta?.memory ?? this.options.memory
    const data = (
      named !== undefined ? ex[named] : (ex[EXPORTS.memory] ?? ex.memory ?? mems[0]?.[1])
    ) as unknown
    if (!(data instanceof WebAssembly.Memory))
      throw new AsyncifyError(
        `the module exports no memory${named === undefined ? '' : ` named ${named}`} (options.memory)`,
      )
    const secondary = this.plan.meta?.secondaryMemory ?? (ex[EXPORTS.memory] === data && mems.length > 1)
    const main = secondary ? ((ex.memory as WebAssembly.Memory) ?? mems.find(m => m[1] !== data)?.[1]) : data
    return [data, main ?? data, secondary]
  }

  /** The C stack pointer: options.stackPointer, else the metadata, else the usual exports. */
  protected stackPointer(ex: WebAssembly.Exports): StackPointer | null {
    const o = this.options.stackPointer
    if (o === false) return null
    const access =
      typeof o === 'string' ? { kind: 'global' as const, export: o } : this.plan.meta?.stackPointer
    const g = ex[access?.kind === 'global' ? access.export : '__stack_pointer']
    if (g instanceof WebAssembly.Global) return globalStackPointer(g)
    if (typeof o === 'string')
      throw new AsyncifyError(`options.stackPointer: the module exports no global named ${o}`)
    const [get, set] =
      access?.kind === 'functions'
        ? [access.get, access.set]
        : ['emscripten_stack_get_current', '_emscripten_stack_restore']
    return typeof ex[get] === 'function' && typeof ex[set] === 'function'
      ? functionStackPointer(ex[get] as Fn, ex[set] as Fn)
      : null
  }

  protected allocator(ex: WebAssembly.Exports, wide: boolean): Arena | null {
    const a = this.options.allocator
    for (const [m, f] of a
      ? [[a.malloc, a.free]]
      : [
          ['malloc', 'free'],
          ['emscripten_builtin_malloc', 'emscripten_builtin_free'],
        ]) {
      if (typeof ex[m as string] === 'function' && typeof ex[f as string] === 'function')
        return mallocArena(ex[m as string] as Fn, ex[f as string] as Fn, wide)
    }
    if (a) throw new AsyncifyError(`options.allocator: the module does not export ${a.malloc} and ${a.free}`)
    return null
  }

  protected region(memory: WebAssembly.Memory): Arena | null {
    const r = this.options.region
    if (r === undefined) return null
    if (!(r.start >= 0 && r.size > 0 && r.start + r.size <= memory.buffer.byteLength))
      throw new AsyncifyError(
        `options.region ${r.start}+${r.size} is not inside the ${memory.buffer.byteLength}-byte data memory`,
      )
    return regionArena(r.start, r.size, 'options.region')
  }
}

/** Whether a memory is 64-bit: its grow() takes a bigint (a number throws a TypeError). */
function isMemory64(memory: WebAssembly.Memory): boolean {
  try {
    ;(memory.grow as (delta: number) => number)(0)
    return false
  } catch {
    return true
  }
}

class AsyncifyMode extends Driver {
  readonly engine: Asyncify
  constructor(plan: Plan, options: InstantiateOptions, sizes: SlotSizes, support: FiberSupport | null) {
    super(plan, options, sizes)
    this.engine = new Asyncify()
    if (support !== null) {
      this.hooks = support.asyncify(this.engine, plan)
      this.fibers = this.hooks.api
    }
  }

  protected wrapImport(fn: Fn, module: string, name: string, label: string): unknown {
    return this.engine.wrapImport(fn, standIn(this.plan.results(module, name)), label)
  }

  protected wrapExport(name: string, fn: Fn): Fn {
    return this.engine.wrapExport(name, fn, 'options.asyncifyStackSize')
  }

  protected setup(ex: WebAssembly.Exports): WebAssembly.Memory {
    const [data, main, secondary] = this.memories(ex)
    const wide = (this.plan.meta?.pointer ?? (isMemory64(data) ? 'i64' : 'i32')) === 'i64'
    const sp = this.stackPointer(ex)
    const alloc = this.allocator(ex, wide)
    const own =
      this.region(data) ??
      (secondary ? regionArena(16, data.buffer.byteLength - 16, 'the secondary memory') : null)
    const buffers = own ?? alloc
    // C stacks live in the main memory: with the buffers when those are there too, else from the allocator.
    const stacks = sp === null ? null : !secondary && buffers !== null ? buffers : alloc
    const shared = stacks !== null && stacks === buffers
    this.slots = new Slots(
      buffers,
      stacks,
      shared,
      this.sizes,
      wide ? 'i64' : 'i32',
      'asyncify mode needs memory for its buffers: the module exports no allocator (malloc/free, or options.allocator); pass options.region, or rebuild with inSecondaryMemory',
    )
    this.sp = sp
    this.gate = new Gate(this.options.stackPointer !== false && stacks === null)
    const release = ex[EXPORTS.releaseRefs]
    this.engine.attach(
      control(ex),
      data,
      wide,
      this.slots,
      sp,
      this.gate,
      typeof release === 'function' ? (release as Fn) : null,
    )
    return main
  }
}

class JspiMode extends Driver {
  readonly engine: Jspi
  constructor(plan: Plan, options: InstantiateOptions, sizes: SlotSizes, support: FiberSupport | null) {
    super(plan, options, sizes)
    this.engine = new Jspi()
    if (support !== null) {
      this.hooks = support.jspi(this.engine, plan)
      this.fibers = this.hooks.api
    }
  }

  protected wrapImport(fn: Fn): unknown {
    return this.engine.wrapImport(fn)
  }

  protected wrapExport(name: string, fn: Fn): Fn {
    return this.engine.wrapExport(name, fn)
  }

  protected setup(ex: WebAssembly.Exports): WebAssembly.Memory {
    const mems = Object.values(ex).filter(v => v instanceof WebAssembly.Memory)
    const main = (ex.memory instanceof WebAssembly.Memory ? ex.memory : mems[0]) as
      | WebAssembly.Memory
      | undefined
    const sp = this.stackPointer(ex)
    const wide = sp !== null && main !== undefined && isMemory64(main)
    const stacks = sp === null || main === undefined ? null : (this.region(main) ?? this.allocator(ex, wide))
    this.slots = new Slots(null, stacks, false, this.sizes, wide ? 'i64' : 'i32', '')
    this.sp = sp
    this.gate = new Gate(this.options.stackPointer !== false && stacks === null)
    this.engine.attach(this.slots, sp, this.gate)
    return main as WebAssembly.Memory
  }
}

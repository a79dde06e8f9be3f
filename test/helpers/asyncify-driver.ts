// JS drivers for asyncified modules, for tests. The ABI's names, states and data layout come from the
// runtime's abi.ts (`@unplugin-asyncify/runtime/abi`), written down once.
//
// 1. `instantiateAsyncified(binary, imports, options)`: the runtime (`@unplugin-asyncify/runtime`) in
//    asyncify mode, with what the scenario tests look at on top: `driver.call(exportName, ...args)`,
//    unwind counts per call and in total (`callWithStats`, `unwinds`, `rewinds`), the raw control
//    exports, the data memory, and where each call's `{ current, end }` header is (`slotAddress`): the
//    buffers come from a region at `dataAddr` (the runtime's `options.region`), one after another.
//
// 2. `suspendEverywhereImports(imports)` + `runSuspendingEverywhere(instance, exportName, args, options)`:
//    synchronous. Every call of a (wrapped) import unwinds the whole stack and rewinds it right away, so a
//    run exercises the unwind/rewind path of every call site it reaches while computing the same result
//    as the uninstrumented module. Meant for differential fuzzing:
//
//      const { binary, report } = await asyncify(input, options)
//      const imports = suspendEverywhereImports(realImports, { suspend: report.suspendingImports })
//      const { instance } = await WebAssembly.instantiate(binary, imports)
//      const { result, unwinds } = runSuspendingEverywhere(instance, 'main', [1, 2], { maxUnwinds: 10_000 })
//
//    The asyncify data goes into the exported `asyncify_memory` (else `memory`) at `dataAddr` (default 16:
//    pick an address the module does not use). A module whose memory is not exported can be rewritten
//    with `inSecondaryMemory: true`, which exports a memory of the data's own as `asyncify_memory`.
//
// 3. `createStackScheduler(options)`: synchronous too; the test decides which paused stack resumes next.
//
// The ABI, in short (abi.ts has it in full): the control exports `EXPORTS.start_unwind(data)`, ...; the
// states `STATE`; `data` is the address of `{ current, end }` (`DATA_HEADER`, i32 or i64 fields) in the
// asyncify memory; saved frames grow up from `current`; the control functions trap when current > end.
// Suspending from an import: write the header, call start_unwind(data) and return anything; every
// instrumented frame saves itself and returns, so the export returns with the state unwinding. Call
// stop_unwind(), start_rewind(data) and call the same export again with the same arguments: the frames
// restore themselves and the suspended import is called again while rewinding; it calls stop_rewind()
// and returns the real value.
import { AsyncLocalStorage } from 'node:async_hooks'
import { AsyncifyError, instantiate } from '@unplugin-asyncify/runtime'
import {
  API_NAMES,
  type ApiName,
  type ControlFunctions,
  DATA_HEADER,
  decodeMetadata,
  EXPORTS,
  METADATA_SECTION,
  STATE,
} from '@unplugin-asyncify/runtime/abi'

export const STATE_NORMAL = STATE.normal
export const STATE_UNWINDING = STATE.unwinding
export const STATE_REWINDING = STATE.rewinding

/** The control exports of an asyncified module, under their export names (abi.ts). Pointers are bigint with memory64. */
export type AsyncifyControl = { [K in ApiName as (typeof EXPORTS)[K]]: ControlFunctions[K] }

type AnyFunction = (...args: unknown[]) => unknown
type ImportObject = Record<string, Record<string, unknown>>

function control(exports: WebAssembly.Exports): AsyncifyControl {
  for (const name of API_NAMES.map(n => EXPORTS[n])) {
    if (typeof exports[name] !== 'function') throw new Error(`the module does not export ${name}`)
  }
  return exports as unknown as AsyncifyControl
}

/** Whether a memory is a memory64 one: its grow() takes a bigint (a number throws a TypeError). */
export function isMemory64(memory: WebAssembly.Memory): boolean {
  try {
    ;(memory.grow as (delta: number) => number)(0)
    return false
  } catch (e) {
    if (e instanceof TypeError) return true
    throw e
  }
}

const header = (memory64: boolean) => DATA_HEADER[memory64 ? 'i64' : 'i32']

/**
 * Writes `{ current: data + header, end: data + header + bufferSize }` at `data`. Returns the pointer to
 * pass to start_unwind / start_rewind (a bigint with memory64).
 */
export function writeAsyncifyData(
  memory: WebAssembly.Memory,
  data: number,
  bufferSize: number,
  memory64: boolean,
): number | bigint {
  const view = new DataView(memory.buffer)
  const h = header(memory64)
  const start = data + h.size
  if (start + bufferSize > view.byteLength)
    throw new Error(`asyncify buffer ${data}+${bufferSize} does not fit in a ${view.byteLength}-byte memory`)
  if (memory64) {
    view.setBigUint64(data + h.current, BigInt(start), true)
    view.setBigUint64(data + h.end, BigInt(start + bufferSize), true)
    return BigInt(data)
  }
  view.setUint32(data + h.current, start, true)
  view.setUint32(data + h.end, start + bufferSize, true)
  return data
}

/** Reads `{ current, end }` at `data` (as numbers). */
export function readAsyncifyData(
  memory: WebAssembly.Memory,
  data: number,
  memory64: boolean,
): { current: number; end: number } {
  const view = new DataView(memory.buffer)
  const h = header(memory64)
  if (memory64)
    return {
      current: Number(view.getBigUint64(data + h.current, true)),
      end: Number(view.getBigUint64(data + h.end, true)),
    }
  return { current: view.getUint32(data + h.current, true), end: view.getUint32(data + h.end, true) }
}

function findMemory(exports: WebAssembly.Exports, name: string | undefined): WebAssembly.Memory {
  const names = name !== undefined ? [name] : [EXPORTS.memory, 'memory']
  for (const n of names) {
    const m = exports[n]
    if (m instanceof WebAssembly.Memory) return m
  }
  const any = Object.values(exports).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory)
  if (name === undefined && any !== undefined) return any
  throw new Error(`the module exports no memory named ${name ?? 'memory'}`)
}

// ---------------------------------------------------------------------------------------------------
// 1. The async driver: the runtime, and counts.

export interface DriverOptions {
  /** Address of the first `{ current, end }` struct (default 16). Keep clear of the module's own data. */
  dataAddr?: number
  /** Bytes of each unwind buffer, after its struct (default 1024). */
  bufferSize?: number
  /** How many calls may be suspended at once, each with its own buffer (default 4). */
  buffers?: number
  /** Export name of the memory holding the asyncify data (default: the metadata's, else `asyncify_memory`, else `memory`). */
  memoryExport?: string
}

export interface CallStats {
  result: unknown
  /** Unwinds during this call (= times an import of it suspended). */
  unwinds: number
}

export interface AsyncifiedInstance {
  instance: WebAssembly.Instance
  /** The raw exports. */
  exports: WebAssembly.Exports
  control: AsyncifyControl
  /** The memory holding the asyncify data. */
  memory: WebAssembly.Memory
  memory64: boolean
  /** Calls an export through the runtime, suspending whenever an import returns a promise. */
  call(exportName: string, ...args: unknown[]): Promise<unknown>
  /** The same, also returning how many unwinds it took. */
  callWithStats(exportName: string, ...args: unknown[]): Promise<CallStats>
  /** Total unwinds / settled suspensions since instantiation (or the last resetCounts). */
  readonly unwinds: number
  readonly rewinds: number
  resetCounts(): void
  /** Address of buffer slot `i`'s struct. */
  slotAddress(i: number): number
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function'
}

/**
 * Instantiates an asyncified module with the runtime. `imports` may be an object or a function of the
 * driver (for imports that call back into exports). Import functions may return promises: the call that
 * reached them is suspended until the promise settles (a rejection is thrown into wasm at the call site).
 * Calls run concurrently (the scenario modules have no C stack: `stackPointer: false`).
 */
export async function instantiateAsyncified(
  binary: Uint8Array,
  imports: ImportObject | ((driver: AsyncifiedInstance) => ImportObject) = {},
  options: DriverOptions = {},
): Promise<AsyncifiedInstance> {
  const dataAddr = options.dataAddr ?? 16
  const bufferSize = options.bufferSize ?? 1024
  const bufferCount = options.buffers ?? 4
  const module = await WebAssembly.compile(binary as Uint8Array<ArrayBuffer>)
  const [section] = WebAssembly.Module.customSections(module, METADATA_SECTION)
  const meta = section === undefined ? null : decodeMetadata(section)
  const stride = (header(meta?.pointer === 'i64').size + bufferSize + 15) & ~15
  // The runtime carves buffers from the secondary memory itself (from address 16); otherwise from the
  // region at `dataAddr` of the module's memory.
  const base = meta?.secondaryMemory === true ? 16 : dataAddr
  // Which call an import belongs to: the async context survives the runtime's awaits and rewinds.
  const calls = new AsyncLocalStorage<{ unwinds: number }>()
  let unwinds = 0
  let rewinds = 0
  let call: (name: string, args: unknown[]) => unknown = () => {
    throw new Error('driver.call before instantiation finished')
  }

  const driver: AsyncifiedInstance = {
    instance: null as unknown as WebAssembly.Instance,
    exports: {},
    control: null as unknown as AsyncifyControl,
    memory: null as unknown as WebAssembly.Memory,
    memory64: false,
    call: async (name, ...args) => (await callWithStats(name, ...args)).result,
    callWithStats: (name, ...args) => callWithStats(name, ...args),
    get unwinds() {
      return unwinds
    },
    get rewinds() {
      return rewinds
    },
    resetCounts() {
      unwinds = 0
      rewinds = 0
    },
    slotAddress: i => base + i * stride,
  }

  const count = (fn: AnyFunction): AnyFunction =>
    function (this: unknown, ...args: unknown[]): unknown {
      const r = fn.apply(this, args)
      if (!isThenable(r)) return r
      unwinds++
      const ctx = calls.getStore()
      if (ctx !== undefined) ctx.unwinds++
      const settled = () => {
        rewinds++
      }
      r.then(settled, settled)
      return r
    }

  const given = typeof imports === 'function' ? imports(driver) : imports
  const counted: ImportObject = {}
  for (const [m, fields] of Object.entries(given))
    counted[m] = Object.fromEntries(
      Object.entries(fields).map(([name, v]) => [
        name,
        typeof v === 'function' ? count(v as AnyFunction) : v,
      ]),
    )

  // Every export goes through the runtime (as calls did with the driver this replaces), also those the
  // rewrite says cannot suspend: tests of the asserts option call them to see them trap.
  const functions = WebAssembly.Module.exports(module).filter(e => e.kind === 'function')
  const rt = await instantiate(module, counted, {
    mode: 'asyncify',
    ...(meta === null ? {} : { report: { ...meta, suspendingExports: functions.map(e => e.name) } }),
    region: { start: dataAddr, size: bufferCount * stride },
    asyncifyStackSize: bufferSize,
    stackPointer: false,
    ...(options.memoryExport === undefined ? {} : { memory: options.memoryExport }),
  })
  const raw = rt.instance.exports
  const memory = findMemory(raw, meta?.memory ?? options.memoryExport)
  Object.assign(driver, {
    instance: rt.instance,
    exports: raw,
    control: control(raw),
    memory,
    memory64: meta?.pointer === 'i64' || (meta === null && isMemory64(memory)),
  })
  call = (name, args) => {
    const fn = rt.exports[name]
    if (typeof fn !== 'function') throw new Error(`no exported function ${name}`)
    return (fn as AnyFunction)(...args)
  }

  async function callWithStats(name: string, ...args: unknown[]): Promise<CallStats> {
    const ctx = { unwinds: 0 }
    try {
      const result = await calls.run(ctx, () => call(name, args))
      return { result, unwinds: ctx.unwinds }
    } catch (e) {
      if (e instanceof AsyncifyError && /has no room/.test(e.message))
        throw new Error(`more than ${bufferCount} calls in flight: raise options.buffers (${e.message})`)
      throw e
    }
  }
  return driver
}

// ---------------------------------------------------------------------------------------------------
// 2. Suspend at every import call, resume at once (synchronous; for differential fuzzing).

export interface SuspendEverywhereImportOptions {
  /**
   * Which imports to suspend at (default: every function import). Only imports the rewrite treats as
   * suspending may unwind: with `imports: [...]` pass the same set, e.g. `report.suspendingImports`
   * (entries `module.base`), or a predicate.
   */
  suspend?: readonly string[] | ((module: string, name: string) => boolean)
}

export interface SuspendEverywhereOptions {
  /** Address of the `{ current, end }` struct (default 16). Keep clear of the module's own data. */
  dataAddr?: number
  /** Bytes of the unwind buffer after the struct (default 4096). */
  bufferSize?: number
  /** Export name of the memory holding the asyncify data (default `asyncify_memory`, else `memory`). */
  memoryExport?: string
  /** Force the pointer width; by default read from the memory. */
  memory64?: boolean
  /** Throw once a single run unwinds more often than this (default 100_000): guards endless loops. */
  maxUnwinds?: number
}

export interface SuspendEverywhereResult {
  result: unknown
  /** Unwind/rewind round trips the run made (one per suspending import call outside nested calls). */
  unwinds: number
}

interface EverywhereRun {
  control: AsyncifyControl
  memory: WebAssembly.Memory
  memory64: boolean
  dataAddr: number
  bufferSize: number
  unwinds: number
  maxUnwinds: number
  /** Result of the import call that unwound, handed back on the rewind. */
  pending: { key: string; value: unknown } | null
  /** >0 while a real import runs: exports it calls run without suspending. */
  importDepth: number
  exportName: string
}

/** The runs in progress, innermost last (an import may call back into another instance's run). */
const everywhereRuns: EverywhereRun[] = []

/**
 * Wraps the function imports of `imports` for `runSuspendingEverywhere`. Outside a run the wrappers just
 * call through. During a run, a wrapped import called in normal state runs the real import, then unwinds
 * the stack and returns the real result (so its JS→wasm conversion is well typed); the run rewinds at once
 * and the import, called again while rewinding, stops the rewind and returns the same result. So the real
 * import runs exactly once per wasm call, in program order.
 *
 * Not suspended (the call simply runs): imports that throw (the exception propagates at once), imports
 * called while a real import is running (re-entrant calls into exports run to completion without
 * suspending), and imports called outside a run. A wrapped import other than the one that unwound,
 * called while rewinding, means the instrumentation ran code it should have skipped: the run throws an
 * Error starting with `asyncify:`.
 */
export function suspendEverywhereImports(
  imports: ImportObject,
  options: SuspendEverywhereImportOptions = {},
): WebAssembly.Imports {
  const suspend = options.suspend
  const shouldSuspend = (module: string, name: string): boolean =>
    suspend === undefined
      ? module !== 'asyncify'
      : typeof suspend === 'function'
        ? suspend(module, name)
        : suspend.includes(`${module}.${name}`)
  const out: ImportObject = {}
  for (const [module, fields] of Object.entries(imports)) {
    const wrappedFields: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value !== 'function' || !shouldSuspend(module, name)) {
        wrappedFields[name] = value
        continue
      }
      const fn = value as AnyFunction
      const key = `${module}.${name}`
      const realCall = (run: EverywhereRun | undefined, args: unknown[]): unknown => {
        if (run !== undefined) run.importDepth++
        try {
          return fn(...args)
        } finally {
          if (run !== undefined) run.importDepth--
        }
      }
      wrappedFields[name] = (...args: unknown[]): unknown => {
        const run = everywhereRuns[everywhereRuns.length - 1]
        if (run === undefined || run.importDepth > 0) return realCall(run, args)
        const state = run.control.asyncify_get_state()
        if (state === STATE_REWINDING) {
          const p = run.pending
          if (p !== null && p.key === key) {
            // The call that unwound: resume with its result.
            run.pending = null
            run.control.asyncify_stop_rewind()
            return p.value
          }
          // Every wrapped import suspends itself, so no JS frame of a wrapped import lies between wasm
          // frames of this run: an import called now was skipped over on the way down.
          throw new Error(
            `asyncify: import ${key} called while rewinding (the call that unwound is ${p?.key ?? 'unknown'})`,
          )
        }
        if (state === STATE_UNWINDING) throw new Error(`import ${key} called while unwinding`)
        const value = realCall(run, args)
        if (run.unwinds >= run.maxUnwinds)
          throw new Error(`runSuspendingEverywhere(${run.exportName}): more than ${run.maxUnwinds} unwinds`)
        run.pending = { key, value }
        run.control.asyncify_start_unwind(
          writeAsyncifyData(run.memory, run.dataAddr, run.bufferSize, run.memory64),
        )
        run.unwinds++
        return value
      }
    }
    out[module] = wrappedFields
  }
  return out as WebAssembly.Imports
}

/**
 * Calls `exportName(...args)` on an instance created with `suspendEverywhereImports` imports, unwinding
 * and rewinding the whole stack at every suspending import call. Returns the export's result and the
 * number of unwinds. Throws what the export throws (traps included); on a protocol error (the export
 * returns while still rewinding, or unwinds with no import suspended) it throws an Error whose message
 * starts with `asyncify:`, after trying to put the instance back into the normal state.
 */
export function runSuspendingEverywhere(
  instance: WebAssembly.Instance,
  exportName: string,
  args: readonly unknown[] = [],
  options: SuspendEverywhereOptions = {},
): SuspendEverywhereResult {
  const exports = instance.exports
  const fn = exports[exportName]
  if (typeof fn !== 'function') throw new Error(`no exported function ${exportName}`)
  const c = control(exports)
  const memory = findMemory(exports, options.memoryExport)
  const run: EverywhereRun = {
    control: c,
    memory,
    memory64: options.memory64 ?? isMemory64(memory),
    dataAddr: options.dataAddr ?? 16,
    bufferSize: options.bufferSize ?? 4096,
    unwinds: 0,
    maxUnwinds: options.maxUnwinds ?? 100_000,
    pending: null,
    importDepth: 0,
    exportName,
  }
  const reset = (): void => {
    try {
      const s = c.asyncify_get_state()
      if (s === STATE_UNWINDING) c.asyncify_stop_unwind()
      else if (s === STATE_REWINDING) c.asyncify_stop_rewind()
    } catch {
      // a control function trapping (overflowed buffer): leave it
    }
  }
  if (c.asyncify_get_state() !== STATE_NORMAL)
    throw new Error('asyncify: the instance is not in the normal state')
  everywhereRuns.push(run)
  try {
    for (;;) {
      const result = (fn as AnyFunction)(...args)
      const state = c.asyncify_get_state()
      if (state === STATE_NORMAL) {
        if (run.pending !== null)
          throw new Error(`asyncify: ${exportName} returned without resuming ${run.pending.key}`)
        return { result, unwinds: run.unwinds }
      }
      if (state === STATE_REWINDING) {
        reset()
        throw new Error(
          `asyncify: ${exportName} returned while rewinding (the rewind missed the suspended import)`,
        )
      }
      c.asyncify_stop_unwind()
      if (run.pending === null)
        throw new Error(`asyncify: ${exportName} unwound but no wrapped import suspended`)
      const ptr = run.memory64 ? BigInt(run.dataAddr) : run.dataAddr
      c.asyncify_start_rewind(ptr)
    }
  } catch (e) {
    // Leave the instance usable for the next run (a trap in the middle of an unwind or rewind).
    reset()
    throw e
  } finally {
    everywhereRuns.pop()
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. Manually scheduled stacks (synchronous): the test decides which paused stack resumes next.

export interface ManualStack {
  readonly id: number
  /** Address of this stack's `{ current, end }` struct (its buffer follows it). */
  readonly data: number
  status: 'idle' | 'paused' | 'done'
  exportName: string
  args: unknown[]
  /** What the export returned, once done. */
  result: unknown
  /** Arguments the pause import got when this stack last paused. */
  pausedWith: unknown[] | null
  /** Times this stack paused since it was started. */
  pauses: number
}

export interface StackSchedulerOptions {
  /** How many stacks (each with its own buffer). */
  count: number
  /** Address of stack 0's struct (default 16); stack i's is at dataAddr + i * stride. */
  dataAddr?: number
  /** Bytes of each buffer after its struct (default 1024). */
  bufferSize?: number
  /** Export name of the memory holding the asyncify data (default `asyncify_memory`, else `memory`). */
  memoryExport?: string
}

export interface StackScheduler {
  /** The import that pauses the running stack: put it in the import object (any module.name). */
  readonly pause: (...args: unknown[]) => unknown
  /** Binds the instance (after instantiating with `pause` among its imports). */
  attach(instance: WebAssembly.Instance): void
  readonly stacks: readonly ManualStack[]
  /** Calls `exportName(...args)` on an idle or done stack; runs until it pauses or returns. */
  start(id: number, exportName: string, ...args: unknown[]): ManualStack
  /** Rewinds a paused stack (its pause import returns `value`); runs until it pauses again or returns. */
  resume(id: number, value?: unknown): ManualStack
  /** Drops a paused stack without resuming it: it becomes idle (its buffer may be started again). */
  abandon(id: number): void
  /** Total pauses so far. */
  readonly pauses: number
}

/**
 * A synchronous scheduler over the raw ABI, for tests that interleave many stacks in a chosen order: each
 * call of the `pause` import unwinds the running stack into its own buffer; `resume(id)` rewinds it. Every
 * call of `pause` pauses (there is no async value: `resume` passes the value the import returns).
 */
export function createStackScheduler(options: StackSchedulerOptions): StackScheduler {
  const dataAddr = options.dataAddr ?? 16
  const bufferSize = options.bufferSize ?? 1024
  const stride = (header(false).size + bufferSize + 15) & ~15
  const stacks: ManualStack[] = Array.from({ length: options.count }, (_, id) => ({
    id,
    data: dataAddr + id * stride,
    status: 'idle' as const,
    exportName: '',
    args: [],
    result: undefined,
    pausedWith: null,
    pauses: 0,
  }))
  let ctl: AsyncifyControl | null = null
  let exports: WebAssembly.Exports = {}
  let memory: WebAssembly.Memory | null = null
  let memory64 = false
  let running: ManualStack | null = null
  let resumeValue: unknown
  let pauses = 0

  const pause = (...args: unknown[]): unknown => {
    const c = ctl
    const s = running
    if (c === null || s === null) throw new Error('pause called outside a scheduled stack')
    const state = c.asyncify_get_state()
    if (state === STATE_REWINDING) {
      c.asyncify_stop_rewind()
      return resumeValue
    }
    if (state !== STATE_NORMAL) throw new Error('pause called while unwinding')
    s.pausedWith = args
    c.asyncify_start_unwind(writeAsyncifyData(memory as WebAssembly.Memory, s.data, bufferSize, memory64))
    return undefined
  }

  const run = (s: ManualStack): ManualStack => {
    const c = ctl
    if (c === null) throw new Error('the scheduler has no instance: call attach()')
    const fn = exports[s.exportName]
    if (typeof fn !== 'function') throw new Error(`no exported function ${s.exportName}`)
    running = s
    let result: unknown
    try {
      result = (fn as AnyFunction)(...s.args)
    } catch (e) {
      s.status = 'idle'
      throw e
    } finally {
      running = null
    }
    const state = c.asyncify_get_state()
    if (state === STATE_UNWINDING) {
      c.asyncify_stop_unwind()
      s.status = 'paused'
      s.pauses++
      pauses++
    } else if (state === STATE_REWINDING) {
      c.asyncify_stop_rewind()
      s.status = 'idle'
      throw new Error(`${s.exportName} returned while still rewinding (stack ${s.id})`)
    } else {
      s.status = 'done'
      s.result = result
      s.pausedWith = null
    }
    return s
  }

  const stack = (id: number): ManualStack => {
    const s = stacks[id]
    if (s === undefined) throw new Error(`no stack ${id}`)
    return s
  }

  return {
    pause,
    stacks,
    get pauses() {
      return pauses
    },
    attach(instance) {
      exports = instance.exports
      ctl = control(exports)
      memory = findMemory(exports, options.memoryExport)
      memory64 = isMemory64(memory)
      const last = stacks[stacks.length - 1]
      if (last !== undefined && last.data + header(memory64).size + bufferSize > memory.buffer.byteLength)
        throw new Error('the stack buffers do not fit in the memory')
    },
    start(id, exportName, ...args) {
      const s = stack(id)
      if (s.status === 'paused') throw new Error(`stack ${id} is paused: resume or abandon it first`)
      Object.assign(s, { exportName, args, result: undefined, pausedWith: null, pauses: 0 })
      return run(s)
    },
    resume(id, value) {
      const s = stack(id)
      if (s.status !== 'paused') throw new Error(`stack ${id} is not paused`)
      const c = ctl as AsyncifyControl
      resumeValue = value
      c.asyncify_start_rewind(memory64 ? BigInt(s.data) : s.data)
      return run(s)
    },
    abandon(id) {
      const s = stack(id)
      if (s.status !== 'paused') throw new Error(`stack ${id} is not paused`)
      s.status = 'idle'
      s.pausedWith = null
    },
  }
}

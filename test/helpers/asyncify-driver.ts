// JS drivers for asyncified modules, speaking the raw asyncify ABI (the one binaryen's Asyncify pass
// defines, which our rewrite implements too). Two drivers:
//
// 1. `instantiateAsyncified(binary, imports, options)`: imports may be async (return promises). A call
//    goes through `driver.call(exportName, ...args)`; when an import returns a promise the driver unwinds
//    the wasm stack into a buffer, awaits the promise, rewinds and hands the import's value back to wasm.
//    Several calls may be in flight at once (coroutines): each takes its own buffer.
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
// The ABI, in short. Exports: asyncify_start_unwind(data), asyncify_stop_unwind(),
// asyncify_start_rewind(data), asyncify_stop_rewind(), asyncify_get_state() (0 normal, 1 unwinding,
// 2 rewinding). `data` is the address of `{ current, end }` (two i32, or two i64 with memory64) in the
// asyncify memory; the saved frames grow up from `current`, and the four control functions trap when
// current > end (the buffer overflowed). Suspending from an import: write the struct, call
// start_unwind(data) and return anything; every instrumented frame saves itself and returns, so the export
// returns (its result is garbage) with state 1. Call stop_unwind(), wait, call start_rewind(data) and call
// the same export again with the same arguments: the frames restore themselves and the suspended import is
// called again while the state is 2; it calls stop_rewind() and returns the real value.
//
// Imports called again while rewinding that are NOT the suspended one are JS frames between two wasm
// frames (export A → JS import → export B → the import that suspended): the rewind re-enters them, so
// they run again and must call back into wasm the same way (the drivers pass such calls through).
import { decode, type Module, type ValType } from '@unplugin-asyncify/wasm'

export const STATE_NORMAL = 0
export const STATE_UNWINDING = 1
export const STATE_REWINDING = 2

/** The control exports of an asyncified module. Pointers are bigint with memory64. */
export interface AsyncifyControl {
  asyncify_start_unwind(data: number | bigint): void
  asyncify_stop_unwind(): void
  asyncify_start_rewind(data: number | bigint): void
  asyncify_stop_rewind(): void
  asyncify_get_state(): number
}

type AnyFunction = (...args: unknown[]) => unknown
type ImportObject = Record<string, Record<string, unknown>>

function control(exports: WebAssembly.Exports): AsyncifyControl {
  for (const name of [
    'asyncify_start_unwind',
    'asyncify_stop_unwind',
    'asyncify_start_rewind',
    'asyncify_stop_rewind',
    'asyncify_get_state',
  ]) {
    if (typeof exports[name] !== 'function') throw new Error(`the module does not export ${name}`)
  }
  return exports as unknown as AsyncifyControl
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as PromiseLike<unknown>).then === 'function'
  )
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

/** Size of the `{ current, end }` header. */
function headerSize(memory64: boolean): number {
  return memory64 ? 16 : 8
}

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
  const start = data + headerSize(memory64)
  if (start + bufferSize > view.byteLength)
    throw new Error(`asyncify buffer ${data}+${bufferSize} does not fit in a ${view.byteLength}-byte memory`)
  if (memory64) {
    view.setBigUint64(data, BigInt(start), true)
    view.setBigUint64(data + 8, BigInt(start + bufferSize), true)
    return BigInt(data)
  }
  view.setUint32(data, start, true)
  view.setUint32(data + 4, start + bufferSize, true)
  return data
}

/** Reads `{ current, end }` at `data` (as numbers). */
export function readAsyncifyData(
  memory: WebAssembly.Memory,
  data: number,
  memory64: boolean,
): { current: number; end: number } {
  const view = new DataView(memory.buffer)
  if (memory64)
    return { current: Number(view.getBigUint64(data, true)), end: Number(view.getBigUint64(data + 8, true)) }
  return { current: view.getUint32(data, true), end: view.getUint32(data + 4, true) }
}

function findMemory(exports: WebAssembly.Exports, name: string | undefined): WebAssembly.Memory {
  const names = name !== undefined ? [name] : ['asyncify_memory', 'memory']
  for (const n of names) {
    const m = exports[n]
    if (m instanceof WebAssembly.Memory) return m
  }
  const any = Object.values(exports).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory)
  if (name === undefined && any !== undefined) return any
  throw new Error(`the module exports no memory named ${name ?? 'memory'}`)
}

/** A JS value of a wasm type, for the garbage result an import returns while it starts an unwind. */
function zeroOf(t: ValType): unknown {
  switch (t) {
    case 'i32':
    case 'f32':
    case 'f64':
      return 0
    case 'i64':
      return 0n
    case 'v128':
      throw new Error('an import returning v128 cannot be called from JS')
    default:
      return null
  }
}

/** For each imported function `module.name`: what to return from it while unwinding. */
function importZeroResults(binary: Uint8Array): Map<string, unknown> {
  const m: Module = decode(binary, { bodies: 'lazy' })
  const out = new Map<string, unknown>()
  for (const imp of m.imports) {
    if (imp.desc.kind !== 'func') continue
    const c = m.types[imp.desc.type]?.composite
    if (c?.kind !== 'func') continue
    const results = c.results
    let zero: unknown
    try {
      zero =
        results.length === 0
          ? undefined
          : results.length === 1
            ? zeroOf(results[0] as ValType)
            : results.map(zeroOf)
    } catch {
      zero = undefined
    }
    out.set(`${imp.module}\u0000${imp.name}`, zero)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// 1. The async driver.

export interface DriverOptions {
  /** Address of the first `{ current, end }` struct (default 16). Keep clear of the module's own data. */
  dataAddr?: number
  /** Bytes of each unwind buffer, after its struct (default 1024). */
  bufferSize?: number
  /** How many calls may be suspended at once, each with its own buffer (default 4). */
  buffers?: number
  /** Export name of the memory holding the asyncify data (default `asyncify_memory`, else `memory`). */
  memoryExport?: string
  /** Force the pointer width; by default read from the memory (memory64 → i64 pointers). */
  memory64?: boolean
}

export interface CallStats {
  result: unknown
  /** Unwinds during this call (= times an import of it suspended). */
  unwinds: number
}

export interface AsyncifiedInstance {
  instance: WebAssembly.Instance
  exports: WebAssembly.Exports
  control: AsyncifyControl
  /** The memory holding the asyncify data. */
  memory: WebAssembly.Memory
  memory64: boolean
  /** Calls an export, suspending whenever an import returns a promise. */
  call(exportName: string, ...args: unknown[]): Promise<unknown>
  /** The same, also returning how many unwinds it took. */
  callWithStats(exportName: string, ...args: unknown[]): Promise<CallStats>
  /** Total unwinds / completed rewinds since instantiation (or the last resetCounts). */
  readonly unwinds: number
  readonly rewinds: number
  resetCounts(): void
  /** Address of buffer slot `i`'s struct. */
  slotAddress(i: number): number
}

interface Pending {
  key: string
  promise: PromiseLike<unknown>
  outcome: { ok: true; value: unknown } | { ok: false; error: unknown } | null
}

interface CallContext {
  slot: number
  pending: Pending | null
  unwinds: number
}

/**
 * Instantiates an asyncified module. `imports` may be an object or a function of the driver (for imports
 * that call back into exports). Import functions may return promises: the call that reached them is
 * suspended until the promise settles (a rejection is thrown into wasm from the import after the rewind).
 */
export async function instantiateAsyncified(
  binary: Uint8Array,
  imports: ImportObject | ((driver: AsyncifiedInstance) => ImportObject) = {},
  options: DriverOptions = {},
): Promise<AsyncifiedInstance> {
  const dataAddr = options.dataAddr ?? 16
  const bufferSize = options.bufferSize ?? 1024
  const bufferCount = options.buffers ?? 4
  const zeros = importZeroResults(binary)
  const busy = new Array<boolean>(bufferCount).fill(false)
  let running: CallContext | null = null
  let unwinds = 0
  let rewinds = 0
  // Filled in after instantiation; until then (a start function) the wrapped imports just call through.
  let ctl: AsyncifyControl | null = null
  let memory: WebAssembly.Memory | null = null
  let memory64 = false
  let stride = 0

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
    slotAddress: i => dataAddr + i * stride,
  }

  const wrap = (module: string, name: string, fn: AnyFunction): AnyFunction => {
    const key = `${module}\u0000${name}`
    const label = `${module}.${name}`
    return (...args: unknown[]): unknown => {
      if (ctl === null) {
        const r = fn(...args)
        if (isThenable(r)) throw new Error(`import ${label} returned a promise during instantiation`)
        return r
      }
      const state = ctl.asyncify_get_state()
      if (state === STATE_REWINDING) {
        const ctx = running
        if (ctx !== null && ctx.pending !== null && ctx.pending.key === key) {
          const p = ctx.pending
          ctx.pending = null
          ctl.asyncify_stop_rewind()
          rewinds++
          const outcome = p.outcome
          if (outcome === null) throw new Error(`internal: rewound into ${label} before its promise settled`)
          if (!outcome.ok) throw outcome.error
          return outcome.value
        }
        // A JS frame on the path to the suspended import, re-entered by the rewind: run it again.
        const r = fn(...args)
        if (isThenable(r)) throw new Error(`import ${label} returned a promise while rewinding`)
        return r
      }
      if (state === STATE_UNWINDING) throw new Error(`import ${label} called while unwinding`)
      const r = fn(...args)
      if (!isThenable(r)) return r
      const ctx = running
      if (ctx === null) throw new Error(`import ${label} returned a promise outside driver.call`)
      if (ctx.pending !== null)
        throw new Error(`import ${label} suspended while ${ctx.pending.key} is pending`)
      ctx.pending = { key, promise: r, outcome: null }
      const ptr = writeAsyncifyData(
        memory as WebAssembly.Memory,
        driver.slotAddress(ctx.slot),
        bufferSize,
        memory64,
      )
      ctl.asyncify_start_unwind(ptr)
      unwinds++
      ctx.unwinds++
      return zeros.get(key)
    }
  }

  const given = typeof imports === 'function' ? imports(driver) : imports
  const wrapped: ImportObject = {}
  for (const [module, fields] of Object.entries(given)) {
    const out: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(fields))
      out[name] = typeof value === 'function' ? wrap(module, name, value as AnyFunction) : value
    wrapped[module] = out
  }

  const { instance } = await WebAssembly.instantiate(binary as BufferSource, wrapped as WebAssembly.Imports)
  const exports = instance.exports
  ctl = control(exports)
  memory = findMemory(exports, options.memoryExport)
  memory64 = options.memory64 ?? isMemory64(memory)
  stride = (headerSize(memory64) + bufferSize + 15) & ~15
  Object.assign(driver, { instance, exports, control: ctl, memory, memory64 })

  const runIn = <T>(ctx: CallContext, f: () => T): T => {
    const outer = running
    running = ctx
    try {
      return f()
    } finally {
      running = outer
    }
  }

  async function callWithStats(name: string, ...args: unknown[]): Promise<CallStats> {
    const fn = exports[name]
    if (typeof fn !== 'function') throw new Error(`no exported function ${name}`)
    const c = ctl as AsyncifyControl
    if (c.asyncify_get_state() !== STATE_NORMAL)
      throw new Error(`call of ${name} while the module is unwinding or rewinding`)
    const slot = busy.indexOf(false)
    if (slot < 0) throw new Error(`more than ${bufferCount} calls in flight: raise options.buffers`)
    busy[slot] = true
    const ctx: CallContext = { slot, pending: null, unwinds: 0 }
    try {
      for (;;) {
        const result = runIn(ctx, () => (fn as AnyFunction)(...args))
        const state = c.asyncify_get_state()
        if (state === STATE_NORMAL) {
          if (ctx.pending !== null)
            throw new Error(`${name} returned without rewinding into ${ctx.pending.key}`)
          return { result, unwinds: ctx.unwinds }
        }
        if (state === STATE_REWINDING) {
          c.asyncify_stop_rewind()
          throw new Error(
            `${name} returned while still rewinding: the rewind never reached the suspended import`,
          )
        }
        // Unwound. stop_unwind traps if the frames overflowed the buffer.
        c.asyncify_stop_unwind()
        const p = ctx.pending
        if (p === null)
          throw new Error(`${name} unwound but no import suspended (asyncify.start_unwind from wasm?)`)
        try {
          p.outcome = { ok: true, value: await p.promise }
        } catch (error) {
          p.outcome = { ok: false, error }
        }
        c.asyncify_start_rewind(memory64 ? BigInt(driver.slotAddress(slot)) : driver.slotAddress(slot))
      }
    } finally {
      busy[slot] = false
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
  const stride = (8 + bufferSize + 15) & ~15
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
      if (last !== undefined && last.data + 8 + bufferSize > memory.buffer.byteLength)
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

// Runs one binaryen fuzz module (`wasm-opt -ttf`) and records what it does: per export, the result or
// the error class and the values it logged; at the end, memory and the exported globals.
//
// References (exception handling / GC modules) are shown by identity, not by content: each object or
// function gets a label the first time it is shown (`gc#3`, `Error#2`, `exn#1`; imports, exports and the
// imported extern globals by name), so two runs agree exactly when they show the same references in the
// same order. An exception that reaches JS is shown with its tag and payload (tags are exported by the
// harness, see RunRequest.tags), a JS value thrown from wasm (through the JS tag) like any other value.
//
// With `suspend: 'always'`, and when the module has binaryen's asyncify API, every import call made from
// an export suspends and resumes at once: the import does its work, starts an unwind and returns; when
// the export comes back unwound, the driver stops the unwind, starts a rewind and calls the export
// again; the import, called again while rewinding, stops the rewind and returns what it computed the
// first time. Imports that call back into the module (call-export) nest this. With 'sometimes', about
// half the import calls suspend (deterministically), so instrumented code also sees imports return
// normally between suspensions.
//
// The driver's asyncify data lives in the module's memory 0 (the ABI's default), in pages added after
// the module's own, but the module never sees it: see DriverData. Memory is compared whole.
//
// An indirect call on the stack when an import suspends is made again on rewind, through the same
// table slot (binaryen's asyncify does the same): if the program changed that slot during the call,
// the rewind reaches the new entry. The driver notices suspensions made after a slot of an exported
// table changed during the export call (RunResult.tableChangedSuspensions), so the harness can tell that
// known limit from a failure (RunRequest.skipTableChangedSuspensions).
//
// This file runs as a worker thread (see asyncify-harness.ts) straight from TypeScript through Node's
// type stripping: it imports node builtins and the ABI (started with `--conditions=source`, which
// resolves workspace packages to their sources) and uses only erasable syntax.
import { parentPort, workerData } from 'node:worker_threads'
import { API_NAMES, DATA_HEADER, EXPORTS, STATE } from '@unplugin-asyncify/runtime/abi'

/** Export names the harness adds to the fuzz module before running or instrumenting it. */
export const MEMORY_EXPORT = '__fuzz_memory'
export const GLOBAL_EXPORT_PREFIX = '__fuzz_global_'
export const TAG_EXPORT_PREFIX = '__fuzz_tag_'
export const HANG_LIMIT_EXPORT = '__fuzz_hang_limit'
/** Pages the driver adds after instantiation for the asyncify data (see DriverData). */
export const DRIVER_PAGES = 16
/**
 * The asyncify data (header + stack) at the start of the driver pages. One buffer serves every nesting
 * depth: a nested export call suspends and resumes completely while the import that made it is still
 * running in normal state, so at most one depth has frames saved at any time. (binaryen's unoptimized
 * output saves every local of every frame; 32 KiB once overflowed.)
 */
const DATA_BYTES = DRIVER_PAGES * 65536
const HEADER = DATA_HEADER.i32
const MAX_SUSPENSIONS_PER_CALL = 100_000
/**
 * Import calls per top-level export call. The fuzzer's hang limit bounds loops and recursion, but not a
 * loop that calls call-export-catch on an export that exhausts the limit (the trap resets it): past this
 * budget every import throws, which no call-export-catch catches. Deterministic: all variants stop alike.
 */
const IMPORT_CALL_BUDGET = 10_000

/**
 * Nested export calls (call-export inside call-export...). Each level may hold up to hang-limit wasm
 * frames; without a cap ~0.5% of modules ran out of JS stack, at a depth that varies between runs.
 */
const MAX_NESTING = 12

export interface RunRequest {
  bytes: Uint8Array
  /** Which import calls suspend, if the module exports the asyncify API. */
  suspend: 'never' | 'always' | 'sometimes'
  /** What the driver pages hold before the exports run (zeros when absent; repeated to fill them). */
  driverInit?: Uint8Array
  /**
   * Harness self-test: leave the saved frames where the module can read them, as the driver did until
   * seed 2804 of the 'eh' variant showed what that hides (test/fuzz/driver-data.test.ts).
   */
  shareDriverData?: boolean
  /** Make no suspension after a slot of an exported table changed during the export call (see top). */
  skipTableChangedSuspensions?: boolean
  /** Param types of every exported function, by export name (zeros are passed). */
  params: Record<string, string[]>
  /** Initial value of the fuzzer's hang-limit global (exported as HANG_LIMIT_EXPORT), reset per export. */
  hangLimit: number | null
  /**
   * Treat other arguments on the rewinding call of the import than on the unwinding one as a protocol
   * violation (binaryen passes the same ones). Otherwise they are only counted.
   */
  strictRewindArgs: boolean
  /** Harness self-test: zero the saved frames before each rewind (must make runs diverge). */
  sabotage?: boolean
  /**
   * Param types of the module's tags, by export name (TAG_EXPORT_PREFIX, in tag index order): a
   * WebAssembly.Exception reaching JS is shown with the first of them it `is`, and its payload.
   */
  tags?: Record<string, string[]>
  /** Debugging: record the stack of every error an export call ends with (RunResult.stacks). */
  stacks?: boolean
}

export interface CallRecord {
  name: string
  outcome: string
  logs: string[]
}

export interface RunResult {
  /** 'ok', or why compiling or instantiating failed. */
  instantiate: string
  /** Logged while instantiating (the start function). */
  startLogs: string[]
  calls: CallRecord[]
  /** Final memory, driver pages included (the module's view of them, see DriverData). */
  memory: Uint8Array | null
  /** Byte range of the driver pages in the final memory. */
  driverPages: [number, number] | null
  globals: Record<string, string>
  suspensions: number
  /** Suspensions made after a slot of an exported table changed during the export call, and the first. */
  tableChangedSuspensions: number
  tableChangedExample: string | null
  /**
   * Whether the JS stack ran out somewhere (even where call-export-catch caught it). Where that happens
   * depends on frame sizes, which instrumentation changes, so such runs cannot be compared.
   */
  stackOverflow: boolean
  /** Most bytes of asyncify data one unwind wrote (the stack part of the data). */
  maxUnwindBytes: number
  /** Rewinds where the import got other arguments than when it unwound (binaryen passes the same). */
  rewindArgMismatches: number
  /** The first such rewind. */
  rewindArgExample: string | null
  /** Asyncify protocol violations the driver saw. */
  anomalies: string[]
  /** With RunRequest.stacks: export name and stack of each error an export call ended with. */
  stacks?: string[]
}

class DriverError extends Error {
  override name = 'DriverError'
}

class BudgetError extends Error {
  override name = 'BudgetError'
}

type Fn = (...args: unknown[]) => unknown

/** The module's control exports, by their short names (runtime/abi.ts). */
type AsyncifyApi = Record<(typeof API_NAMES)[number], Fn>

/** The control exports, when the module has them all. */
function asyncifyApi(exports: Record<string, unknown>): AsyncifyApi | null {
  const api: Partial<AsyncifyApi> = {}
  for (const name of API_NAMES) {
    const fn = exports[EXPORTS[name]]
    if (typeof fn !== 'function') return null
    api[name] = fn as Fn
  }
  return api as AsyncifyApi
}

const CONTROL_EXPORTS = new Set<string>(Object.values(EXPORTS))

/**
 * The driver's asyncify data in memory 0, kept out of the module's sight. The data has to live in
 * memory the instrumented code addresses, and a fuzz module may read any address, the driver pages
 * too: seed 2804 of the 'eh' variant loads a word there, masks it and loads through it; after a
 * suspension that word was a saved frame where the original, which never suspends, read zeros, so the
 * instrumented run trapped and the original did not (test/fuzz/driver-data.test.ts has the proof).
 * Filling the pages with another byte (the old check) cannot expose such a read: both fills happened to
 * be harmless there. So the module's own view of the pages is what it sees whenever its code runs:
 * saved before an unwind writes frames over it, put back when the unwind stops; the frames are kept
 * aside and written back only for the rewind, and the view is put back when the rewind stops. Only
 * code that runs while the state is not normal sees frames: the saving and restoring, and whatever an
 * instrumented call recomputes on the way back to the import (its arguments, which the import ignores
 * when rewound into; `strictRewindArgs` checks them). The final memory, driver pages included, is the
 * module's own and is compared whole.
 */
class DriverData {
  /** The module's view of the pages while frames are written there. */
  private readonly view = new Uint8Array(DATA_BYTES)
  /** Header + frames of the current suspension, while they are set aside. */
  private frames = new Uint8Array(4096)
  /** Bytes of header + frames written by the current suspension. */
  private written = 0

  private readonly memory: WebAssembly.Memory
  readonly base: number
  /** Leave the frames in the module's view (RunRequest.shareDriverData). */
  private readonly share: boolean

  constructor(memory: WebAssembly.Memory, base: number, share: boolean) {
    this.memory = memory
    this.base = base
    this.share = share
  }

  private pages(): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.base, DATA_BYTES)
  }

  private header(): DataView {
    return new DataView(this.memory.buffer, this.base, HEADER.size)
  }

  /** Before `start_unwind`: sets aside the module's view and writes the header. */
  beginUnwind(): void {
    if (!this.share) this.view.set(this.pages())
    const h = this.header()
    h.setInt32(HEADER.current, this.base + HEADER.size, true)
    h.setInt32(HEADER.end, this.base + DATA_BYTES, true)
  }

  /** After `stop_unwind`: bytes of frames the unwind saved. Sets them aside and restores the view. */
  endUnwind(): number {
    const used = this.header().getInt32(HEADER.current, true) - this.base - HEADER.size
    this.written = Math.min(DATA_BYTES, HEADER.size + Math.max(0, used))
    if (!this.share) {
      if (this.frames.length < this.written) this.frames = new Uint8Array(this.written * 2)
      this.frames.set(this.pages().subarray(0, this.written))
      this.restoreView()
    }
    return used
  }

  /** Before `start_rewind`: the frames back in place (zeroed, for the harness self-test). */
  beginRewind(sabotage: boolean): void {
    const pages = this.pages()
    if (!this.share) pages.set(this.frames.subarray(0, this.written))
    if (sabotage) pages.subarray(HEADER.size, this.written).fill(0)
  }

  /** Where `current` points (after `stop_rewind` it must be back at the start of the stack). */
  current(): number {
    return this.header().getInt32(HEADER.current, true)
  }

  /** After `stop_rewind`: the module's view again. */
  restoreView(): void {
    if (!this.share) this.pages().set(this.view.subarray(0, this.written))
  }

  /** After an unwind or rewind that ended in an error (frames of unknown extent): all of the view. */
  abandon(): void {
    if (!this.share) this.pages().set(this.view)
  }
}

/** Entries of the module's exported tables, to tell whether a slot changed during an export call. */
class TableWatch {
  private readonly tables: [string, WebAssembly.Table][]

  constructor(exports: Record<string, unknown>) {
    this.tables = Object.entries(exports).filter(
      (e): e is [string, WebAssembly.Table] => e[1] instanceof WebAssembly.Table && readable(e[1]),
    )
  }

  snapshot(): unknown[][] {
    return this.tables.map(([, t]) => Array.from({ length: t.length }, (_, i) => t.get(i)))
  }

  /** The first slot that differs from `snap`, as text, or null. */
  changedSince(snap: unknown[][] | undefined): string | null {
    if (snap === undefined) return null
    for (const [k, [name, t]] of this.tables.entries()) {
      const before = snap[k] as unknown[]
      if (t.length !== before.length) return `table ${name} grew from ${before.length} to ${t.length}`
      for (let i = 0; i < t.length; i++)
        if (!Object.is(t.get(i), before[i])) return `slot ${i} of table ${name}`
    }
    return null
  }
}

/** Whether JS can read the table's entries (V8 refuses to hand exnrefs to JS). */
function readable(t: WebAssembly.Table): boolean {
  try {
    if (t.length > 0) t.get(0)
    return true
  } catch {
    return false
  }
}

/** A value as text without giving references labels (for harness messages and binaryen's errors). */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (Array.isArray(v)) return `[${v.map(formatValue).join(',')}]`
  if (v === undefined) return 'void'
  if (v === null) return 'null'
  return typeof v
}

/** An error as text, without labels (see Values.classify for the one runs are compared by). */
export function classifyError(e: unknown): string {
  if (e instanceof DriverError) return `driver: ${e.message}`
  if (e instanceof BudgetError) return `budget: ${e.message}`
  if (e instanceof WebAssembly.RuntimeError) return `trap: ${e.message}`
  if (e instanceof WebAssembly.CompileError) return `compile: ${e.message}`
  if (e instanceof WebAssembly.LinkError) return `link: ${e.message}`
  if (e instanceof WebAssembly.Exception) return 'wasm exception'
  if (e instanceof Error) return `${e.name}: ${e.message}`
  return `throw: ${formatValue(e)}`
}

interface TagInfo {
  name: string
  tag: WebAssembly.Tag
  params: string[]
}

/**
 * One run's text for values: references by identity (a label given when first shown, see the top of the
 * file), exceptions with their tag and payload.
 */
class Values {
  private readonly labels = new Map<unknown, string>()
  private readonly counts = new Map<string, number>()
  /** Tags a WebAssembly.Exception is tested against, in order. */
  readonly tags: TagInfo[] = []
  /** Whether a RangeError (V8's stack overflow) was shown, e.g. one that wasm caught and logged. */
  stackOverflow = false

  /** Labels a reference by name (imports, exports, imported globals), unless it has a label already. */
  name(v: unknown, label: string): void {
    if (!this.labels.has(v)) this.labels.set(v, label)
  }

  private label(v: object, kind: string): string {
    let l = this.labels.get(v)
    if (l === undefined) {
      const n = (this.counts.get(kind) ?? 0) + 1
      this.counts.set(kind, n)
      l = `${kind}#${n}`
      this.labels.set(v, l)
    }
    return l
  }

  /** A value as text, without giving it a label: for driver messages, which differ between runs. */
  peek(v: unknown): string {
    return (typeof v === 'object' || typeof v === 'function') && v !== null
      ? (this.labels.get(v) ?? typeof v)
      : formatValue(v)
  }

  show(v: unknown): string {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      if (v instanceof WebAssembly.Exception) return `${this.label(v, 'exn')} ${this.exceptionTag(v)}`
      if (v instanceof Error) {
        if (v instanceof RangeError) this.stackOverflow = true
        return this.label(v, v.name)
      }
      // GC structs and arrays are opaque to JS: no prototype.
      return this.label(v, Object.getPrototypeOf(v) === null ? 'gc' : 'object')
    }
    if (typeof v === 'function') return this.label(v, 'func')
    if (typeof v === 'string') return JSON.stringify(v)
    if (Array.isArray(v)) return `[${v.map(x => this.show(x)).join(',')}]`
    return formatValue(v)
  }

  private exceptionTag(e: WebAssembly.Exception): string {
    for (const t of this.tags) {
      if (!e.is(t.tag)) continue
      const args = t.params.map((_, i) => {
        try {
          return this.show(e.getArg(t.tag, i))
        } catch {
          return '?'
        }
      })
      return `${t.name}(${args.join(',')})`
    }
    return 'with an unknown tag'
  }

  /** An error as text: what the runs are compared by. */
  classify(e: unknown): string {
    if (e instanceof WebAssembly.Exception) return `wasm exception ${this.show(e)}`
    if (e instanceof DriverError || e instanceof BudgetError || e instanceof WebAssembly.RuntimeError)
      return classifyError(e)
    if (e instanceof Error) return `${classifyError(e)} (${this.show(e)})`
    return `throw: ${this.show(e)}`
  }
}

/** V8's stack overflow (RangeError); nothing else here throws one. No work beyond that: the stack is low. */
function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError
}

/** The argument the driver passes for a param: zero, or null for references (as binaryen's fuzz_shell.js). */
function zero(type: string): unknown {
  if (type === 'ref') return null
  return type === 'i64' ? 0n : 0
}

/**
 * (module (import "js" "log" (func (param i32 i32 i32 i32)))
 *   (func (export "log_v128") (param v128) lanes 0-3 of i32x4 → call 0))
 * JS cannot take a v128, so log-v128 goes through this wasm shim.
 */
// biome-ignore format: one section per line
const V128_SHIM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x0c, 0x02, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x60, 0x01, 0x7b, 0x00,
  0x02, 0x0a, 0x01, 0x02, 0x6a, 0x73, 0x03, 0x6c, 0x6f, 0x67, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x01,
  0x07, 0x0c, 0x01, 0x08, 0x6c, 0x6f, 0x67, 0x5f, 0x76, 0x31, 0x32, 0x38, 0x00, 0x01,
  0x0a, 0x1a, 0x01, 0x18, 0x00,
  0x20, 0x00, 0xfd, 0x1b, 0x00, 0x20, 0x00, 0xfd, 0x1b, 0x01,
  0x20, 0x00, 0xfd, 0x1b, 0x02, 0x20, 0x00, 0xfd, 0x1b, 0x03,
  0x10, 0x00, 0x0b,
])
let v128Shim: WebAssembly.Module | null = null

/** A run with nothing recorded yet; `instantiate` says whether the module got that far. */
export function emptyRunResult(instantiate: string): RunResult {
  return {
    instantiate,
    startLogs: [],
    calls: [],
    memory: null,
    driverPages: null,
    globals: {},
    suspensions: 0,
    tableChangedSuspensions: 0,
    tableChangedExample: null,
    stackOverflow: false,
    maxUnwindBytes: 0,
    rewindArgMismatches: 0,
    rewindArgExample: null,
    anomalies: [],
  }
}

export function runModule(req: RunRequest): RunResult {
  const result = emptyRunResult('ok')
  let module: WebAssembly.Module
  try {
    module = new WebAssembly.Module(req.bytes as Uint8Array<ArrayBuffer>)
  } catch (e) {
    result.instantiate = classifyError(e)
    return result
  }

  const values = new Values()
  let exports: Record<string, unknown> | null = null
  let api: AsyncifyApi | null = null
  let data: DriverData | null = null
  let tables: TableWatch | null = null
  /** Per depth: the exported tables' entries when the export call began (see TableWatch). */
  const tablesAtEntry: (unknown[][] | undefined)[] = []
  let depth = 0
  let logs = result.startLogs
  /** Per depth: the import that unwound, its arguments and its real result. */
  const pending: ({ name: string; args: unknown[]; result: unknown } | undefined)[] = []
  let callableExports: string[] = []
  /** Deterministic coin for suspend: 'sometimes' (xorshift32). */
  let coinState = 0x9e3779b9
  const coin = (): boolean => {
    coinState ^= coinState << 13
    coinState ^= coinState >>> 17
    coinState ^= coinState << 5
    return (coinState & 0x100) !== 0
  }
  /** Import calls in the current top-level export call (see IMPORT_CALL_BUDGET). */
  let importCalls = 0
  /** The fuzzer's wasm tag ("fuzzing-support" "wasmtag"), which its `throw` import throws with. */
  const wasmTag = new WebAssembly.Tag({ parameters: ['i32'] })
  values.tags.push({ name: 'wasmtag', tag: wasmTag, params: ['i32'] })
  /** What the fuzzer's imports throw for "a JS exception" (a fresh object each time). */
  const jsError = (why: string): Error => new Error(`fuzzer: ${why}`)

  const anomaly = (message: string): DriverError => {
    result.anomalies.push(message)
    return new DriverError(message)
  }

  /**
   * Calls into the module from JS, one depth further: while the call returns unwinding, stops the unwind
   * and calls again rewinding.
   */
  const enter = (name: string, fn: Fn, args: unknown[]): unknown => {
    depth++
    const d = depth
    if (tables !== null) tablesAtEntry[d] = tables.snapshot()
    try {
      let r = fn(...args)
      let n = 0
      while (api !== null && data !== null && api.get_state() === STATE.unwinding) {
        if (++n > MAX_SUSPENSIONS_PER_CALL) throw anomaly(`${name}: more than ${n - 1} suspensions`)
        api.stop_unwind()
        const used = data.endUnwind()
        if (pending[d] === undefined) throw anomaly(`${name} returned unwinding, but no import unwound`)
        result.maxUnwindBytes = Math.max(result.maxUnwindBytes, used)
        if (used > DATA_BYTES - HEADER.size)
          throw anomaly(`harness: the unwind needs ${used} bytes, the buffer has ${DATA_BYTES - HEADER.size}`)
        data.beginRewind(req.sabotage === true)
        api.start_rewind(data.base)
        r = fn(...args)
      }
      if (api !== null) {
        const state = api.get_state()
        if (state !== STATE.normal) throw anomaly(`${name} returned in asyncify state ${state}`)
        if (pending[d] !== undefined)
          throw anomaly(`${name} returned before rewinding into ${pending[d].name}`)
      }
      return r
    } catch (e) {
      if (api !== null) {
        const state = api.get_state()
        if (state !== STATE.normal) {
          result.anomalies.push(`${name} threw (${classifyError(e)}) in asyncify state ${state}`)
          if (state === STATE.unwinding) api.stop_unwind()
          else api.stop_rewind()
          data?.abandon()
        }
      }
      throw e
    } finally {
      pending[d] = undefined
      tablesAtEntry[d] = undefined
      depth--
    }
  }

  const callExport = (name: string): unknown =>
    enter(name, exports?.[name] as Fn, (req.params[name] ?? []).map(zero))

  const nested = (index: unknown): void => {
    if (exports === null) throw new Error('call-export during instantiation')
    if (depth >= MAX_NESTING) throw new BudgetError(`call-export nested over ${MAX_NESTING} deep`)
    const name = callableExports[index as number]
    if (name === undefined) throw new Error(`call-export: no export ${String(index)}`)
    callExport(name)
  }

  /** call-ref: calls a function reference from JS with null arguments (as binaryen's fuzz_shell.js). */
  const callRef = (ref: unknown): void => {
    if (typeof ref !== 'function') throw jsError('call-ref of a non-function')
    if (depth >= MAX_NESTING) throw new BudgetError(`call-ref nested over ${MAX_NESTING} deep`)
    const fn = ref as Fn
    enter(
      values.peek(fn),
      fn,
      Array.from({ length: fn.length }, () => null),
    )
  }

  /** call-export-catch, call-ref-catch: 1 when the call threw (driver and budget errors go on). */
  const catching = (call: () => void): number => {
    try {
      call()
      return 0
    } catch (e) {
      if (e instanceof DriverError || e instanceof BudgetError) throw e
      if (isStackOverflow(e)) result.stackOverflow = true
      logs.push(`caught ${values.classify(e)}`)
      return 1
    }
  }

  /** The table the fuzzer exports for table-get/table-set. */
  const fuzzTable = (index: unknown, what: string): [WebAssembly.Table, number] => {
    const table = exports?.table
    const i = (index as number) >>> 0
    if (!(table instanceof WebAssembly.Table)) throw jsError(`${what} without a table`)
    if (i >= table.length) throw jsError(`${what} ${i} out of bounds`)
    return [table, i]
  }

  const impls: Record<string, Fn> = {
    'log-i32': x => void logs.push(`i32 ${values.show(x)}`),
    'log-i64': x => void logs.push(`i64 ${values.show(x)}`),
    'log-f32': x => void logs.push(`f32 ${values.show(x)}`),
    'log-f64': x => void logs.push(`f64 ${values.show(x)}`),
    'log-v128': (...lanes) =>
      void logs.push(`v128 ${lanes.map(l => ((l as number) >>> 0).toString(16)).join(' ')}`),
    'log-anyref': x => void logs.push(`anyref ${values.show(x)}`),
    'log-funcref': x => void logs.push(`funcref ${values.show(x)}`),
    'log-externref': x => void logs.push(`externref ${values.show(x)}`),
    // The second argument (flags: catch and rethrow) makes no observable difference.
    'call-export': index => {
      logs.push(`call-export ${String(index)}`)
      nested(index)
    },
    'call-export-catch': index => {
      logs.push(`call-export-catch ${String(index)}`)
      return catching(() => nested(index))
    },
    'call-ref': ref => {
      logs.push(`call-ref ${values.show(ref)}`)
      callRef(ref)
    },
    'call-ref-catch': ref => {
      logs.push(`call-ref-catch ${values.show(ref)}`)
      return catching(() => callRef(ref))
    },
    'table-get': index => {
      const [table, i] = fuzzTable(index, 'table-get')
      return table.get(i)
    },
    'table-set': (index, ref) => {
      const [table, i] = fuzzTable(index, 'table-set')
      table.set(i, ref)
    },
    sleep: (_ms, id) => id,
    // 0: a JS exception; otherwise a wasm exception with the fuzzer's tag and this payload.
    throw: x => {
      if (x === 0) throw jsError('throw')
      throw new WebAssembly.Exception(wasmTag, [x])
    },
  }

  /** The import as the module sees it: does the work once, suspends and resumes around it. */
  const wrap =
    (name: string, impl: Fn): Fn =>
    (...args) => {
      if (api !== null && data !== null) {
        const state = api.get_state()
        if (state === STATE.rewinding) {
          const p = pending[depth]
          const shown = (list: unknown[]): string => list.map(a => values.peek(a)).join(',')
          if (p === undefined) throw anomaly(`rewound into ${name}(${shown(args)}) with nothing pending`)
          const same = p.args.length === args.length && p.args.every((a, i) => Object.is(a, args[i]))
          if (p.name !== name || (req.strictRewindArgs && !same))
            throw anomaly(`rewound into ${name}(${shown(args)}), but ${p.name}(${shown(p.args)}) unwound`)
          if (!same) {
            result.rewindArgMismatches++
            result.rewindArgExample ??= `${name}(${shown(p.args)}) rewound as ${name}(${shown(args)})`
          }
          api.stop_rewind()
          const current = data.current()
          data.restoreView()
          if (current !== data.base + HEADER.size)
            result.anomalies.push(
              `after rewinding into ${name}, data.current is ${current - data.base - HEADER.size} bytes into the stack`,
            )
          pending[depth] = undefined
          return p.result
        }
        if (state !== STATE.normal) throw anomaly(`import ${name} called in asyncify state ${state}`)
      }
      if (++importCalls > IMPORT_CALL_BUDGET) throw new BudgetError(`over ${IMPORT_CALL_BUDGET} import calls`)
      const value = impl(...args)
      if (api !== null && data !== null && depth >= 1 && (req.suspend === 'always' || coin())) {
        const changed = tables?.changedSince(tablesAtEntry[depth]) ?? null
        if (changed !== null) {
          result.tableChangedSuspensions++
          result.tableChangedExample ??= `${name} would suspend after ${changed} changed`
          if (req.skipTableChangedSuspensions) return value
        }
        pending[depth] = { name, args, result: value }
        result.suspensions++
        data.beginUnwind()
        api.start_unwind(data.base)
      }
      return value
    }

  const imports: Record<string, Record<string, unknown>> = {}
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {}
    const table = imports[imp.module] as Record<string, unknown>
    if (imp.kind === 'tag' && imp.module === 'fuzzing-support' && imp.name === 'wasmtag') {
      table[imp.name] = wasmTag
      continue
    }
    if (imp.kind === 'tag' && imp.module === 'fuzzing-support' && imp.name === 'jstag') {
      table[imp.name] = WebAssembly.JSTag
      continue
    }
    if (imp.kind === 'global' && imp.module === '__fuzz_import') {
      // The fuzzer's immutable externref globals: any distinct JS values do.
      const value = Object.freeze({ fuzzImport: imp.name })
      values.name(value, `extern ${imp.name}`)
      table[imp.name] = value
      continue
    }
    if (imp.kind !== 'function') {
      result.instantiate = `unsupported import ${imp.module}.${imp.name} (${imp.kind})`
      return result
    }
    const impl =
      imp.module === 'fuzzing-support' && Object.hasOwn(impls, imp.name)
        ? (impls[imp.name] as Fn)
        : () => {
            throw new Error(`unsupported import ${imp.module}.${imp.name}`)
          }
    if (imp.module === 'fuzzing-support' && imp.name === 'log-v128') {
      v128Shim ??= new WebAssembly.Module(V128_SHIM)
      const shim = new WebAssembly.Instance(v128Shim, { js: { log: wrap(imp.name, impl) } })
      table[imp.name] = shim.exports.log_v128
    } else {
      table[imp.name] = wrap(imp.name, impl)
    }
    values.name(table[imp.name], `import ${imp.name}`)
  }

  let instance: WebAssembly.Instance
  try {
    instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports)
  } catch (e) {
    result.instantiate = values.classify(e)
    return result
  }
  exports = instance.exports as Record<string, unknown>
  const names = WebAssembly.Module.exports(module)
  callableExports = names
    .filter(e => e.kind === 'function' && !CONTROL_EXPORTS.has(e.name) && !e.name.startsWith('__fuzz_'))
    .map(e => e.name)
  for (const name of callableExports) values.name(exports[name], `export ${name}`)
  for (const [name, params] of Object.entries(req.tags ?? {})) {
    const tag = exports[name]
    if (tag instanceof WebAssembly.Tag) values.tags.push({ name, tag, params })
  }

  const memory = exports[MEMORY_EXPORT]
  if (memory instanceof WebAssembly.Memory) {
    let base: number
    try {
      base = memory.grow(DRIVER_PAGES) * 65536
    } catch (e) {
      result.instantiate = `cannot add the driver pages: ${classifyError(e)}`
      return result
    }
    const init = req.driverInit
    if (init !== undefined && init.length > 0) {
      const pages = new Uint8Array(memory.buffer, base, DATA_BYTES)
      for (let at = 0; at < DATA_BYTES; at += init.length) pages.set(init.subarray(0, DATA_BYTES - at), at)
    }
    result.driverPages = [base, base + DATA_BYTES]
    api = req.suspend === 'never' ? null : asyncifyApi(exports)
    if (api !== null) {
      data = new DriverData(memory, base, req.shareDriverData === true)
      tables = new TableWatch(exports)
    }
  }
  const hang = exports[HANG_LIMIT_EXPORT]

  for (const name of callableExports) {
    if (req.hangLimit !== null && hang instanceof WebAssembly.Global) hang.value = req.hangLimit
    logs = []
    importCalls = 0
    let outcome: string
    try {
      outcome = `return ${values.show(callExport(name))}`
    } catch (e) {
      if (isStackOverflow(e)) result.stackOverflow = true
      outcome = values.classify(e)
      if (req.stacks) result.stacks = [...(result.stacks ?? []), `${name}: ${(e as Error)?.stack ?? outcome}`]
    }
    result.calls.push({ name, outcome, logs })
  }

  for (const e of names) {
    if (e.kind !== 'global') continue
    try {
      result.globals[e.name] = values.show((exports[e.name] as WebAssembly.Global).value)
    } catch (err) {
      result.globals[e.name] = classifyError(err)
    }
  }
  if (values.stackOverflow) result.stackOverflow = true
  if (memory instanceof WebAssembly.Memory) result.memory = new Uint8Array(memory.buffer).slice()
  return result
}

/** workerData that makes this file a worker answering { id, req } with { id, res } or { id, error }. */
export const WORKER_FLAG = 'asyncify-exec'

if (workerData === WORKER_FLAG)
  parentPort?.on('message', (msg: { id: number; req: RunRequest }) => {
    try {
      const res = runModule(msg.req)
      parentPort?.postMessage({ id: msg.id, res }, res.memory ? [res.memory.buffer as ArrayBuffer] : [])
    } catch (e) {
      parentPort?.postMessage({ id: msg.id, error: (e as Error)?.stack ?? String(e) })
    }
  })

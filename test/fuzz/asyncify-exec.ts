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
// This file runs as a worker thread (see asyncify-harness.ts) straight from TypeScript through Node's
// type stripping: it imports only node builtins and uses only erasable syntax.
import { Buffer } from 'node:buffer'
import { parentPort, workerData } from 'node:worker_threads'

/** Export names the harness adds to the fuzz module before running or instrumenting it. */
export const MEMORY_EXPORT = '__fuzz_memory'
export const GLOBAL_EXPORT_PREFIX = '__fuzz_global_'
export const TAG_EXPORT_PREFIX = '__fuzz_tag_'
export const HANG_LIMIT_EXPORT = '__fuzz_hang_limit'
/** Pages the driver adds after instantiation for the asyncify data; excluded from comparisons. */
export const DRIVER_PAGES = 16
/**
 * The asyncify data (struct + stack) at the start of the driver pages. One buffer serves every nesting
 * depth: a nested export call suspends and resumes completely while the import that made it is still
 * running in normal state, so at most one depth has frames saved at any time. (binaryen's unoptimized
 * output saves every local of every frame; 32 KiB once overflowed.)
 */
const DATA_BYTES = DRIVER_PAGES * 65536
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
  /** Byte the driver pages are filled with before the exports run. */
  fill: number
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
  /** Final memory without the driver pages. */
  memory: Uint8Array | null
  /** Byte range of the driver pages in the final memory. */
  driverPages: [number, number] | null
  /** Whether the driver pages still hold only `fill` (meaningful for runs that never suspend). */
  driverPagesIntact: boolean
  globals: Record<string, string>
  suspensions: number
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

interface AsyncifyApi {
  start_unwind(data: number): void
  stop_unwind(): void
  start_rewind(data: number): void
  stop_rewind(): void
  get_state(): number
}

type Fn = (...args: unknown[]) => unknown

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
    driverPagesIntact: true,
    globals: {},
    suspensions: 0,
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
  let memory: WebAssembly.Memory | null = null
  let driverBase = 0
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
    try {
      let r = fn(...args)
      let n = 0
      while (api !== null && api.get_state() === 1) {
        if (++n > MAX_SUSPENSIONS_PER_CALL) throw anomaly(`${name}: more than ${n - 1} suspensions`)
        api.stop_unwind()
        if (pending[d] === undefined) throw anomaly(`${name} returned unwinding, but no import unwound`)
        const buffer = (memory as WebAssembly.Memory).buffer
        const used = new DataView(buffer).getInt32(driverBase, true) - driverBase - 8
        result.maxUnwindBytes = Math.max(result.maxUnwindBytes, used)
        if (used > DATA_BYTES - 8)
          throw anomaly(`harness: the unwind needs ${used} bytes, the buffer has ${DATA_BYTES - 8}`)
        if (req.sabotage) new Uint8Array(buffer, driverBase + 8, Math.max(0, used)).fill(0)
        api.start_rewind(driverBase)
        r = fn(...args)
      }
      if (api !== null) {
        const state = api.get_state()
        if (state !== 0) throw anomaly(`${name} returned in asyncify state ${state}`)
        if (pending[d] !== undefined)
          throw anomaly(`${name} returned before rewinding into ${pending[d].name}`)
      }
      return r
    } catch (e) {
      if (api !== null) {
        const state = api.get_state()
        if (state !== 0) {
          result.anomalies.push(`${name} threw (${classifyError(e)}) in asyncify state ${state}`)
          if (state === 1) api.stop_unwind()
          else api.stop_rewind()
        }
      }
      throw e
    } finally {
      pending[d] = undefined
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
      if (api !== null) {
        const state = api.get_state()
        if (state === 2) {
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
          const current = new DataView((memory as WebAssembly.Memory).buffer).getInt32(driverBase, true)
          if (current !== driverBase + 8)
            result.anomalies.push(
              `after rewinding into ${name}, data.current is ${current - driverBase - 8} bytes into the stack`,
            )
          pending[depth] = undefined
          return p.result
        }
        if (state !== 0) throw anomaly(`import ${name} called in asyncify state ${state}`)
      }
      if (++importCalls > IMPORT_CALL_BUDGET) throw new BudgetError(`over ${IMPORT_CALL_BUDGET} import calls`)
      const value = impl(...args)
      if (api !== null && memory !== null && depth >= 1 && (req.suspend === 'always' || coin())) {
        const at = driverBase
        const view = new DataView(memory.buffer)
        view.setInt32(at, at + 8, true)
        view.setInt32(at + 4, at + DATA_BYTES, true)
        pending[depth] = { name, args, result: value }
        result.suspensions++
        api.start_unwind(at)
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
    .filter(e => e.kind === 'function' && !e.name.startsWith('asyncify_') && !e.name.startsWith('__fuzz_'))
    .map(e => e.name)
  for (const name of callableExports) values.name(exports[name], `export ${name}`)
  for (const [name, params] of Object.entries(req.tags ?? {})) {
    const tag = exports[name]
    if (tag instanceof WebAssembly.Tag) values.tags.push({ name, tag, params })
  }

  const mem = exports[MEMORY_EXPORT]
  if (mem instanceof WebAssembly.Memory) {
    memory = mem
    try {
      driverBase = mem.grow(DRIVER_PAGES) * 65536
    } catch (e) {
      result.instantiate = `cannot add the driver pages: ${classifyError(e)}`
      return result
    }
    new Uint8Array(mem.buffer, driverBase, DRIVER_PAGES * 65536).fill(req.fill)
    result.driverPages = [driverBase, driverBase + DRIVER_PAGES * 65536]
  }
  if (req.suspend !== 'never' && memory !== null && typeof exports.asyncify_start_unwind === 'function') {
    const e = exports as Record<string, Fn>
    api = {
      start_unwind: e.asyncify_start_unwind as Fn,
      stop_unwind: e.asyncify_stop_unwind as Fn,
      start_rewind: e.asyncify_start_rewind as Fn,
      stop_rewind: e.asyncify_stop_rewind as Fn,
      get_state: e.asyncify_get_state as () => number,
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
  if (memory !== null && result.driverPages !== null) {
    const all = new Uint8Array(memory.buffer)
    const [from, to] = result.driverPages
    const out = new Uint8Array(all.length - (to - from))
    out.set(all.subarray(0, from), 0)
    out.set(all.subarray(to), from)
    result.memory = out
    result.driverPagesIntact = Buffer.from(all.buffer, from, to - from).equals(
      Buffer.alloc(to - from, req.fill),
    )
  }
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

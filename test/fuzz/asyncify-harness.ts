// Differential fuzzing of the asyncify rewrite: a binaryen fuzz module (`wasm-opt -ttf`) runs three ways,
// and all three must behave alike:
//   original  – uninstrumented;
//   ours      – `asyncify(bytes)` (a normal-state copy of every function that can have one on even seeds,
//               see oursOptions), suspending and resuming at every import call (asyncify-exec.ts), and
//               again suspending at about half of them;
//   binaryen  – binaryen's own asyncify pass (binaryen.js, optimize level 0, like `wasm-opt --asyncify`),
//               through the same driver.
// Behaviour is: per export (called in export order with zero/null arguments) the result or error (for
// exceptions: which one, see asyncify-exec.ts) and the values logged through the fuzzer's imports;
// memory (all of it: the driver's data never shows in the module's view, see DriverData in
// asyncify-exec.ts) and the globals.
//
// One known limit is told apart from failures: an indirect call that suspends is made again on rewind
// through its table slot, as with binaryen's asyncify, so a program that changed the slot during the
// call rewinds into the new entry. When a differing run suspended after a table slot changed, it is run
// again without those suspensions; if it then matches, the seed is reported as that limit (a skip
// naming it), not as a failure (seed 6720 of the 'eh' variant, test/fuzz/driver-data.test.ts).
//
// Two variants (FuzzVariant): 'mvp', numeric features only; 'eh', with exception handling (exnref, after
// `--translate-to-exnref`), reference types and GC. binaryen's asyncify aborts on try_table and refuses
// reference-typed locals, so the 'eh' variant compares ours with the original only.
//
// Before anything runs, the module is prepared once and all runs start from the same bytes: memory 0
// is exported (the driver needs it) and its maximum raised by the driver's pages, every global JS can
// read is exported (not v128, exnref or function references, see prepareModule), every tag is exported
// (to name the exceptions that reach JS), and the fuzzer's hang-limit global is exported so the driver
// can reset it per export.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { type AsyncifyOptions, asyncify } from '@unplugin-asyncify/core'
import {
  absHierarchyTop,
  countImports,
  decode,
  decodeFunction,
  encode,
  funcTypeAt,
  type Instr,
  type Module,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { binaryen, binaryenRead, binaryenValidate, wasmOptPath } from '../helpers/binaryen.js'
import { fuzzCacheDir, fuzzModule, seedBytes } from '../helpers/fuzz.js'
import {
  classifyError,
  DRIVER_PAGES,
  emptyRunResult,
  GLOBAL_EXPORT_PREFIX,
  HANG_LIMIT_EXPORT,
  MEMORY_EXPORT,
  type RunRequest,
  type RunResult,
  TAG_EXPORT_PREFIX,
  WORKER_FLAG,
} from './asyncify-exec.js'
import { TTF_WORKER_FLAG, type TtfRequest } from './ttf-worker.js'

const here = dirname(fileURLToPath(import.meta.url))
export const failureDir = join(here, '..', '.cache', 'fuzz-failures')

/** `wasm-opt -ttf` features: no exception handling, GC, reference types or tail calls. */
export const asyncifyFuzzFlags: readonly string[] = [
  '--enable-bulk-memory',
  '--enable-sign-ext',
  '--enable-nontrapping-float-to-int',
  '--enable-mutable-globals',
  '--enable-multivalue',
  '--enable-simd',
]
export const asyncifyFuzzTag = 'asyncify-mvp'

const F = binaryen.Features
/** The same set for binaryen.js (bulk memory implies its memory.copy/fill part in wasm-opt). */
const binaryenFeatures =
  F.MVP |
  F.MutableGlobals |
  F.NontrappingFPToInt |
  F.SIMD128 |
  F.BulkMemory |
  F.BulkMemoryOpt |
  F.SignExt |
  F.Multivalue

/**
 * The numeric features plus exception handling, reference types and GC. `--translate-to-exnref` turns the
 * legacy try/catch the fuzzer also emits into try_table (V8 refuses modules that mix both).
 */
export const asyncifyEhFuzzFlags: readonly string[] = [
  ...asyncifyFuzzFlags,
  '--enable-exception-handling',
  '--enable-reference-types',
  '--enable-gc',
  '--translate-to-exnref',
]

export interface FuzzVariant {
  name: 'mvp' | 'eh'
  /** `wasm-opt -ttf` flags. */
  flags: readonly string[]
  /** Cache directory of the generated modules (under test/helpers/fuzz.ts's fuzzCacheDir). */
  cacheTag: string
  /** File name prefix of saved failures in failureDir: `<prefix><seed>.wasm` etc. */
  failurePrefix: string
  /** binaryen.js features to read the modules with (reduction passes, binaryen's asyncify). */
  features: number
  /** Whether binaryen's asyncify output is run and compared too. */
  binaryen: boolean
}

export const fuzzVariants: Record<FuzzVariant['name'], FuzzVariant> = {
  mvp: {
    name: 'mvp',
    flags: asyncifyFuzzFlags,
    cacheTag: asyncifyFuzzTag,
    failurePrefix: 'asyncify-',
    features: binaryenFeatures,
    binaryen: true,
  },
  eh: {
    name: 'eh',
    flags: asyncifyEhFuzzFlags,
    cacheTag: 'asyncify-eh',
    failurePrefix: 'asyncify-eh-',
    features: binaryenFeatures | F.ExceptionHandling | F.ReferenceTypes | F.GC,
    // binaryen's asyncify aborts on try_table and refuses reference-typed locals.
    binaryen: false,
  },
}

// ---------------------------------------------------------------------------------------------------
// Preparing and instrumenting

export interface Prepared {
  bytes: Uint8Array
  params: Record<string, string[]>
  /** Param types of the exported tags (TAG_EXPORT_PREFIX), for RunRequest.tags. */
  tags: Record<string, string[]>
  hangLimit: number | null
}

/** A value type as the driver sees a param: the number type, or 'ref'. */
const paramKind = (t: ValType): string => (typeof t === 'string' ? t : 'ref')

/**
 * Whether a global of this type is exported for the comparison. JS cannot read v128 or exnref globals;
 * function references are left out on purpose: an exported funcref global lets references enter the
 * module, which makes our analysis give up resolving indirect calls by signature (a path worth testing).
 * Other references are compared by identity (asyncify-exec.ts).
 */
function comparableGlobal(m: Module, t: ValType): boolean {
  if (typeof t === 'string') return t !== 'v128'
  const top =
    typeof t.heap === 'number'
      ? m.types[t.heap]?.composite.kind === 'func'
        ? 'func'
        : 'any'
      : absHierarchyTop(t.heap)
  return top === 'any' || top === 'extern'
}

/** Whether this body starts with the fuzzer's hang-limit check; returns [global, limit] if so. */
function hangLimitCheck(body: Instr[]): [number, number] | null {
  const [get, eqz, check] = body
  if (get?.op.name !== 'global.get' || eqz?.op.name !== 'i32.eqz' || check?.op.name !== 'if') return null
  const [k, set, trap] = check.body ?? []
  if (k?.op.name !== 'i32.const' || set?.op.name !== 'global.set' || trap?.op.name !== 'unreachable')
    return null
  if (set.global !== get.global || check.else?.length) return null
  return [get.global as number, k.i32 as number]
}

/**
 * Exports memory 0, every global and the hang limit; makes room for the driver pages. A module that
 * already exports MEMORY_EXPORT (a saved failure, or a reduction of one) is taken as prepared.
 */
export function prepareModule(raw: Uint8Array): Prepared | { skip: string } {
  const m = decode(raw, { bodies: 'lazy' })
  if (m.exports.some(e => e.name === MEMORY_EXPORT)) return preparedAlready(m, raw)
  if (countImports(m, 'memory') > 0) return { skip: 'imports a memory' }
  if (m.memories.length === 0)
    m.memories.push({ limits: { min: 1, max: null, shared: false, is64: false }, pageSizeLog2: null })
  if (m.memories.length > 1) return { skip: 'several memories' }
  const limits = (m.memories[0] as (typeof m.memories)[number]).limits
  if (limits.is64 || limits.shared) return { skip: 'memory64 or shared memory' }
  if (limits.max !== null) {
    if (limits.max + DRIVER_PAGES > 65536) return { skip: 'no room for the driver pages' }
    limits.max += DRIVER_PAGES
  }
  m.exports.push({ name: MEMORY_EXPORT, kind: 'memory', index: 0 })

  const importedGlobals = countImports(m, 'global')
  m.globals.forEach((g, i) => {
    if (comparableGlobal(m, g.type))
      m.exports.push({
        name: `${GLOBAL_EXPORT_PREFIX}${importedGlobals + i}`,
        kind: 'global',
        index: importedGlobals + i,
      })
  })
  const tagCount = countImports(m, 'tag') + m.tags.length
  for (let i = 0; i < tagCount; i++)
    m.exports.push({ name: `${TAG_EXPORT_PREFIX}${i}`, kind: 'tag', index: i })

  let hangLimit: number | null = null
  for (let i = 0; i < Math.min(m.funcs.length, 8) && hangLimit === null; i++) {
    const found = hangLimitCheck(decodeFunction(m, i).body)
    if (found === null) continue
    const [global, limit] = found
    m.exports.push({ name: HANG_LIMIT_EXPORT, kind: 'global', index: global })
    hangLimit = limit
  }

  return { bytes: encode(m), params: exportParams(m), tags: exportTags(m), hangLimit }
}

function exportParams(m: Module): Record<string, string[]> {
  const funcTypes: number[] = []
  for (const imp of m.imports) if (imp.desc.kind === 'func') funcTypes.push(imp.desc.type)
  for (const f of m.funcs) funcTypes.push(f.type)
  const params: Record<string, string[]> = {}
  for (const e of m.exports) {
    if (e.kind !== 'func') continue
    params[e.name] = funcTypeAt(m, funcTypes[e.index] as number).params.map(paramKind)
  }
  return params
}

function exportTags(m: Module): Record<string, string[]> {
  const tagTypes = [
    ...m.imports.flatMap(imp => (imp.desc.kind === 'tag' ? [imp.desc.tag.type] : [])),
    ...m.tags.map(t => t.type),
  ]
  const tags: Record<string, string[]> = {}
  for (const e of m.exports) {
    const type = tagTypes[e.index]
    if (e.kind === 'tag' && e.name.startsWith(TAG_EXPORT_PREFIX) && type !== undefined)
      tags[e.name] = funcTypeAt(m, type).params.map(paramKind)
  }
  return tags
}

function preparedAlready(m: Module, bytes: Uint8Array): Prepared {
  const hang = m.exports.find(e => e.name === HANG_LIMIT_EXPORT && e.kind === 'global')
  const importedGlobals = countImports(m, 'global')
  const init = hang === undefined ? undefined : m.globals[hang.index - importedGlobals]?.init[0]
  const hangLimit = init?.op.name === 'i32.const' ? (init.i32 as number) : null
  return { bytes, params: exportParams(m), tags: exportTags(m), hangLimit }
}

/** Runs binaryen passes over a module (a variant's feature set); for reducing failures. */
export function binaryenPasses(
  bytes: Uint8Array,
  passes: string[],
  features: number = binaryenFeatures,
): Uint8Array {
  const mod = binaryenRead(bytes, features)
  try {
    mod.runPasses(passes)
    return new Uint8Array(mod.emitBinary())
  } finally {
    mod.dispose()
  }
}

/** binaryen's asyncify pass with default arguments and no optimization, as `wasm-opt --asyncify`. */
export function binaryenAsyncify(bytes: Uint8Array, features: number = binaryenFeatures): Uint8Array {
  const mod = binaryenRead(bytes, features)
  const levels = [binaryen.getOptimizeLevel(), binaryen.getShrinkLevel()] as const
  binaryen.setOptimizeLevel(0)
  binaryen.setShrinkLevel(0)
  try {
    mod.runPasses(['asyncify'])
    return new Uint8Array(mod.emitBinary())
  } finally {
    binaryen.setOptimizeLevel(levels[0])
    binaryen.setShrinkLevel(levels[1])
    mod.dispose()
  }
}

// ---------------------------------------------------------------------------------------------------
// Running: a pool of worker threads, each run under a time budget

/**
 * Worker threads answering { id, req } with { id, res } or { id, error }. A request over its time budget
 * terminates its worker (a fresh one replaces it) and settles as an error.
 */
export class WorkerPool<Req, Res> {
  private readonly idle: Worker[] = []
  private readonly waiting: ((w: Worker) => void)[] = []
  private live = 0
  private nextId = 0
  private closed = false
  private readonly script: URL
  private readonly flag: string
  private readonly size: number
  private readonly timeoutMs: number

  constructor(script: URL, flag: string, size: number, timeoutMs: number) {
    this.script = script
    this.flag = flag
    this.size = size
    this.timeoutMs = timeoutMs
  }

  private spawn(): Worker {
    // `--conditions=source`: workspace packages (the ABI) resolve to their TypeScript sources, built or not.
    const execArgv = [...process.execArgv, '--conditions=source']
    const worker = new Worker(this.script, { workerData: this.flag, execArgv })
    worker.unref()
    return worker
  }

  private async acquire(): Promise<Worker> {
    const w = this.idle.pop()
    if (w !== undefined) return w
    if (this.live < this.size) {
      this.live++
      return this.spawn()
    }
    return new Promise(resolve => this.waiting.push(resolve))
  }

  private release(w: Worker | null): void {
    const next = this.waiting.shift()
    if (w === null) {
      // The worker was terminated: hand a fresh one to whoever waits, or forget the slot.
      if (next !== undefined && !this.closed) next(this.spawn())
      else this.live--
      return
    }
    if (next !== undefined) next(w)
    else this.idle.push(w)
  }

  async run(req: Req, transfer: ArrayBuffer[] = []): Promise<{ res: Res } | { error: string }> {
    const worker = await this.acquire()
    const id = this.nextId++
    return new Promise(resolve => {
      let settled = false
      const done = (r: { res: Res } | { error: string }, keep: boolean): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        worker.off('message', onMessage)
        worker.off('error', onError)
        if (!keep) void worker.terminate()
        this.release(keep ? worker : null)
        resolve(r)
      }
      const onMessage = (msg: { id: number; res?: Res; error?: string }): void => {
        if (msg.id !== id) return
        done(msg.error === undefined ? { res: msg.res as Res } : { error: msg.error }, true)
      }
      const onError = (e: Error): void => done({ error: `worker died: ${e.message}` }, false)
      const timer = setTimeout(
        () => done({ error: `timed out after ${this.timeoutMs} ms` }, false),
        this.timeoutMs,
      )
      worker.on('message', onMessage)
      worker.on('error', onError)
      worker.postMessage({ id, req }, transfer)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.idle.splice(0).map(w => w.terminate()))
  }
}

/** Runs modules (asyncify-exec.ts) in worker threads, 10 s each at most (most take 10-50 ms). */
export class ExecPool {
  private readonly pool: WorkerPool<RunRequest, RunResult>

  constructor(size: number, timeoutMs = 10_000) {
    this.pool = new WorkerPool(new URL('./asyncify-exec.ts', import.meta.url), WORKER_FLAG, size, timeoutMs)
  }

  async run(req: RunRequest): Promise<RunResult> {
    const r = await this.pool.run(req)
    return 'res' in r ? r.res : emptyRunResult(`harness: ${r.error}`)
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}

/** `wasm-opt -ttf` in worker threads that keep wasm-opt loaded (ttf-worker.ts), into fuzz.ts's cache. */
export class TtfPool {
  private readonly pool: WorkerPool<TtfRequest, Uint8Array>

  constructor(size: number) {
    this.pool = new WorkerPool(new URL('./ttf-worker.ts', import.meta.url), TTF_WORKER_FLAG, size, 120_000)
  }

  /** The seed's module, from the cache or generated; the same bytes `fuzzModule` gives. */
  async module(seed: number, flags: readonly string[], tag: string): Promise<Uint8Array> {
    const dir = join(fuzzCacheDir, tag)
    const out = join(dir, `${seed}.wasm`)
    if (existsSync(out)) return new Uint8Array(readFileSync(out))
    mkdirSync(dir, { recursive: true })
    return this.generate(seed, flags, out)
  }

  /** Generates the seed's module into `out`. */
  async generate(seed: number, flags: readonly string[], out: string): Promise<Uint8Array> {
    const r = await this.pool.run({ wasmOpt: wasmOptPath(), input: seedBytes(seed), flags, out })
    if ('error' in r) throw new Error(`in-process wasm-opt -ttf for seed ${seed}: ${r.error}`)
    return r.res
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}

export interface Pools {
  exec: ExecPool
  /** In-process generation; without it each missing module costs a wasm-opt process. */
  ttf: TtfPool | null
}

export function createPools(execWorkers = 2, ttfWorkers = 2): Pools {
  return { exec: new ExecPool(execWorkers), ttf: ttfWorkers > 0 ? new TtfPool(ttfWorkers) : null }
}

export async function closePools(pools: Pools): Promise<void> {
  await Promise.all([pools.exec.close(), pools.ttf?.close()])
}

/** The seed's fuzz module (the variant's flags), cached under test/.cache. */
export async function seedModule(
  seed: number,
  pools: Pools,
  variant: FuzzVariant = fuzzVariants.mvp,
): Promise<Uint8Array> {
  if (pools.ttf !== null) {
    try {
      return await pools.ttf.module(seed, variant.flags, variant.cacheTag)
    } catch (e) {
      console.warn(`${(e as Error).message}; using the wasm-opt CLI`)
    }
  }
  return fuzzModule(seed, variant.flags, variant.cacheTag)
}

// ---------------------------------------------------------------------------------------------------
// Comparing

function firstDiff(a: readonly string[], b: readonly string[]): string | null {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `#${i}: ${a[i] ?? '(none)'} vs ${b[i] ?? '(none)'}`
  }
  return null
}

/** The first way `actual` differs from `expected`, or null. */
export function compareRuns(expected: RunResult, actual: RunResult): string | null {
  if (actual.anomalies.length > 0) return `driver: ${actual.anomalies.slice(0, 3).join('; ')}`
  if (expected.instantiate !== actual.instantiate)
    return `instantiate: ${expected.instantiate} vs ${actual.instantiate}`
  const start = firstDiff(expected.startLogs, actual.startLogs)
  if (start !== null) return `start function logs ${start}`
  const calls = firstDiff(
    expected.calls.map(c => c.name),
    actual.calls.map(c => c.name),
  )
  if (calls !== null) return `export order ${calls}`
  for (const [i, e] of expected.calls.entries()) {
    const a = actual.calls[i] as RunResult['calls'][number]
    const logs = firstDiff(e.logs, a.logs)
    if (logs !== null)
      return `${e.name}: log ${logs}${e.outcome === a.outcome ? '' : `, then ${e.outcome} vs ${a.outcome}`}`
    if (e.outcome !== a.outcome) return `${e.name}: ${e.outcome} vs ${a.outcome}`
  }
  const names = [...new Set([...Object.keys(expected.globals), ...Object.keys(actual.globals)])]
  for (const g of names) {
    if (expected.globals[g] !== actual.globals[g])
      return `global ${g}: ${expected.globals[g] ?? '(none)'} vs ${actual.globals[g] ?? '(none)'}`
  }
  const em = expected.memory
  const am = actual.memory
  if ((em === null) !== (am === null)) return 'memory: exported in one run only'
  if (em !== null && am !== null) {
    if (em.length !== am.length) return `memory size: ${em.length} vs ${am.length}`
    let first = -1
    let count = 0
    for (let i = 0; i < em.length; i++) {
      if (em[i] !== am[i]) {
        if (first < 0) first = i
        count++
      }
    }
    if (count > 0) return `memory: ${count} bytes differ, first at ${first} (${em[first]} vs ${am[first]})`
  }
  return null
}

// ---------------------------------------------------------------------------------------------------
// One seed

/**
 * Our options for a seed: every other seed gives each function with sites in loops a normal-state copy
 * (normal-copy.ts; the default budget rarely admits one in modules this small), so that both the copies
 * and the rewritten bodies run in normal state.
 */
export function oursOptions(seed: number): AsyncifyOptions {
  return { normalCopies: seed % 2 === 0 ? 100 : 0 }
}

/** What the original run did, summed over passing seeds. */
export interface Coverage {
  /** Export calls, and how many of them threw. */
  calls: number
  threw: number
  /** Export calls that ended in a wasm exception or a value thrown through the JS tag (not traps). */
  exceptions: number
  /** Values logged, and how many of them references. */
  logs: number
  refLogs: number
  /** Exceptions that call-export-catch / call-ref-catch caught. */
  caught: number
}

const emptyCoverage = (): Coverage => ({ calls: 0, threw: 0, exceptions: 0, logs: 0, refLogs: 0, caught: 0 })

function coverageOf(run: RunResult): Coverage {
  const logs = [...run.startLogs, ...run.calls.flatMap(c => c.logs)]
  return {
    calls: run.calls.length,
    threw: run.calls.filter(c => !c.outcome.startsWith('return')).length,
    exceptions: run.calls.filter(c => /^(wasm exception|throw:)/.test(c.outcome)).length,
    logs: logs.length,
    refLogs: logs.filter(l => /^(anyref|funcref|externref) /.test(l)).length,
    caught: logs.filter(l => l.startsWith('caught ')).length,
  }
}

export interface SeedOutcome {
  seed: number
  status: 'pass' | 'fail' | 'skip' | 'error'
  /** Why it failed or was skipped. */
  detail?: string
  /** binaryen's asyncify disagreeing with the original (ours agreeing or not). */
  binaryenMismatch?: string
  /** Suspensions in our run. */
  suspensions: number
  /** Rewinds in our run that passed the import other arguments than binaryen would (not a failure). */
  rewindArgMismatches: number
  rewindArgExample?: string
  /** Largest unwind (bytes of saved frames) with our output and with binaryen's. */
  unwindBytes?: { ours: number; binaryen: number }
  /** What the original did (see Coverage). */
  coverage?: Coverage
  /** The same count for binaryen's output (expected 0: a driver sanity check). */
  binaryenRewindArgMismatches?: number
  ms: { generate: number; ours: number; binaryen: number; validate: number; run: number }
}

const now = (): number => performance.now()

const failureSuffixes = ['.wasm', '.ours.wasm', '.binaryen.wasm', '.txt', '.reduced.wasm', '.reduced.wat']

/** Removes what an earlier run saved for this seed. */
function clearFailure(seed: number, variant: FuzzVariant): void {
  for (const suffix of failureSuffixes)
    rmSync(join(failureDir, `${variant.failurePrefix}${seed}${suffix}`), { force: true })
}

function saveFailure(seed: number, variant: FuzzVariant, files: Record<string, Uint8Array | string>): void {
  mkdirSync(failureDir, { recursive: true })
  for (const [suffix, data] of Object.entries(files))
    writeFileSync(join(failureDir, `${variant.failurePrefix}${seed}${suffix}`), data)
}

/** Why V8 refuses a module. */
function compileError(bytes: Uint8Array): string {
  try {
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)
    return 'compiles after all'
  } catch (e) {
    return (e as Error).message
  }
}

/**
 * What our rewrite refuses by design (an AsyncifyError naming a construct it cannot instrument, e.g. a
 * function returning a non-nullable reference of a type it cannot make a stand-in value for), as a
 * stable reason; null for anything else (a crash or an internal error is a failure).
 */
export function refusal(e: unknown): string | null {
  if (!(e instanceof Error) || e.name !== 'AsyncifyError' || e.message.includes('internal')) return null
  const m = e.message
  // `(ref 12)` → `ref $type` (summaries group skips by reason), `(ref array)` → `ref array`.
  const type = /non-nullable \((ref [^)]*)\)/.exec(m)?.[1]?.replace(/\d+/, '$type') ?? ''
  if (m.includes('no such value can be made to return while unwinding'))
    return `a function returns a non-nullable ${type}`
  if (m.includes('no stand-in value can be made')) return `a block yields a non-nullable ${type}`
  if (m.includes('has no default to stand in')) return `a value of non-nullable ${type} has no default`
  return null
}

export interface CheckOptions {
  /** Which modules (default 'mvp'). */
  variant?: FuzzVariant
  /** Count what our rewrite refuses by design (see refusal) as failures, not skips. */
  refusalsFail?: boolean
  /** Write failing seeds' modules to test/.cache/fuzz-failures. */
  save?: boolean
  /** Fail seeds where an import is rewound with other arguments than it unwound with. */
  strictRewindArgs?: boolean
}

/** Generates (or loads) the seed's module and compares the runs; harness errors become status 'error'. */
export async function checkSeed(
  seed: number,
  pools: Pools,
  options: CheckOptions = {},
): Promise<SeedOutcome> {
  try {
    return await compareSeed(seed, pools, options)
  } catch (e) {
    return {
      seed,
      status: 'error',
      detail: `harness error: ${(e as Error)?.stack ?? String(e)}`,
      suspensions: 0,
      rewindArgMismatches: 0,
      ms: { generate: 0, ours: 0, binaryen: 0, validate: 0, run: 0 },
    }
  }
}

async function compareSeed(seed: number, pools: Pools, options: CheckOptions): Promise<SeedOutcome> {
  const variant = options.variant ?? fuzzVariants.mvp
  if (options.save) clearFailure(seed, variant)
  const pool = pools.exec
  const ms = { generate: 0, ours: 0, binaryen: 0, validate: 0, run: 0 }
  const out = (status: SeedOutcome['status'], detail?: string, run?: RunResult): SeedOutcome => ({
    seed,
    status,
    ...(detail === undefined ? {} : { detail }),
    suspensions: run?.suspensions ?? 0,
    rewindArgMismatches: run?.rewindArgMismatches ?? 0,
    ...(run?.rewindArgExample ? { rewindArgExample: run.rewindArgExample } : {}),
    ms,
  })
  let t = now()
  const raw = await seedModule(seed, pools, variant)
  ms.generate = now() - t
  const prep = prepareModule(raw)
  if ('skip' in prep) return out('skip', prep.skip)

  const fail = (detail: string, extra: Record<string, Uint8Array> = {}, run?: RunResult): SeedOutcome => {
    if (options.save)
      saveFailure(seed, variant, { '.wasm': prep.bytes, ...extra, '.txt': `seed ${seed}: ${detail}\n` })
    return out('fail', detail, run)
  }

  t = now()
  let ours: Uint8Array
  try {
    ours = (await asyncify(prep.bytes, oursOptions(seed))).binary
  } catch (e) {
    ms.ours = now() - t
    const refused = refusal(e)
    if (refused !== null && !options.refusalsFail) return out('skip', `ours refuses: ${refused}`)
    return fail(`asyncify threw: ${(e as Error).message}`)
  }
  ms.ours = now() - t
  t = now()
  const engineValid = WebAssembly.validate(ours as Uint8Array<ArrayBuffer>)
  const binaryenValid = binaryenValidate(ours)
  ms.validate = now() - t
  if (!engineValid || !binaryenValid) {
    const why = [
      ...(engineValid ? [] : [`V8: ${compileError(ours)}`]),
      ...(binaryenValid ? [] : ['binaryen rejects it too']),
    ]
    return fail(`our output does not validate (${why.join('; ')})`, { '.ours.wasm': ours })
  }
  t = now()
  let theirs: Uint8Array | null = null
  let theirsError = ''
  if (variant.binaryen) {
    try {
      theirs = binaryenAsyncify(prep.bytes, variant.features)
    } catch (e) {
      theirsError = classifyError(e)
    }
  }
  ms.binaryen = now() - t

  t = now()
  const base = {
    params: prep.params,
    tags: prep.tags,
    hangLimit: prep.hangLimit,
    strictRewindArgs: options.strictRewindArgs ?? false,
  }
  const [orig, oursRun, oursMixed, theirsRun] = await Promise.all([
    pool.run({ ...base, bytes: prep.bytes, suspend: 'never' }),
    pool.run({ ...base, bytes: ours, suspend: 'always' }),
    pool.run({ ...base, bytes: ours, suspend: 'sometimes' }),
    theirs === null ? null : pool.run({ ...base, bytes: theirs, suspend: 'always' }),
  ])
  ms.run = now() - t

  if (orig.instantiate.startsWith('harness:')) return out('skip', `original: ${orig.instantiate}`)
  if ([orig, oursRun, oursMixed, theirsRun].some(r => r?.stackOverflow))
    return out('skip', 'the JS stack ran out (where depends on frame sizes)')

  const theirsDiff = !variant.binaryen
    ? null
    : theirsRun === null
      ? `binaryen failed: ${theirsError}`
      : compareRuns(orig, theirsRun)
  const oursDiff = compareRuns(orig, oursRun)
  const mixedDiff = compareRuns(orig, oursMixed)
  if (oursDiff !== null || mixedDiff !== null) {
    const limit = await tableSlotLimit(pool, base, ours, orig, [oursRun, oursMixed])
    if (limit !== null) return out('skip', limit, oursRun)
    const plain = await pool.run({ ...base, bytes: ours, suspend: 'never' })
    const plainDiff = compareRuns(orig, plain)
    const detail =
      `ours ≠ original: ${oursDiff ?? 'matches'}` +
      ` | suspending at some imports: ${mixedDiff ?? 'matches'}` +
      ` | without suspending: ${plainDiff ?? 'matches'}` +
      (variant.binaryen
        ? ` | binaryen: ${theirsDiff ?? 'matches'} (${theirsRun?.suspensions ?? 0} suspensions, ours ${oursRun.suspensions})`
        : ` (${oursRun.suspensions} suspensions)`)
    return fail(
      detail,
      { '.ours.wasm': ours, ...(theirs === null ? {} : { '.binaryen.wasm': theirs }) },
      oursRun,
    )
  }
  const res = out('pass', undefined, oursRun)
  res.suspensions += oursMixed.suspensions
  res.binaryenRewindArgMismatches = theirsRun?.rewindArgMismatches ?? 0
  res.unwindBytes = { ours: oursRun.maxUnwindBytes, binaryen: theirsRun?.maxUnwindBytes ?? 0 }
  res.coverage = coverageOf(orig)
  if (theirsDiff !== null) res.binaryenMismatch = theirsDiff
  return res
}

/** The reason compareSeed reports for the known limit (summaries group skips by the text before `(`). */
export const TABLE_SLOT_LIMIT =
  'known limit: an indirect call is made again on rewind through a table slot the call changed'

/**
 * Whether our differing runs are explained by the known limit (see the top of the file): when they
 * suspended after a slot of an exported table changed, they are run again without those suspensions;
 * if both then match the original, the reason to report, else null.
 */
async function tableSlotLimit(
  pool: ExecPool,
  base: Omit<RunRequest, 'bytes' | 'suspend'>,
  ours: Uint8Array,
  orig: RunResult,
  runs: RunResult[],
): Promise<string | null> {
  const example = runs.find(r => r.tableChangedSuspensions > 0)?.tableChangedExample
  if (example == null) return null
  const again = await Promise.all(
    (['always', 'sometimes'] as const).map(suspend =>
      pool.run({ ...base, bytes: ours, suspend, skipTableChangedSuspensions: true }),
    ),
  )
  if (again.some(r => compareRuns(orig, r) !== null)) return null
  return `${TABLE_SLOT_LIMIT} (binaryen's asyncify does the same; ${example}; matches without those suspensions)`
}

// ---------------------------------------------------------------------------------------------------
// Summaries

export interface FuzzSummary {
  seeds: number
  pass: number
  fail: number
  skip: number
  error: number
  suspensions: number
  /** Seeds whose run with our output rewound imports with other arguments, and one example. */
  rewindArgMismatchSeeds: number
  rewindArgExamples: { seed: number; detail: string }[]
  binaryenRewindArgMismatches: number
  /** Largest unwind over all seeds, and the sum of each seed's largest, ours vs binaryen. */
  unwindBytes: { oursMax: number; binaryenMax: number; oursSum: number; binaryenSum: number }
  /** Over passing seeds: what the original did. */
  coverage: Coverage
  failures: { seed: number; detail: string }[]
  binaryenMismatches: { seed: number; detail: string }[]
  skips: Record<string, number>
  skipped: { seed: number; detail: string }[]
  ms: SeedOutcome['ms'] & { wall: number }
}

export function summarize(outcomes: readonly SeedOutcome[], wallMs: number): FuzzSummary {
  const ms = { generate: 0, ours: 0, binaryen: 0, validate: 0, run: 0, wall: Math.round(wallMs) }
  const skips: Record<string, number> = {}
  for (const o of outcomes) {
    for (const k of Object.keys(o.ms) as (keyof SeedOutcome['ms'])[]) ms[k] += o.ms[k]
    if (o.status === 'skip') {
      const why = (o.detail ?? '').replace(/\(.*$/, '').trim()
      skips[why] = (skips[why] ?? 0) + 1
    }
  }
  for (const k of Object.keys(ms) as (keyof typeof ms)[]) ms[k] = Math.round(ms[k])
  return {
    seeds: outcomes.length,
    pass: outcomes.filter(o => o.status === 'pass').length,
    fail: outcomes.filter(o => o.status === 'fail').length,
    skip: outcomes.filter(o => o.status === 'skip').length,
    error: outcomes.filter(o => o.status === 'error').length,
    suspensions: outcomes.reduce((n, o) => n + o.suspensions, 0),
    rewindArgMismatchSeeds: outcomes.filter(o => o.rewindArgMismatches > 0).length,
    rewindArgExamples: outcomes
      .filter(o => o.rewindArgExample !== undefined)
      .slice(0, 5)
      .map(o => ({ seed: o.seed, detail: `${o.rewindArgMismatches}× e.g. ${o.rewindArgExample}` })),
    binaryenRewindArgMismatches: outcomes.reduce((n, o) => n + (o.binaryenRewindArgMismatches ?? 0), 0),
    unwindBytes: outcomes.reduce(
      (u, o) => ({
        oursMax: Math.max(u.oursMax, o.unwindBytes?.ours ?? 0),
        binaryenMax: Math.max(u.binaryenMax, o.unwindBytes?.binaryen ?? 0),
        oursSum: u.oursSum + (o.unwindBytes?.ours ?? 0),
        binaryenSum: u.binaryenSum + (o.unwindBytes?.binaryen ?? 0),
      }),
      { oursMax: 0, binaryenMax: 0, oursSum: 0, binaryenSum: 0 },
    ),
    coverage: outcomes.reduce((c, o) => {
      for (const k of Object.keys(c) as (keyof Coverage)[]) c[k] += o.coverage?.[k] ?? 0
      return c
    }, emptyCoverage()),
    failures: outcomes
      .filter(o => o.status === 'fail' || o.status === 'error')
      .map(o => ({ seed: o.seed, detail: o.detail ?? '' })),
    binaryenMismatches: outcomes
      .filter(o => o.binaryenMismatch !== undefined)
      .map(o => ({ seed: o.seed, detail: o.binaryenMismatch ?? '' })),
    skips,
    skipped: outcomes.filter(o => o.status === 'skip').map(o => ({ seed: o.seed, detail: o.detail ?? '' })),
    ms,
  }
}

/**
 * Harness self-test: an asyncified module (binaryen's; ours for variants binaryen cannot handle) with its
 * saved frames zeroed before each rewind. Returns whether that run diverged from the original, or null
 * when the module never suspends.
 */
export async function sabotagedRunDiverges(
  seed: number,
  pools: Pools,
  variant: FuzzVariant = fuzzVariants.mvp,
): Promise<boolean | null> {
  const pool = pools.exec
  const prep = prepareModule(await seedModule(seed, pools, variant))
  if ('skip' in prep) return null
  const base = {
    params: prep.params,
    tags: prep.tags,
    hangLimit: prep.hangLimit,
    strictRewindArgs: false,
  }
  let instrumented: Uint8Array
  try {
    instrumented = variant.binaryen
      ? binaryenAsyncify(prep.bytes, variant.features)
      : (await asyncify(prep.bytes, oursOptions(seed))).binary
  } catch (e) {
    if (refusal(e) !== null) return null
    throw e
  }
  const [orig, broken] = await Promise.all([
    pool.run({ ...base, bytes: prep.bytes, suspend: 'never' }),
    pool.run({ ...base, bytes: instrumented, suspend: 'always', sabotage: true }),
  ])
  if (broken.suspensions === 0 || orig.stackOverflow || broken.stackOverflow) return null
  return compareRuns(orig, broken) !== null
}

// ---------------------------------------------------------------------------------------------------
// Reducing

/** A difference (compareRuns) as a coarse kind, stable while a failing module is reduced. */
export function failureKind(diff: string): string {
  const state = /(returned|threw)(?: \((\w+)[^)]*\))? in asyncify state (\d)/.exec(diff)
  if (state !== null) return `${state[1]}${state[2] ? ` (${state[2]})` : ''} in asyncify state ${state[3]}`
  if (diff.includes('timed out')) return 'timeout'
  if (diff.includes('rewound into')) return 'rewound into another import'
  if (diff.includes('nothing pending')) return 'rewound with nothing pending'
  if (/^[^:]*: log #/.test(diff)) return 'log'
  const head = /^(memory|global|instantiate|start function|export order)/.exec(diff)
  return head === null ? 'outcome' : (head[1] as string)
}

/**
 * What a module does under the differential check, as one line: 'pass', why it cannot be checked, or
 * `ours: <kind>` when only our output misbehaves (binaryen's, for variants that run it, matching the
 * original).
 */
export async function failureSignature(
  bytes: Uint8Array,
  pool: ExecPool,
  variant: FuzzVariant = fuzzVariants.mvp,
  options: AsyncifyOptions = {},
): Promise<string> {
  let prep: Prepared | { skip: string }
  try {
    prep = prepareModule(bytes)
  } catch {
    return 'undecodable'
  }
  if ('skip' in prep) return `skip: ${prep.skip}`
  let ours: Uint8Array
  try {
    ours = (await asyncify(prep.bytes, options)).binary
  } catch (e) {
    return `ours: asyncify threw ${(e as Error).name}`
  }
  if (!WebAssembly.validate(ours as Uint8Array<ArrayBuffer>)) return 'ours: invalid'
  let theirs: Uint8Array | null = null
  if (variant.binaryen) {
    try {
      theirs = binaryenAsyncify(prep.bytes, variant.features)
    } catch {
      return 'binaryen failed'
    }
  }
  const base = { params: prep.params, tags: prep.tags, hangLimit: prep.hangLimit, strictRewindArgs: true }
  const [orig, oursRun, theirsRun] = await Promise.all([
    pool.run({ ...base, bytes: prep.bytes, suspend: 'never' }),
    pool.run({ ...base, bytes: ours, suspend: 'always' }),
    theirs === null ? null : pool.run({ ...base, bytes: theirs, suspend: 'always' }),
  ])
  if (orig.instantiate !== 'ok') return 'original does not run'
  if ([orig, oursRun, theirsRun].some(r => r?.stackOverflow)) return 'the JS stack ran out'
  if (theirsRun !== null && compareRuns(orig, theirsRun) !== null) return 'binaryen differs'
  const diff = compareRuns(orig, oursRun)
  if (diff === null) return 'pass'
  if ((await tableSlotLimit(pool, base, ours, orig, [oursRun])) !== null) return 'known limit: table slot'
  return `ours: ${failureKind(diff)}`
}

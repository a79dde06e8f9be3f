/**
 * The whole rewrite, as a recipe: bytes → prepared module → analysis → the module-level changes (data
 * memory, state globals, API imports replaced, new functions laid out) → every instrumented function →
 * the new functions' bodies → asserts → bytes (+ optional binaryen optimization) + metadata + report.
 * Each step is a named function; `asyncify` only says in which order they run.
 */

import {
  countImports,
  encode,
  type FuncBody,
  type Instr,
  type Module,
  typeFunctionBody,
  typingContext,
} from '@unplugin-asyncify/wasm'
import { type Analysis, analyze, type FuncInfo, reasonChain } from './analysis.js'
import { addStateAsserts } from './asserts.js'
import { runBinaryen } from './binaryen.js'
import { AsyncifyError } from './errors.js'
import { usedFeatures } from './features.js'
import { type FunctionEnv, instrumentFunction } from './instrument-function.js'
import { addStateGlobals, NewFunctions, placeDataMemory, type StateGlobals } from './layout.js'
import { type LegacyEhTranslation, translateInIr } from './legacy-eh.js'
import { exportedMemoryName, stackPointerAccess, suspendingImportFacts, withMetadata } from './metadata.js'
import { chooseNormalCopies, REWIND_SUFFIX } from './normal-copy.js'
import { optimizeModule } from './optimize.js'
import { type AsyncifyOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { keepOriginalBytes, prepareInput } from './prepare-input.js'
import { StandIns, UnwindThrow } from './unwind-throw.js'

export interface InstrumentedFunction {
  index: number
  name: string
  /** Call chain down to what may suspend, e.g. ["read_file", "fd_read (import wasi.fd_read)"]. */
  reason: string[]
  /** Calls in it that may unwind. */
  sites: number
  /** Locals saved over all its call sites (sum of the per-site sets, deduplicated by set). */
  savedLocals: number
  /** It got a normal-state copy of its body (the `normalCopies` option). */
  normalCopy: boolean
  /** Largest frame one unwind of it writes, in bytes. */
  maxFrameBytes: number
}

export interface AsyncifyReport {
  instrumented: InstrumentedFunction[]
  /** Total number of calls that may unwind. */
  sites: number
  /** Exported functions that may suspend (their JS callers must expect an unwind). */
  suspendingExports: string[]
  /** Imports that may suspend. */
  suspendingImports: string[]
  /** Whether indirect calls were resolved by signature (no function references from outside). */
  indirectTargetsKnown: boolean
  legacyExceptionsTranslated: boolean
  warnings: string[]
  sizeBefore: number
  sizeAfter: number
  /** Milliseconds per phase. */
  timings: Record<Phase | 'total', number>
}

export interface AsyncifyResult {
  binary: Uint8Array<ArrayBuffer>
  report: AsyncifyReport
}

type Phase = 'decode' | 'translate' | 'analyze' | 'instrument' | 'encode' | 'optimize'

/** Milliseconds per phase: each `lap` charges the time since the previous one to a phase. */
class Clock {
  private readonly t0 = performance.now()
  private mark = this.t0
  readonly timings: Record<Phase | 'total', number> = {
    decode: 0,
    translate: 0,
    analyze: 0,
    instrument: 0,
    encode: 0,
    optimize: 0,
    total: 0,
  }

  lap(phase: Phase, ms?: number): void {
    const now = performance.now()
    this.timings[phase] += ms ?? now - this.mark
    this.mark = now
  }

  stop(): void {
    this.timings.total = performance.now() - this.t0
  }
}

export async function asyncify(input: Uint8Array, options: AsyncifyOptions = {}): Promise<AsyncifyResult> {
  return asyncifyWith(input, options, translateInIr)
}

/** `asyncify` with a chosen legacy-EH translator. Internal: the EH benchmark times binaryen's against ours. */
export async function asyncifyWith(
  input: Uint8Array,
  options: AsyncifyOptions,
  translateLegacy: LegacyEhTranslation,
): Promise<AsyncifyResult> {
  const opts = resolveOptions(options)
  const clock = new Clock()
  const prepared = await prepareInput(input, opts, translateLegacy)
  const m = prepared.module
  clock.lap('decode')
  clock.timings.decode -= prepared.translateMs
  clock.timings.translate = prepared.translateMs

  const analysis = analyze(m, opts)
  const plan = planSites(analysis)
  clock.lap('analyze')

  const data = placeDataMemory(m, opts)
  const facts = { memory: exportedMemoryName(m, data.mem), stackPointer: stackPointerAccess(m) }
  const globals = addStateGlobals(m, opts, data.ptr)
  const added = new NewFunctions(
    m,
    { stateGlobal: globals.state, dataGlobal: globals.data, ...data },
    analysis.apiImports,
  )
  const throwing = new UnwindThrow(
    m,
    new StandIns(m),
    added,
    plan.funcs.map(f => added.shift(f.info.index)),
    new Set([...analysis.addressTaken].map(added.shift)),
  )
  const changed = new Set<number>()
  const env = functionEnv(m, globals, data, added, throwing)
  const instrumented = instrumentAll(m, plan, env, added.shift, changed, opts.normalCopies)
  added.fill()
  if (opts.asserts) addAsserts(m, analysis, plan, globals.state, added.shift, changed)
  const features = opts.optimize === 0 ? 0 : usedFeatures(m)
  // Index shifts touched every body: then none keeps its bytes.
  const everyBodyChanged = analysis.apiImports.size > 0 || opts.relocatable
  keepOriginalBytes(m, d => everyBodyChanged || changed.has(d))
  clock.lap('instrument')

  let binary = encode(m)
  clock.lap('encode')
  if (opts.optimize !== 0) {
    binary = await optimize(binary, features, opts, added.rewindFunctions > 0 ? [`*${REWIND_SUFFIX}`] : [])
    clock.lap('optimize')
  }

  const suspendingExports = suspendingExportNames(m, analysis, i => added.wrapped.get(i) ?? i, added.shift)
  const suspending = analysis.funcs.filter(f => f.imported && f.canChangeState && f.importName !== null)
  binary = withMetadata(binary, {
    pointer: data.ptr,
    memory: facts.memory,
    secondaryMemory: data.secondary,
    ...suspendingImportFacts(
      m,
      suspending.map(f => f.importName as string),
    ),
    suspendingExports,
    stackPointer: facts.stackPointer,
    releaseRefs: added.usesRefSlots,
  })
  clock.stop()
  return {
    binary,
    report: {
      instrumented: instrumented.map(r => ({
        index: added.shift(r.info.index),
        name: r.info.name,
        reason: reasonChain(analysis, r.info),
        sites: r.sites,
        savedLocals: r.savedLocals,
        normalCopy: r.normalCopy,
        maxFrameBytes: r.maxFrameBytes,
      })),
      sites: instrumented.reduce((n, r) => n + r.sites, 0),
      suspendingExports,
      suspendingImports: suspending.map(f => f.importName as string),
      indirectTargetsKnown: analysis.indirectTargetsKnown,
      legacyExceptionsTranslated: prepared.translated,
      warnings: analysis.warnings,
      sizeBefore: input.length,
      sizeAfter: binary.length,
      timings: clock.timings,
    },
  }
}

/** The functions to instrument, each with its calls that may unwind. */
interface SitePlan {
  funcs: { info: FuncInfo; sites: Set<Instr> }[]
  /** Sites that may call host code (their arguments are kept for the rewind). */
  hostSites: Set<Instr>
}

function planSites(analysis: Analysis): SitePlan {
  const hostSites = new Set<Instr>()
  const funcs = analysis.funcs
    .filter(f => analysis.needsInstrumentation(f))
    .map(info => {
      const sites = new Set<Instr>()
      for (const ins of info.calls) {
        if (!analysis.isSite(info, ins)) continue
        sites.add(ins)
        if (analysis.mayCallHost(ins)) hostSites.add(ins)
      }
      return { info, sites }
    })
  return { funcs, hostSites }
}

function bodyOf(m: Module, definedIndex: number): FuncBody {
  const body = m.funcs[definedIndex]?.body
  if (body === null || body === undefined)
    throw new AsyncifyError(`internal: function ${definedIndex} not lifted`)
  return body
}

/** The module-wide facts every function's instrumentation needs. */
function functionEnv(
  m: Module,
  globals: StateGlobals,
  data: { mem: number; ptr: 'i32' | 'i64' },
  added: NewFunctions,
  throwing: UnwindThrow,
): FunctionEnv {
  return {
    module: m,
    typing: typingContext(m),
    stateGlobal: globals.state,
    dataGlobal: globals.data,
    mem: data.mem,
    ptr: data.ptr,
    helpers: added.helpers,
    rewindFunction: added.rewindFunction,
    refSlot: (h, dir) => added.refSlot(h, dir),
    standIns: throwing.standIns,
    throwing,
    blockType: added.blockType,
  }
}

type Instrumented = Pick<InstrumentedFunction, 'sites' | 'savedLocals' | 'maxFrameBytes' | 'normalCopy'> & {
  info: FuncInfo
}

/** Instruments every planned function (`shift`: from the analysis' function indices to today's). */
function instrumentAll(
  m: Module,
  plan: SitePlan,
  env: FunctionEnv,
  shift: (old: number) => number,
  changed: Set<number>,
  /** The `normalCopies` budget (percent of the module's instructions). */
  copyBudget: number,
): Instrumented[] {
  const imported = countImports(m, 'func')
  const bodies = plan.funcs.map(({ info, sites }) => ({
    body: bodyOf(m, shift(info.index) - imported),
    sites,
  }))
  const copied = chooseNormalCopies(m, bodies, copyBudget)
  return plan.funcs.map(({ info, sites }, k) => {
    const d = shift(info.index) - imported
    const func = m.funcs[d]
    if (func === undefined) throw new AsyncifyError(`internal: no function ${info.name}`)
    const { body } = bodies[k] as { body: FuncBody }
    let r: ReturnType<typeof instrumentFunction>
    try {
      r = instrumentFunction(env, {
        index: d + imported,
        name: info.name,
        typeIndex: func.type,
        body,
        sites,
        hostSites: plan.hostSites,
        normalCopy: copied.has(body),
      })
    } catch (e) {
      if (e instanceof AsyncifyError) throw e
      throw new AsyncifyError(`while instrumenting ${info.name}: ${(e as Error).message}`)
    }
    changed.add(d)
    return { info, ...r }
  })
}

/** `asserts`: every other function (not the runtime's) traps if the state changes across one of its calls. */
function addAsserts(
  m: Module,
  analysis: Analysis,
  plan: SitePlan,
  stateGlobal: number,
  shift: (old: number) => number,
  changed: Set<number>,
): void {
  const skip = new Set(plan.funcs.map(f => f.info.index))
  const typing = typingContext(m)
  const imported = countImports(m, 'func')
  for (const f of analysis.funcs) {
    if (f.imported || skip.has(f.index) || f.topMostRuntime || f.bottomMostRuntime) continue
    const d = shift(f.index) - imported
    const func = m.funcs[d]
    if (func?.body === null || func?.body === undefined) continue
    const ft = m.types[func.type]?.composite
    const params = ft?.kind === 'func' ? ft.params.length : 0
    addStateAsserts(func.body, params, stateGlobal, typeFunctionBody(typing, func.type, func.body))
    changed.add(d)
  }
}

/** binaryen's -O pipeline over the output, with exactly the features the module uses. */
async function optimize(
  binary: Uint8Array<ArrayBuffer>,
  features: number,
  opts: ResolvedOptions,
  outOfLine: readonly string[],
): Promise<Uint8Array<ArrayBuffer>> {
  return runBinaryen(
    binary,
    features,
    'optimization',
    (mod, b) => optimizeModule(b, mod, opts, outOfLine),
    opts.debugInfo,
  )
}

/** `unwrap`: the function an export wrapper stands for (see unwind-throw.ts). */
function suspendingExportNames(
  m: Module,
  analysis: Analysis,
  unwrap: (index: number) => number,
  shift: (old: number) => number,
): string[] {
  const suspendingNow = new Set(analysis.funcs.filter(f => f.canChangeState).map(f => shift(f.index)))
  return m.exports.filter(e => e.kind === 'func' && suspendingNow.has(unwrap(e.index))).map(e => e.name)
}

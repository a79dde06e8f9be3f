/** The whole rewrite: bytes → analysis → instrumentation → bytes (+ optional binaryen optimization) + report. */

import { API_NAMES, EXPORTS, GLOBALS, RELOCATABLE_MODULE } from '@unplugin-asyncify/runtime/abi'
import {
  bodyContext,
  countImports,
  decode,
  decodeFunction,
  encode,
  type FuncBody,
  getNames,
  type Instr,
  type Module,
  ref,
  setFunctionName,
  typeFunctionBody,
  typingContext,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { type Analysis, analyze, type FuncInfo, reasonChain } from './analysis.js'
import { apiFunctions, frameHelperFunctions, internFuncType } from './api.js'
import { addStateAsserts } from './asserts.js'
import {
  type BinaryenApi,
  type BinaryenModule,
  binaryenMessage,
  emitBinary,
  loadBinaryen,
} from './binaryen.js'
import { I } from './build.js'
import { AsyncifyError, AsyncifyOptionError } from './errors.js'
import { usedFeatures } from './features.js'
import { instrumentFunction } from './instrument-function.js'
import { type LegacyEhTranslation, prepareInput, translateInIr } from './legacy-eh.js'
import { exportedMemoryName, stackPointerAccess, suspendingImportFacts, withMetadata } from './metadata.js'
import { optimizeModule } from './optimize.js'
import { type AsyncifyOptions, resolveOptions } from './options.js'
import { type Hierarchy, type RefSlotLayout, refSlotFunctions, tableCount } from './ref-slots.js'
import { remapIndices } from './renumber.js'
import { makeValue } from './values.js'

export interface InstrumentedFunction {
  index: number
  name: string
  /** Call chain down to what may suspend, e.g. ["read_file", "fd_read (import wasi.fd_read)"]. */
  reason: string[]
  /** Calls in it that may unwind. */
  sites: number
  /** Locals saved over all its call sites (sum of the per-site sets, deduplicated by set). */
  savedLocals: number
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
  timings: Record<'decode' | 'translate' | 'analyze' | 'instrument' | 'encode' | 'optimize' | 'total', number>
}

export interface AsyncifyResult {
  binary: Uint8Array<ArrayBuffer>
  report: AsyncifyReport
}

interface BinaryenReader {
  readBinary(data: Uint8Array, features?: number): BinaryenModule
}

/** Runs binaryen passes on `bytes` with exactly the features the module uses. */
export async function runBinaryen(
  bytes: Uint8Array,
  features: number,
  what: string,
  run: (mod: BinaryenModule, b: BinaryenApi) => void,
  debugInfo: boolean,
): Promise<Uint8Array<ArrayBuffer>> {
  const b = await loadBinaryen()
  let mod: BinaryenModule
  try {
    mod = (b as unknown as BinaryenReader).readBinary(bytes, features)
  } catch (e) {
    throw new AsyncifyError(`binaryen could not read the module for ${what}: ${binaryenMessage(e)}`)
  }
  try {
    mod.setFeatures(features)
    run(mod, b)
    return emitBinary(b, mod, debugInfo)
  } finally {
    mod.dispose()
  }
}

export function decodeAll(m: Module): FuncBody[] {
  const ctx = bodyContext(m)
  return m.funcs.map((f, d) => f.body ?? decodeFunction(m, d, ctx))
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
  const t0 = performance.now()
  const timings = { decode: 0, translate: 0, analyze: 0, instrument: 0, encode: 0, optimize: 0, total: 0 }
  let mark = t0
  const lap = (k: keyof typeof timings): void => {
    const now = performance.now()
    timings[k] += now - mark
    mark = now
  }

  let m = decode(input, { bodies: 'lazy' })
  if (m.exports.some(e => e.name === EXPORTS.start_unwind))
    throw new AsyncifyError(`the module is already instrumented (it exports ${EXPORTS.start_unwind})`)
  let bodies = decodeAll(m)
  lap('decode')
  // Prepare the input: legacy try/catch/rethrow/delegate become try_table/throw_ref (legacy-eh.ts).
  const prepared = await prepareInput(input, m, bodies, opts.legacyExceptions, translateLegacy)
  m = prepared.module
  bodies = prepared.bodies
  lap('translate')

  const analysis = analyze(m, bodies, opts)
  const importedFuncs = countImports(m, 'func')
  const instrumented = analysis.funcs.filter(f => analysis.needsInstrumentation(f))
  const siteSets = new Map<number, Set<Instr>>()
  const hostSites = new Set<Instr>()
  for (const f of instrumented)
    siteSets.set(f.index, collectSites(analysis, f, bodies[f.index - importedFuncs] as FuncBody, hostSites))
  lap('analyze')

  const needsAllBodies = analysis.apiImports.size > 0 || opts.relocatable
  if (needsAllBodies) {
    m.funcs.forEach((f, d) => (f.body = bodies[d] as FuncBody))
    // Index shifts must reach the name section too; a malformed one is dropped rather than left wrong.
    if (m.customs.some(c => c.name === 'name')) {
      try {
        getNames(m)
      } catch {
        m.customs = m.customs.filter(c => c.name !== 'name')
      }
    }
  }

  // Memory for the asyncify data.
  const memCount = countImports(m, 'memory') + m.memories.length
  let mem: number
  if (opts.inSecondaryMemory) {
    mem = memCount
    m.memories.push({
      limits: { min: opts.secondaryMemorySize, max: opts.secondaryMemorySize, shared: false, is64: false },
      pageSizeLog2: null,
    })
    exportUnique(m, EXPORTS.memory, 'memory', mem)
  } else if (memCount === 0) {
    mem = 0
    m.memories.push({ limits: { min: 1, max: null, shared: false, is64: false }, pageSizeLog2: null })
    exportUnique(m, 'memory', 'memory', mem)
  } else if (memCount === 1 && opts.memory === null) mem = 0
  else {
    const want = opts.memory ?? 'memory'
    const e = m.exports.find(x => x.kind === 'memory' && x.name === want)
    if (e === undefined)
      throw new AsyncifyOptionError(
        'memory',
        opts.memory === null
          ? `the module has ${memCount} memories: name the exported one to use`
          : `no exported memory is named ${want}`,
      )
    mem = e.index
  }
  const memoryName = exportedMemoryName(m, mem)
  const stackPointer = stackPointerAccess(m)
  const memIs64 = bodyContext(m).memIs64[mem] === true
  const ptr: 'i32' | 'i64' = memIs64 ? 'i64' : 'i32'
  const ptrZero: Instr = ptr === 'i64' ? I.i64(0n) : I.i32(0)

  // Globals: state and data pointer.
  let stateGlobal: number
  let dataGlobal: number
  if (opts.relocatable) {
    const importedGlobals = countImports(m, 'global')
    remapIndices(m, bodies, { global: g => (g >= importedGlobals ? g + 2 : g) })
    const at = lastImportPosition(m, 'global')
    m.imports.splice(
      at,
      0,
      {
        module: RELOCATABLE_MODULE,
        name: GLOBALS.state,
        desc: { kind: 'global', global: { type: 'i32', mutable: true } },
      },
      {
        module: RELOCATABLE_MODULE,
        name: GLOBALS.data,
        desc: { kind: 'global', global: { type: ptr, mutable: true } },
      },
    )
    stateGlobal = importedGlobals
    dataGlobal = importedGlobals + 1
  } else {
    const base = countImports(m, 'global') + m.globals.length
    m.globals.push(
      { type: 'i32', mutable: true, init: [I.i32(0)] },
      { type: ptr, mutable: true, init: [ptrZero] },
    )
    stateGlobal = base
    dataGlobal = base + 1
  }
  if (opts.exportGlobals) {
    exportUnique(m, GLOBALS.state, 'global', stateGlobal)
    exportUnique(m, GLOBALS.data, 'global', dataGlobal)
  }

  // asyncify.* imports become the module's own API functions (appended below).
  const apiOrder = API_NAMES
  let funcShift = (i: number): number => i
  if (analysis.apiImports.size > 0) {
    const removed = [...analysis.apiImports.keys()].sort((a, b) => a - b)
    const newImported = importedFuncs - removed.length
    const apiBase = newImported + m.funcs.length
    funcShift = (i: number): number => {
      const api = analysis.apiImports.get(i)
      if (api !== undefined) return apiBase + apiOrder.indexOf(api)
      let below = 0
      for (const r of removed) if (r < i) below++
      return i - below
    }
    remapIndices(m, bodies, { func: funcShift })
    let k = -1
    m.imports = m.imports.filter(imp => {
      if (imp.desc.kind !== 'func') return true
      k++
      return !analysis.apiImports.has(k)
    })
  }

  // New functions go after the existing ones: first the API (its indices were fixed above), then helpers.
  const apiBase = countImports(m, 'func') + m.funcs.length
  const helperBase = apiBase + apiOrder.length
  const typeFor = (params: ValType[], results: ValType[]): number => internFuncType(m, params, results)
  const helperFuncs = frameHelperFunctions({ stateGlobal, dataGlobal, mem, ptr, typeFor })
  // Reference slots: tables, globals and functions are laid out on first use, appended after the helpers.
  const slotFuncBase = helperBase + 4
  let slots: RefSlotLayout | null = null
  const refSlot = (h: Hierarchy, dir: 'save' | 'load'): number => {
    if (slots === null) {
      const globalBase = countImports(m, 'global') + m.globals.length
      m.globals.push(
        { type: 'i32', mutable: true, init: [I.i32(-1)] },
        { type: 'i32', mutable: true, init: [I.i32(0)] },
      )
      slots = {
        linksTable: tableCount(m),
        tables: new Map(),
        headGlobal: globalBase,
        capGlobal: globalBase + 1,
        dataGlobal,
        ptr,
        funcs: {
          alloc: slotFuncBase,
          free: slotFuncBase + 1,
          release: slotFuncBase + 2,
          save: new Map(),
          load: new Map(),
        },
      }
      m.tables.push({
        refType: ref('i31', true),
        limits: { min: 0, max: null, shared: false, is64: false },
        init: null,
      })
    }
    const l: RefSlotLayout = slots
    if (!l.tables.has(h)) {
      l.tables.set(h, tableCount(m))
      m.tables.push({
        refType: ref(h, true),
        limits: { min: 0, max: null, shared: false, is64: false },
        init: null,
      })
      const next = slotFuncBase + 3 + 2 * (l.tables.size - 1)
      l.funcs.save.set(h, next)
      l.funcs.load.set(h, next + 1)
    }
    return (dir === 'save' ? l.funcs.save.get(h) : l.funcs.load.get(h)) as number
  }
  const typing = typingContext(m)
  const env = {
    refSlot,
    makeValue: (t: ValType) => makeValue(m, t),
    helpers: {
      rewindIndex: helperBase,
      rewindTake: helperBase + 1,
      unwindTake: helperBase + 2,
      unwindFinish: helperBase + 3,
    },
    module: m,
    typing,
    stateGlobal,
    dataGlobal,
    mem,
    ptr,
    blockType: (params: ValType[], results: ValType[]) =>
      params.length === 0 && results.length === 0
        ? null
        : params.length === 0 && results.length === 1
          ? (results[0] as ValType)
          : internFuncType(m, params, results),
  }
  const report: InstrumentedFunction[] = []
  let totalSites = 0
  for (const f of instrumented) {
    const d = f.index - importedFuncs
    const body = bodies[d] as FuncBody
    const func = m.funcs[d]
    if (func === undefined) throw new AsyncifyError(`internal: no function ${f.name}`)
    func.body = body
    let r: ReturnType<typeof instrumentFunction>
    try {
      r = instrumentFunction(env, f.name, func.type, body, siteSets.get(f.index) as Set<Instr>, hostSites)
    } catch (e) {
      if (e instanceof AsyncifyError) throw e
      throw new AsyncifyError(`while instrumenting ${f.name}: ${(e as Error).message}`)
    }
    totalSites += r.sites
    report.push({
      index: funcShift(f.index),
      name: f.name,
      reason: reasonChain(analysis, f),
      sites: r.sites,
      savedLocals: r.savedLocals,
      maxFrameBytes: r.maxFrameBytes,
    })
  }

  const apiFuncs = apiFunctions({ stateGlobal, dataGlobal, mem, ptr, typeFor })
  const named = m.names !== null || m.customs.some(c => c.name === 'name')
  apiFuncs.forEach((a, i) => {
    m.funcs.push({ type: a.type, body: a.body, raw: null, rawOffset: 0 })
    exportUnique(m, EXPORTS[a.name], 'func', apiBase + i)
    if (named) setFunctionName(m, apiBase + i, EXPORTS[a.name])
  })
  helperFuncs.forEach((h, i) => {
    m.funcs.push({ type: h.type, body: h.body, raw: null, rawOffset: 0 })
    if (named) setFunctionName(m, helperBase + i, h.name)
  })

  if (slots !== null) {
    const l: RefSlotLayout = slots
    for (const f of refSlotFunctions(l, typeFor)) {
      if (f.index !== countImports(m, 'func') + m.funcs.length)
        throw new AsyncifyError('internal: slot function index')
      m.funcs.push({ type: f.type, body: f.body, raw: null, rawOffset: 0 })
      if (named) setFunctionName(m, f.index, f.name)
      if (f.export !== undefined) exportUnique(m, f.export, 'func', f.index)
    }
  }

  if (opts.asserts) {
    const skip = new Set(instrumented.map(f => f.index))
    const tctx = typingContext(m)
    for (const f of analysis.funcs) {
      if (f.imported || skip.has(f.index) || f.topMostRuntime || f.bottomMostRuntime) continue
      const d = f.index - importedFuncs
      const func = m.funcs[d]
      const body = bodies[d]
      if (func === undefined || body === undefined) continue
      func.body = body
      const ft = m.types[func.type]?.composite
      const params = ft?.kind === 'func' ? ft.params.length : 0
      addStateAsserts(body, params, stateGlobal, typeFunctionBody(tctx, func.type, body))
    }
  }
  lap('instrument')

  let binary = encode(m)
  lap('encode')
  if (opts.optimize !== 0) {
    // Every original body is in `bodies` (attached or not); the functions added after them have bodies.
    const added = m.funcs.slice(bodies.length).map(f => f.body as FuncBody)
    const features = usedFeatures(m, [...bodies, ...added])
    binary = await runBinaryen(
      binary,
      features,
      'optimization',
      (mod, b) => optimizeModule(b, mod, opts),
      opts.debugInfo,
    )
    lap('optimize')
  }

  const suspendingExports = m.exports
    .filter(e => e.kind === 'func')
    .filter(e => {
      const old = analysis.funcs.find(f => funcShift(f.index) === e.index)
      return old?.canChangeState === true
    })
    .map(e => e.name)
  const suspending = analysis.funcs.filter(f => f.imported && f.canChangeState && f.importName !== null)
  binary = withMetadata(binary, {
    pointer: ptr,
    memory: memoryName,
    secondaryMemory: opts.inSecondaryMemory,
    ...suspendingImportFacts(
      m,
      suspending.map(f => f.importName as string),
    ),
    suspendingExports,
    stackPointer,
    releaseRefs: slots !== null,
  })
  timings.total = performance.now() - t0
  return {
    binary,
    report: {
      instrumented: report,
      sites: totalSites,
      suspendingExports,
      suspendingImports: suspending.map(f => f.importName as string),
      indirectTargetsKnown: analysis.indirectTargetsKnown,
      legacyExceptionsTranslated: prepared.translated,
      warnings: analysis.warnings,
      sizeBefore: input.length,
      sizeAfter: binary.length,
      timings,
    },
  }
}

function collectSites(a: Analysis, f: FuncInfo, body: FuncBody, hostSites: Set<Instr>): Set<Instr> {
  const out = new Set<Instr>()
  const visit = (list: Instr[]): void => {
    for (const ins of list) {
      if (a.isSite(f, ins)) {
        out.add(ins)
        if (a.mayCallHost(ins)) hostSites.add(ins)
      }
      if (ins.body !== undefined) visit(ins.body)
      if (ins.else !== undefined) visit(ins.else)
      if (ins.legacyCatches !== undefined) for (const c of ins.legacyCatches) visit(c.body)
    }
  }
  visit(body.body)
  return out
}

function exportUnique(m: Module, name: string, kind: 'func' | 'memory' | 'global', index: number): void {
  if (m.exports.some(e => e.name === name))
    throw new AsyncifyError(`the module already exports something named ${name}`)
  m.exports.push({ name, kind, index })
}

/** Position in the import list right after the last import of `kind` (or at the end). */
function lastImportPosition(m: Module, kind: 'global'): number {
  let at = m.imports.length
  for (let i = m.imports.length - 1; i >= 0; i--) {
    if (m.imports[i]?.desc.kind === kind) {
      at = i + 1
      break
    }
  }
  return at
}

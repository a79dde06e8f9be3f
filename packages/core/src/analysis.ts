/**
 * Which functions need instrumentation and which calls may unwind. `analyze` reads as its steps:
 *  1. describe every function: imports (may they suspend? which are the `asyncify.*` API?) and defined
 *     functions (their direct callees, the signatures of their indirect calls, which call the API);
 *  2. resolve indirect calls: by signature against the functions whose address is taken, when no
 *     function reference can come from outside the module; otherwise any indirect call may unwind;
 *  3. the remove list, then the add list (before or after propagation, as binaryen does);
 *  4. propagate "may change the state" from callees to callers;
 *  5. the only list, and the warnings about list entries that matched nothing.
 * Every body must be lifted (`m.funcs[d].body`).
 */
import { API_NAMES, type ApiName, IMPORT_MODULE } from '@unplugin-asyncify/runtime/abi'
import type { Instr, Module, ValType } from '@unplugin-asyncify/wasm'
import { countImports, getNames, sameValType, walk } from '@unplugin-asyncify/wasm'
import { AsyncifyError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import { NameList, wildcardToRegExp } from './patterns.js'

/** Why a function may change the asyncify state. */
export type Reason =
  | { kind: 'import' }
  | { kind: 'calls'; callee: number }
  | { kind: 'indirect' }
  | { kind: 'asyncify-api' }
  | { kind: 'list'; list: 'addList' | 'onlyList' }

export interface FuncInfo {
  index: number
  name: string
  imported: boolean
  importName: string | null
  typeIndex: number
  canChangeState: boolean
  /** Calls asyncify.start_unwind / stop_rewind: changes the state, but is not instrumented itself. */
  topMostRuntime: boolean
  /** Calls asyncify.stop_unwind / start_rewind: never changes the state, never instrumented. */
  bottomMostRuntime: boolean
  inRemoveList: boolean
  addedFromList: boolean
  reason: Reason | null
  directCallees: Set<number>
  /** Signatures (type indices) of its indirect calls and call_refs. */
  indirectTypes: Set<number>
  /** Its call instructions in program order (the only possible sites: the plan needs no second walk). */
  calls: Instr[]
}

export type AsyncifyApiName = ApiName
const API_NAME_SET = new Set<string>(API_NAMES)

/** The options the analysis reads. */
export type AnalysisOptions = Pick<
  ResolvedOptions,
  'imports' | 'ignoreIndirect' | 'onlyList' | 'addList' | 'removeList' | 'propagateAddList'
>

/** API calls that change the state (their caller is the top-most runtime: not instrumented itself). */
const TOP_MOST_API = new Set<ApiName>(['start_unwind', 'stop_rewind'])
/** API calls that end a change (their caller is the bottom-most runtime: never changes the state). */
const BOTTOM_MOST_API = new Set<ApiName>(['stop_unwind', 'start_rewind'])

function isFuncRef(m: Module, t: ValType): boolean {
  if (typeof t === 'string') return false
  if (typeof t.heap === 'number') return m.types[t.heap]?.composite.kind === 'func'
  return t.heap === 'func' || t.heap === 'nofunc'
}

/**
 * Can a function reference created outside the module reach a table or a call_ref here? Only values of
 * the func hierarchy can hold one (an externref or anyref never becomes a funcref).
 */
function referencesFromOutside(m: Module): boolean {
  const funcTypeHasFuncRef = (typeIndex: number, where: 'params' | 'results'): boolean => {
    const c = m.types[typeIndex]?.composite
    return c?.kind === 'func' && c[where].some(t => isFuncRef(m, t))
  }
  for (const imp of m.imports) {
    const d = imp.desc
    if (d.kind === 'table' && isFuncRef(m, d.table.refType)) return true
    if (d.kind === 'global' && isFuncRef(m, d.global.type)) return true
    if (d.kind === 'func' && funcTypeHasFuncRef(d.type, 'results')) return true
    if (d.kind === 'tag' && funcTypeHasFuncRef(d.tag.type, 'params')) return true
  }
  const importedFuncs = countImports(m, 'func')
  const importedTables = countImports(m, 'table')
  for (const e of m.exports) {
    if (e.kind === 'table') {
      const t = m.tables[e.index - importedTables]
      if (t === undefined || isFuncRef(m, t.refType)) return true
    }
    if (e.kind === 'global') {
      const g = m.globals[e.index - countImports(m, 'global')]
      if (g?.mutable && isFuncRef(m, g.type)) return true
    }
    if (e.kind === 'func') {
      const f = m.funcs[e.index - importedFuncs]
      if (f !== undefined && funcTypeHasFuncRef(f.type, 'params')) return true
    }
  }
  // Function references stored in GC objects could arrive inside any struct or array: be safe.
  for (const t of m.types) {
    if (t.composite.kind !== 'func') {
      const fields = t.composite.kind === 'struct' ? t.composite.fields : [t.composite.field]
      if (fields.some(f => typeof f.type === 'object' && isFuncRef(m, f.type))) return true
    }
  }
  return false
}

function sameSignature(m: Module, a: number, b: number): boolean {
  if (a === b) return true
  const x = m.types[a]?.composite
  const y = m.types[b]?.composite
  if (x?.kind !== 'func' || y?.kind !== 'func') return false
  return (
    x.params.length === y.params.length &&
    x.results.length === y.results.length &&
    x.params.every((t, i) => sameValType(t, y.params[i] as ValType)) &&
    x.results.every((t, i) => sameValType(t, y.results[i] as ValType))
  )
}

/** Names for lists and messages: the name section's, else the index. */
export function functionNames(m: Module): string[] {
  let names: Map<number, string> | undefined
  try {
    names = getNames(m).maps.get(1)
  } catch {
    names = undefined
  }
  const total = countImports(m, 'func') + m.funcs.length
  const out: string[] = new Array(total)
  for (let i = 0; i < total; i++) out[i] = names?.get(i) ?? `${i}`
  return out
}

function funcInfo(index: number, name: string, typeIndex: number, importName: string | null): FuncInfo {
  return {
    index,
    name,
    imported: importName !== null,
    importName,
    typeIndex,
    canChangeState: false,
    topMostRuntime: false,
    bottomMostRuntime: false,
    inRemoveList: false,
    addedFromList: false,
    reason: null,
    directCallees: new Set(),
    indirectTypes: new Set(),
    calls: [],
  }
}

/** Step 1: every function, described; the API imports; the functions whose address is taken. */
interface CallGraph {
  funcs: FuncInfo[]
  apiImports: Map<number, AsyncifyApiName>
  addressTaken: Set<number>
}

function describeImports(m: Module, names: string[], opts: AnalysisOptions, warnings: string[]): CallGraph {
  const graph: CallGraph = { funcs: [], apiImports: new Map(), addressTaken: new Set() }
  const matchers = opts.imports === 'all' ? null : opts.imports.map(p => wildcardToRegExp(p))
  const matched = new Set<number>()
  for (const imp of m.imports) {
    if (imp.desc.kind !== 'func') continue
    const f = funcInfo(
      graph.funcs.length,
      names[graph.funcs.length] as string,
      imp.desc.type,
      `${imp.module}.${imp.name}`,
    )
    if (imp.module === IMPORT_MODULE) {
      if (!API_NAME_SET.has(imp.name))
        throw new AsyncifyError(`unknown asyncify import ${IMPORT_MODULE}.${imp.name}`)
      graph.apiImports.set(f.index, imp.name as AsyncifyApiName)
      f.canChangeState = TOP_MOST_API.has(imp.name as ApiName)
    } else if (matchers === null) f.canChangeState = true
    else
      matchers.forEach((re, k) => {
        if (re.test(f.importName as string)) {
          f.canChangeState = true
          matched.add(k)
        }
      })
    if (f.canChangeState) f.reason = { kind: imp.module === IMPORT_MODULE ? 'asyncify-api' : 'import' }
    graph.funcs.push(f)
  }
  if (opts.imports !== 'all')
    opts.imports.forEach((p, k) => {
      if (!matched.has(k)) warnings.push(`imports list entry ${p} matches no import`)
    })
  return graph
}

function describeDefined(m: Module, names: string[], graph: CallGraph): void {
  const { apiImports, addressTaken } = graph
  const noteRefFuncs = (list: Instr[]): void =>
    walk(list, ins => {
      if (ins.op.name === 'ref.func') addressTaken.add(ins.func as number)
    })
  for (const seg of m.elems) {
    for (const f of seg.funcs ?? []) addressTaken.add(f)
    for (const e of seg.exprs ?? []) noteRefFuncs(e)
  }
  for (const g of m.globals) noteRefFuncs(g.init)
  for (const t of m.tables) if (t.init !== null) noteRefFuncs(t.init)
  const importedCount = countImports(m, 'func')
  m.funcs.forEach((func, d) => {
    const f = funcInfo(importedCount + d, names[importedCount + d] as string, func.type, null)
    if (func.body === null) throw new AsyncifyError(`internal: function ${f.name} not lifted`)
    walk(func.body.body, ins => {
      const call = ins.op.call
      if (call !== null) f.calls.push(ins)
      if (call === 'direct') {
        const api = apiImports.get(ins.func as number)
        if (api === undefined) f.directCallees.add(ins.func as number)
        else if (TOP_MOST_API.has(api)) {
          f.canChangeState = true
          f.topMostRuntime = true
          f.reason = { kind: 'asyncify-api' }
        } else if (BOTTOM_MOST_API.has(api)) f.bottomMostRuntime = true
      } else if (call !== null) f.indirectTypes.add(ins.type as number)
      else if (ins.op.name === 'ref.func') addressTaken.add(ins.func as number)
    })
    graph.funcs.push(f)
  })
}

/** Step 2: the possible targets of an indirect call of each signature, when they can be known. */
class IndirectTargets {
  readonly known: boolean
  private readonly anySubtypedFunc: boolean
  private readonly byType = new Map<number, number[]>()

  constructor(
    private readonly m: Module,
    private readonly graph: CallGraph,
    opts: AnalysisOptions,
  ) {
    this.known = !opts.ignoreIndirect && !referencesFromOutside(m)
    this.anySubtypedFunc = m.types.some(t => t.composite.kind === 'func' && t.supers.length > 0)
  }

  candidates(type: number): number[] {
    let c = this.byType.get(type)
    if (c === undefined) {
      const { funcs } = this.graph
      c = [...this.graph.addressTaken].filter(
        f => this.anySubtypedFunc || sameSignature(this.m, (funcs[f] as FuncInfo).typeIndex, type),
      )
      this.byType.set(type, c)
    }
    return c
  }
}

/** Callee → callers, indirect calls included; an indirect call to unknown targets may change the state. */
function callersOf(graph: CallGraph, targets: IndirectTargets, opts: AnalysisOptions): number[][] {
  const callers: number[][] = graph.funcs.map(() => [])
  for (const f of graph.funcs) {
    for (const c of f.directCallees) (callers[c] as number[]).push(f.index)
    if (f.imported || opts.ignoreIndirect) continue
    for (const t of f.indirectTypes) {
      if (targets.known) for (const c of targets.candidates(t)) (callers[c] as number[]).push(f.index)
      else if (!f.canChangeState) {
        f.canChangeState = true
        f.reason = { kind: 'indirect' }
      }
    }
  }
  for (const f of graph.funcs) {
    if (f.bottomMostRuntime) {
      f.canChangeState = false
      f.reason = null
    }
  }
  return callers
}

/** Steps 3 and 5: binaryen's only/add/remove lists, with its order and errors. */
class Lists {
  readonly remove: NameList
  readonly add: NameList
  readonly only: NameList

  constructor(
    opts: AnalysisOptions,
    private readonly funcs: FuncInfo[],
    private readonly warnings: string[],
  ) {
    this.remove = new NameList('removeList', opts.removeList)
    this.add = new NameList('addList', opts.addList)
    this.only = new NameList('onlyList', opts.onlyList)
    for (const l of [this.remove, this.add, this.only]) this.checkNames(l)
  }

  private checkNames(l: NameList): void {
    for (const e of l.entries) {
      if (e.includes('*')) continue
      const f = this.funcs.find(x => x.name === e)
      if (f === undefined) this.warnings.push(`${l.option} names a function that does not exist: ${e}`)
      else if (f.imported)
        throw new AsyncifyError(`${l.option} names an imported function (use imports for imports): ${e}`)
    }
  }

  applyRemove(): void {
    for (const f of this.funcs) {
      if (f.imported || !this.remove.match(f.name)) continue
      f.inRemoveList = true
      f.canChangeState = false
      f.reason = null
    }
  }

  applyAdd(): void {
    if (this.add.empty) return
    for (const f of this.funcs) {
      if (f.imported || !this.add.match(f.name)) continue
      if (this.remove.has(f.name) || this.remove.match(f.name))
        throw new AsyncifyError(`${f.name} is in both the add-list and the remove-list`)
      if (!f.canChangeState) f.reason = { kind: 'list', list: 'addList' }
      f.canChangeState = true
      f.addedFromList = true
    }
  }

  applyOnly(): void {
    if (this.only.empty) return
    for (const f of this.funcs) {
      if (f.imported) continue
      const matched = this.only.match(f.name)
      f.canChangeState = matched
      f.addedFromList = matched
      f.reason = matched ? { kind: 'list', list: 'onlyList' } : null
    }
  }

  warnUnmatched(): void {
    for (const l of [this.remove, this.add, this.only])
      for (const e of l.unmatched())
        if (e.includes('*')) this.warnings.push(`${l.option} pattern ${e} matches no function`)
  }
}

/** Step 4: callers of a function that may change the state may too (unless a list or the API says no). */
function propagate(funcs: FuncInfo[], callers: number[][]): void {
  const queue: number[] = []
  for (const f of funcs) if (f.canChangeState) queue.push(f.index)
  while (queue.length > 0) {
    const g = queue.pop() as number
    for (const c of callers[g] as number[]) {
      const f = funcs[c] as FuncInfo
      if (f.canChangeState || f.bottomMostRuntime || f.inRemoveList || f.imported) continue
      f.canChangeState = true
      f.reason = { kind: 'calls', callee: g }
      queue.push(c)
    }
  }
}

export function analyze(m: Module, opts: AnalysisOptions): Analysis {
  const warnings: string[] = []
  const names = functionNames(m)
  const graph = describeImports(m, names, opts, warnings)
  describeDefined(m, names, graph)
  const targets = new IndirectTargets(m, graph, opts)
  const callers = callersOf(graph, targets, opts)
  const lists = new Lists(opts, graph.funcs, warnings)
  lists.applyRemove()
  if (opts.propagateAddList) lists.applyAdd()
  propagate(graph.funcs, callers)
  lists.applyOnly()
  if (!opts.propagateAddList) lists.applyAdd()
  lists.warnUnmatched()
  return new Analysis(graph, targets, opts.ignoreIndirect, warnings)
}

/** The result: what each function does, and the questions the rewrite asks about calls. */
export class Analysis {
  readonly funcs: FuncInfo[]
  /** Imported function index → which asyncify API it stands for. */
  readonly apiImports: Map<number, AsyncifyApiName>
  /** Indirect targets could be resolved (no function reference can enter from outside). */
  readonly indirectTargetsKnown: boolean
  /** Functions whose address is taken (in a segment, a `ref.func`, a constant expression). */
  readonly addressTaken: ReadonlySet<number>
  private readonly importAddressTaken: boolean

  constructor(
    graph: CallGraph,
    private readonly targets: IndirectTargets,
    private readonly ignoreIndirect: boolean,
    readonly warnings: string[],
  ) {
    this.funcs = graph.funcs
    this.apiImports = graph.apiImports
    this.indirectTargetsKnown = targets.known
    this.addressTaken = graph.addressTaken
    this.importAddressTaken = [...graph.addressTaken].some(f => (graph.funcs[f] as FuncInfo).imported)
  }

  needsInstrumentation(f: FuncInfo): boolean {
    return !f.imported && f.canChangeState && !f.topMostRuntime
  }

  /** Whether an indirect call in `caller` with signature `type` may unwind. */
  indirectMayUnwind(caller: FuncInfo, type: number): boolean {
    if (caller.addedFromList) return true
    if (this.ignoreIndirect) return false
    if (!this.targets.known) return true
    return this.targets.candidates(type).some(c => (this.funcs[c] as FuncInfo).canChangeState)
  }

  /** Whether `ins` in `caller` is a call that may unwind. */
  isSite(caller: FuncInfo, ins: Instr): boolean {
    const call = ins.op.call
    if (call === null) return false
    if (call !== 'direct') return this.indirectMayUnwind(caller, ins.type as number)
    const api = this.apiImports.get(ins.func as number)
    if (api !== undefined) return TOP_MOST_API.has(api)
    return (this.funcs[ins.func as number] as FuncInfo).canChangeState
  }

  /**
   * Whether the call may reach host code, which is called again while rewinding and must then see the
   * same arguments (JS in the middle of the stack, emscripten's invoke_* wrappers).
   */
  mayCallHost(ins: Instr): boolean {
    const call = ins.op.call
    if (call === null) return false
    if (call === 'direct') {
      const callee = this.funcs[ins.func as number] as FuncInfo
      return callee.imported && !this.apiImports.has(callee.index)
    }
    if (!this.targets.known) return true
    return (
      this.importAddressTaken &&
      this.targets.candidates(ins.type as number).some(c => (this.funcs[c] as FuncInfo).imported)
    )
  }
}

/** The call chain that made `f` instrumented, down to the import, API call, list or indirect call. */
export function reasonChain(a: Analysis, f: FuncInfo): string[] {
  const chain: string[] = []
  const seen = new Set<number>()
  let cur: FuncInfo | undefined = f
  while (cur !== undefined && !seen.has(cur.index)) {
    seen.add(cur.index)
    const r: Reason | null = cur.reason
    if (r === null) break
    if (r.kind === 'calls') {
      const callee = a.funcs[r.callee] as FuncInfo
      chain.push(callee.importName !== null ? `${callee.name} (import ${callee.importName})` : callee.name)
      cur = callee
      if (callee.imported) break
      continue
    }
    chain.push(
      r.kind === 'import'
        ? `import ${cur.importName}`
        : r.kind === 'indirect'
          ? 'an indirect call (targets unknown)'
          : r.kind === 'asyncify-api'
            ? 'the asyncify API'
            : `the ${r.list}`,
    )
    break
  }
  return chain
}

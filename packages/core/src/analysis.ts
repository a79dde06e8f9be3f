/**
 * Which functions need instrumentation and which calls may unwind. A call graph (direct calls, and
 * indirect calls resolved by signature against the functions whose address is taken, when no function
 * reference can come from outside the module), seeded by the imports that may suspend and by the
 * `asyncify.*` API imports, propagated to callers, then adjusted by the only/add/remove lists as binaryen does.
 */
import { API_NAMES, type ApiName, IMPORT_MODULE } from '@unplugin-asyncify/runtime/abi'
import type { FuncBody, Instr, Module, ValType } from '@unplugin-asyncify/wasm'
import { countImports, getNames, sameValType } from '@unplugin-asyncify/wasm'
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
}

export type AsyncifyApiName = ApiName
const API_NAME_SET = new Set<string>(API_NAMES)

export interface Analysis {
  funcs: FuncInfo[]
  /** Imported function index → which asyncify API it stands for. */
  apiImports: Map<number, AsyncifyApiName>
  /** Whether an indirect call in `caller` with signature `type` may unwind. */
  indirectMayUnwind(caller: FuncInfo, type: number): boolean
  needsInstrumentation(f: FuncInfo): boolean
  isSite(caller: FuncInfo, ins: Instr): boolean
  /**
   * Whether the call may reach host code, which is called again while rewinding and must then see the
   * same arguments (JS in the middle of the stack, emscripten's invoke_* wrappers).
   */
  mayCallHost(ins: Instr): boolean
  warnings: string[]
  /** Indirect targets could be resolved (no function reference can enter from outside). */
  indirectTargetsKnown: boolean
}

const DIRECT_CALLS = new Set(['call', 'return_call'])
const INDIRECT_CALLS = new Set(['call_indirect', 'return_call_indirect', 'call_ref', 'return_call_ref'])

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

function walk(list: Instr[], visit: (ins: Instr) => void): void {
  for (const ins of list) {
    visit(ins)
    if (ins.body !== undefined) walk(ins.body, visit)
    if (ins.else !== undefined) walk(ins.else, visit)
    if (ins.legacyCatches !== undefined) for (const c of ins.legacyCatches) walk(c.body, visit)
  }
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

export function analyze(m: Module, bodies: (FuncBody | null)[], opts: ResolvedOptions): Analysis {
  const warnings: string[] = []
  const names = functionNames(m)
  const importedCount = countImports(m, 'func')
  const importMatchers = opts.imports === 'all' ? null : opts.imports.map(p => wildcardToRegExp(p))
  const importsMatched = new Set<number>()
  const funcs: FuncInfo[] = []
  const apiImports = new Map<number, AsyncifyApiName>()
  for (const imp of m.imports) {
    if (imp.desc.kind !== 'func') continue
    const index = funcs.length
    let canChange = false
    if (imp.module === IMPORT_MODULE) {
      if (!API_NAME_SET.has(imp.name))
        throw new AsyncifyError(`unknown asyncify import ${IMPORT_MODULE}.${imp.name}`)
      apiImports.set(index, imp.name as AsyncifyApiName)
      canChange = imp.name === 'start_unwind' || imp.name === 'stop_rewind'
    } else if (importMatchers === null) canChange = true
    else {
      const full = `${imp.module}.${imp.name}`
      importMatchers.forEach((re, k) => {
        if (re.test(full)) {
          canChange = true
          importsMatched.add(k)
        }
      })
    }
    funcs.push({
      index,
      name: names[index] as string,
      imported: true,
      importName: `${imp.module}.${imp.name}`,
      typeIndex: imp.desc.type,
      canChangeState: canChange,
      topMostRuntime: false,
      bottomMostRuntime: false,
      inRemoveList: false,
      addedFromList: false,
      reason: canChange ? { kind: imp.module === IMPORT_MODULE ? 'asyncify-api' : 'import' } : null,
      directCallees: new Set(),
      indirectTypes: new Set(),
    })
  }
  if (importMatchers !== null && opts.imports !== 'all')
    opts.imports.forEach((p, k) => {
      if (!importsMatched.has(k)) warnings.push(`imports list entry ${p} matches no import`)
    })

  const addressTaken = new Set<number>()
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

  m.funcs.forEach((f, d) => {
    const index = importedCount + d
    const info: FuncInfo = {
      index,
      name: names[index] as string,
      imported: false,
      importName: null,
      typeIndex: f.type,
      canChangeState: false,
      topMostRuntime: false,
      bottomMostRuntime: false,
      inRemoveList: false,
      addedFromList: false,
      reason: null,
      directCallees: new Set(),
      indirectTypes: new Set(),
    }
    const body = bodies[d]
    if (body === null || body === undefined)
      throw new AsyncifyError(`internal: function ${info.name} not decoded`)
    walk(body.body, ins => {
      const name = ins.op.name
      if (DIRECT_CALLS.has(name)) {
        const callee = ins.func as number
        const api = apiImports.get(callee)
        if (api === 'start_unwind' || api === 'stop_rewind') {
          info.canChangeState = true
          info.topMostRuntime = true
          info.reason = { kind: 'asyncify-api' }
        } else if (api === 'stop_unwind' || api === 'start_rewind') info.bottomMostRuntime = true
        else if (api === undefined) info.directCallees.add(callee)
      } else if (INDIRECT_CALLS.has(name)) info.indirectTypes.add(ins.type as number)
      else if (name === 'ref.func') addressTaken.add(ins.func as number)
    })
    funcs.push(info)
  })

  const known = !opts.ignoreIndirect && !referencesFromOutside(m)
  const anySubtypedFunc = m.types.some(t => t.composite.kind === 'func' && t.supers.length > 0)
  const candidatesByType = new Map<number, number[]>()
  const candidates = (type: number): number[] => {
    let c = candidatesByType.get(type)
    if (c === undefined) {
      c = [...addressTaken].filter(
        f => anySubtypedFunc || sameSignature(m, (funcs[f] as FuncInfo).typeIndex, type),
      )
      candidatesByType.set(type, c)
    }
    return c
  }

  // Reverse edges for propagation: callee → callers.
  const callers: number[][] = funcs.map(() => [])
  for (const f of funcs) {
    for (const c of f.directCallees) (callers[c] as number[]).push(f.index)
    if (f.imported || opts.ignoreIndirect) continue
    for (const t of f.indirectTypes) {
      if (!known) {
        if (!f.canChangeState) {
          f.canChangeState = true
          f.reason = { kind: 'indirect' }
        }
      } else for (const c of candidates(t)) (callers[c] as number[]).push(f.index)
    }
  }
  for (const f of funcs) {
    if (f.bottomMostRuntime) {
      f.canChangeState = false
      f.reason = null
    }
  }

  const removeList = new NameList('removeList', opts.removeList)
  const addList = new NameList('addList', opts.addList)
  const onlyList = new NameList('onlyList', opts.onlyList)
  const checkNames = (l: NameList): void => {
    for (const e of l.entries) {
      if (e.includes('*')) continue
      const f = funcs.find(x => x.name === e)
      if (f === undefined) warnings.push(`${l.option} names a function that does not exist: ${e}`)
      else if (f.imported)
        throw new AsyncifyError(`${l.option} names an imported function (use imports for imports): ${e}`)
    }
  }
  checkNames(removeList)
  checkNames(addList)
  checkNames(onlyList)

  for (const f of funcs) {
    if (!f.imported && removeList.match(f.name)) {
      f.inRemoveList = true
      f.canChangeState = false
      f.reason = null
    }
  }
  const applyAddList = (): void => {
    if (addList.empty) return
    for (const f of funcs) {
      if (f.imported) continue
      if (addList.match(f.name)) {
        if (removeList.has(f.name) || removeList.match(f.name))
          throw new AsyncifyError(`${f.name} is in both the add-list and the remove-list`)
        if (!f.canChangeState) f.reason = { kind: 'list', list: 'addList' }
        f.canChangeState = true
        f.addedFromList = true
      }
    }
  }
  if (opts.propagateAddList) applyAddList()

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

  if (!onlyList.empty) {
    for (const f of funcs) {
      if (f.imported) continue
      const matched = onlyList.match(f.name)
      f.canChangeState = matched
      f.addedFromList = matched
      f.reason = matched ? { kind: 'list', list: 'onlyList' } : null
    }
  }
  if (!opts.propagateAddList) applyAddList()
  for (const l of [removeList, addList, onlyList])
    for (const e of l.unmatched())
      if (e.includes('*')) warnings.push(`${l.option} pattern ${e} matches no function`)

  const indirectMayUnwind = (caller: FuncInfo, type: number): boolean => {
    if (caller.addedFromList) return true
    if (opts.ignoreIndirect) return false
    if (!known) return true
    return candidates(type).some(c => (funcs[c] as FuncInfo).canChangeState)
  }
  const importAddressTaken = [...addressTaken].some(f => (funcs[f] as FuncInfo).imported)
  return {
    funcs,
    apiImports,
    mayCallHost(ins) {
      const name = ins.op.name
      if (DIRECT_CALLS.has(name)) {
        const callee = funcs[ins.func as number] as FuncInfo
        return callee.imported && !apiImports.has(callee.index)
      }
      if (!INDIRECT_CALLS.has(name)) return false
      if (!known) return true
      return importAddressTaken && candidates(ins.type as number).some(c => (funcs[c] as FuncInfo).imported)
    },
    warnings,
    indirectTargetsKnown: known,
    indirectMayUnwind,
    needsInstrumentation: f => !f.imported && f.canChangeState && !f.topMostRuntime,
    isSite(caller, ins) {
      const name = ins.op.name
      if (DIRECT_CALLS.has(name)) {
        const callee = ins.func as number
        const api = apiImports.get(callee)
        if (api !== undefined) return api === 'start_unwind' || api === 'stop_rewind'
        return (funcs[callee] as FuncInfo).canChangeState
      }
      if (INDIRECT_CALLS.has(name)) return indirectMayUnwind(caller, ins.type as number)
      return false
    },
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

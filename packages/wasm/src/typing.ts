/**
 * Validation-level stack typing of a lifted body: for every instruction, the types of the operands it
 * pops and of the results it pushes. Fixed signatures come from the instruction table; the `@rule`
 * entries are resolved here. In unreachable code, popping past the frame yields 'bot'.
 */
import type { BlockType, FuncBody, Instr, Label, Module } from './ir.js'
import type { OpInfo } from './opcodes.js'
import {
  absHierarchyTop,
  type FuncType,
  type HeapType,
  hierarchyBottom,
  type RefType,
  ref,
  type StackType,
  unpacked,
  type ValType,
} from './types.js'

export interface InstrTypes {
  params: StackType[]
  results: StackType[]
}

export class TypingError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TypingError'
  }
}

/** Module-level facts typing needs, computed once per module. */
export interface TypingContext {
  module: Module
  funcTypes: number[]
  globals: ValType[]
  tables: { elem: RefType; is64: boolean }[]
  tags: number[]
  memIs64: boolean[]
}

export function typingContext(module: Module): TypingContext {
  const ctx: TypingContext = { module, funcTypes: [], globals: [], tables: [], tags: [], memIs64: [] }
  for (const imp of module.imports) {
    const d = imp.desc
    if (d.kind === 'func') ctx.funcTypes.push(d.type)
    else if (d.kind === 'global') ctx.globals.push(d.global.type)
    else if (d.kind === 'table') ctx.tables.push({ elem: d.table.refType, is64: d.table.limits.is64 })
    else if (d.kind === 'tag') ctx.tags.push(d.tag.type)
    else ctx.memIs64.push(d.memory.limits.is64)
  }
  for (const f of module.funcs) ctx.funcTypes.push(f.type)
  for (const g of module.globals) ctx.globals.push(g.type)
  for (const t of module.tables) ctx.tables.push({ elem: t.refType, is64: t.limits.is64 })
  for (const t of module.tags) ctx.tags.push(t.type)
  for (const m of module.memories) ctx.memIs64.push(m.limits.is64)
  return ctx
}

function funcType(m: Module, idx: number): FuncType {
  const c = m.types[idx]?.composite
  if (c === undefined || c.kind !== 'func') throw new TypingError(`type ${idx} is not a function type`)
  return c
}

/** Parameters and results of a block type. */
export function blockSignature(m: Module, bt: BlockType): { params: ValType[]; results: ValType[] } {
  if (bt === null) return { params: [], results: [] }
  if (typeof bt === 'number') {
    const ft = funcType(m, bt)
    return { params: ft.params, results: ft.results }
  }
  return { params: [], results: [bt] }
}

interface Frame {
  label: Label
  height: number
  unreachable: boolean
  /** Types a branch to this label carries. */
  labelTypes: ValType[]
  results: ValType[]
  params: ValType[]
}

interface Work {
  list: Instr[]
  i: number
  owner: Label
  part: number
}

export function labelTypesOf(m: Module, label: Label, funcResults: ValType[]): ValType[] {
  if (label.kind === 'func') return funcResults
  const sig = blockSignature(m, label.blockType ?? null)
  return label.op.control === 'loop' ? sig.params : sig.results
}

/** What `typeFunctionBody` types beyond the instruction signatures, and what it leaves out. */
export interface TypingOptions {
  /**
   * When it returns false for a structure, that structure's lists are not typed: its effect on the stack
   * around it is its block type, so the code inside needs no typing when nobody asks about it.
   */
  descend?: (structure: Instr) => boolean
  /**
   * For the instructions it accepts, the operand stack just before them (within their own list: a
   * block's parameters at the bottom, their operands on top) is put in `stacks`.
   */
  recordStack?: (ins: Instr) => boolean
  stacks?: Map<Instr, StackType[]>
}

/** Types every instruction of `body` (a function of type `typeIndex`), as far as `options` asks. */
export function typeFunctionBody(
  ctx: TypingContext,
  typeIndex: number,
  body: FuncBody,
  options: TypingOptions = {},
): Map<Instr, InstrTypes> {
  const { descend, recordStack, stacks } = options
  const m = ctx.module
  const ft = funcType(m, typeIndex)
  const locals: ValType[] = [...ft.params, ...body.locals]
  const out = new Map<Instr, InstrTypes>()
  const byLocal: (InstrTypes | undefined)[] = []
  const byGlobal: (InstrTypes | undefined)[] = []
  const byCallee = new Map<number, InstrTypes>()
  const stack: StackType[] = []
  const frames: Frame[] = []
  const frameOf = new Map<Label, Frame>()
  const pushFrame = (label: Label, params: ValType[], results: ValType[], labelTypes: ValType[]): void => {
    const f: Frame = { label, height: stack.length, unreachable: false, labelTypes, results, params }
    frames.push(f)
    frameOf.set(label, f)
    for (const p of params) stack.push(p)
  }
  const top = (): Frame => frames[frames.length - 1] as Frame
  const pop = (): StackType => {
    const f = top()
    if (stack.length > f.height) return stack.pop() as StackType
    if (f.unreachable) return 'bot'
    throw new TypingError('operand stack underflow')
  }
  const popN = (n: number): StackType[] => {
    const r: StackType[] = new Array(n)
    for (let i = n - 1; i >= 0; i--) r[i] = pop()
    return r
  }
  const labelTypes = (l: Label | undefined): ValType[] => {
    if (l === undefined) throw new TypingError('branch without a target')
    const f = frameOf.get(l)
    if (f === undefined) throw new TypingError('branch to a label that does not enclose it')
    return f.labelTypes
  }
  const setUnreachable = (): void => {
    const f = top()
    stack.length = f.height
    f.unreachable = true
  }
  const addr = (is64: boolean | undefined): ValType => (is64 ? 'i64' : 'i32')
  const resolveToken = (tok: string, ins: Instr): ValType => {
    switch (tok) {
      case 'A':
        return addr(ctx.memIs64[ins.mem ?? 0])
      case 'B':
        return addr(ctx.memIs64[ins.mem2 ?? 0])
      case 'T':
        return addr(ctx.tables[ins.table ?? 0]?.is64)
      case 'U':
        return addr(ctx.tables[ins.table2 ?? 0]?.is64)
      case 'N':
        if (ins.op.name === 'memory.copy')
          return addr(ctx.memIs64[ins.mem ?? 0] && ctx.memIs64[ins.mem2 ?? 0])
        return addr(ctx.tables[ins.table ?? 0]?.is64 && ctx.tables[ins.table2 ?? 0]?.is64)
      case 'exnref':
        return ref('exn')
      default:
        return tok as ValType
    }
  }

  pushFrame(body, [], ft.results, ft.results)
  const work: Work[] = [{ list: body.body, i: 0, owner: body, part: 0 }]
  while (work.length > 0) {
    const w = work[work.length - 1] as Work
    if (w.i < w.list.length) {
      const ins = w.list[w.i++] as Instr
      const op = ins.op
      if (recordStack?.(ins)) stacks?.set(ins, stack.slice(top().height))
      if (op.control !== 'none') {
        const sig = blockSignature(m, ins.blockType ?? null)
        const params: StackType[] = op.control === 'if' ? [...sig.params, 'i32'] : [...sig.params]
        popN(params.length)
        out.set(ins, { params, results: sig.results })
        if (descend !== undefined && !descend(ins)) {
          for (const r of sig.results) stack.push(r)
          continue
        }
        pushFrame(ins, sig.params, sig.results, op.control === 'loop' ? sig.params : sig.results)
        work.push({ list: ins.body ?? [], i: 0, owner: ins, part: 0 })
        continue
      }
      let types: InstrTypes
      const fixed = op.params !== null && op.results !== null ? fixedSignature(op) : null
      if (fixed !== null) {
        // One shared object per op: callers treat InstrTypes as read-only.
        types = fixed
        const f = top()
        if (stack.length - fixed.params.length < f.height && !f.unreachable)
          throw new TypingError('operand stack underflow')
        stack.length = Math.max(f.height, stack.length - fixed.params.length)
      } else if (op.params !== null && op.results !== null) {
        types = {
          params: op.params.map(t => resolveToken(t, ins)),
          results: op.results.map(t => resolveToken(t, ins)),
        }
        popN(types.params.length)
      } else {
        const indexed = indexRule(ins)
        if (indexed !== undefined) types = indexed
        else {
          const [params, results] = applyRule(ins)
          types = { params, results }
        }
      }
      out.set(ins, types)
      const results = types.results
      if (op.terminal) setUnreachable()
      else for (const r of results) stack.push(r)
      continue
    }
    // A list is finished: leave the frame's results on the outer stack, or start the next arm.
    work.pop()
    const f = top()
    const owner = w.owner
    if (owner.kind !== 'func') {
      const control = owner.op.control
      if (control === 'if' && w.part === 0 && owner.else !== undefined) {
        stack.length = f.height
        f.unreachable = false
        for (const p of f.params) stack.push(p)
        work.push({ list: owner.else, i: 0, owner, part: 1 })
        continue
      }
      if (control === 'try') {
        const catches = owner.legacyCatches ?? []
        if (w.part < catches.length) {
          const c = catches[w.part] as (typeof catches)[number]
          stack.length = f.height
          f.unreachable = false
          if (c.tag >= 0) for (const p of funcType(m, ctx.tags[c.tag] as number).params) stack.push(p)
          work.push({ list: c.body, i: 0, owner, part: w.part + 1 })
          continue
        }
      }
    }
    frames.pop()
    frameOf.delete(owner)
    stack.length = f.height
    if (owner.kind !== 'func') for (const r of f.results) stack.push(r)
  }
  return out

  function heapOf(t: StackType): { heap: HeapType | null; nullable: boolean } {
    if (t === 'bot') return { heap: null, nullable: false }
    if (typeof t === 'string') throw new TypingError(`expected a reference, found ${t}`)
    return { heap: t.heap, nullable: t.nullable }
  }

  function fieldOf(typeIdx: number | undefined, field: number | undefined): ValType {
    const c = m.types[typeIdx ?? -1]?.composite
    if (c?.kind === 'struct') {
      const f = c.fields[field ?? -1]
      if (f !== undefined) return unpacked(f.type)
    }
    throw new TypingError(`no field ${field} in type ${typeIdx}`)
  }

  function arrayElem(typeIdx: number | undefined): ValType {
    const c = m.types[typeIdx ?? -1]?.composite
    if (c?.kind === 'array') return unpacked(c.field.type)
    throw new TypingError(`type ${typeIdx} is not an array type`)
  }

  // Rules whose types depend only on the instruction's index (a local, a global, a callee): most of a
  // body's instructions. One shared InstrTypes per index (byLocal, byGlobal, byCallee) instead of four
  // allocations per instruction.
  function indexRule(ins: Instr): InstrTypes | undefined {
    switch (ins.op.rule) {
      case 'local.get':
      case 'local.set':
      case 'local.tee': {
        const kind = ins.op.rule === 'local.get' ? 0 : ins.op.rule === 'local.set' ? 1 : 2
        if (kind > 0) pop()
        const k = (ins.local as number) * 3 + kind
        let r = byLocal[k]
        if (r === undefined) {
          const t = locals[ins.local as number] as ValType
          r = { params: kind === 0 ? [] : [t], results: kind === 1 ? [] : [t] }
          byLocal[k] = r
        }
        return r
      }
      case 'global.get':
      case 'global.set': {
        const set = ins.op.rule === 'global.set'
        if (set) pop()
        const k = (ins.global as number) * 2 + (set ? 1 : 0)
        let r = byGlobal[k]
        if (r === undefined) {
          const t = ctx.globals[ins.global as number] as ValType
          r = set ? { params: [t], results: [] } : { params: [], results: [t] }
          byGlobal[k] = r
        }
        return r
      }
      case 'call': {
        let r = byCallee.get(ins.func as number)
        if (r === undefined) {
          const t = funcType(m, ctx.funcTypes[ins.func as number] as number)
          r = { params: [...t.params], results: [...t.results] }
          byCallee.set(ins.func as number, r)
        }
        for (let n = r.params.length; n > 0; n--) pop()
        return r
      }
      default:
        return undefined
    }
  }

  function applyRule(ins: Instr): [StackType[], StackType[]] {
    const op = ins.op
    switch (op.rule) {
      case 'br': {
        const p = labelTypes(ins.target)
        popN(p.length)
        return [[...p], []]
      }
      case 'br_if': {
        const p = labelTypes(ins.target)
        popN(p.length + 1)
        return [[...p, 'i32'], [...p]]
      }
      case 'br_table': {
        // The operands must fit every target; targets may differ by subtyping, so the values' own types
        // (which fit them all) are what the instruction takes. Unreachable code falls back to the default's.
        const p = labelTypes(ins.target)
        const actual = popN(p.length + 1)
        return [[...p.map((t, k) => (actual[k] === 'bot' ? t : (actual[k] as StackType))), 'i32'], []]
      }
      case 'return':
        popN(ft.results.length)
        return [[...ft.results], []]
      // Tail calls push nothing: the callee's results leave the function (like `return`).
      case 'return_call': {
        const t = funcType(m, ctx.funcTypes[ins.func as number] as number)
        popN(t.params.length)
        return [[...t.params], []]
      }
      case 'call_indirect':
      case 'return_call_indirect': {
        const t = funcType(m, ins.type as number)
        const p: StackType[] = [...t.params, addr(ctx.tables[ins.table ?? 0]?.is64)]
        popN(p.length)
        return [p, op.terminal ? [] : [...t.results]]
      }
      case 'call_ref':
      case 'return_call_ref': {
        const t = funcType(m, ins.type as number)
        const p: StackType[] = [...t.params, ref(ins.type as number, true)]
        popN(p.length)
        return [p, op.terminal ? [] : [...t.results]]
      }
      case 'throw': {
        const t = funcType(m, ctx.tags[ins.tag as number] as number)
        popN(t.params.length)
        return [[...t.params], []]
      }
      case 'drop':
        return [[pop()], []]
      case 'select': {
        pop()
        const b = pop()
        const a = pop()
        const t = a === 'bot' ? b : a
        return [[t, t, 'i32'], [t]]
      }
      case 'select_typed': {
        const t = (ins.selectTypes as ValType[])[0] as ValType
        popN(3)
        return [[t, t, 'i32'], [t]]
      }
      case 'table.get': {
        const t = ctx.tables[ins.table as number]
        if (t === undefined) throw new TypingError(`no table ${ins.table}`)
        pop()
        return [[addr(t.is64)], [t.elem]]
      }
      case 'table.set': {
        const t = ctx.tables[ins.table as number]
        if (t === undefined) throw new TypingError(`no table ${ins.table}`)
        popN(2)
        return [[addr(t.is64), t.elem], []]
      }
      case 'table.grow': {
        const t = ctx.tables[ins.table as number]
        if (t === undefined) throw new TypingError(`no table ${ins.table}`)
        popN(2)
        return [[t.elem, addr(t.is64)], [addr(t.is64)]]
      }
      case 'table.fill': {
        const t = ctx.tables[ins.table as number]
        if (t === undefined) throw new TypingError(`no table ${ins.table}`)
        popN(3)
        return [[addr(t.is64), t.elem, addr(t.is64)], []]
      }
      case 'ref.null':
        return [[], [ref(ins.heap as HeapType, true)]]
      case 'ref.is_null':
        return [[pop()], ['i32']]
      case 'ref.func':
        return [[], [ref(ctx.funcTypes[ins.func as number] as number, false)]]
      case 'ref.eq':
        popN(2)
        return [[ref('eq'), ref('eq')], ['i32']]
      case 'ref.as_non_null': {
        const v = pop()
        const { heap } = heapOf(v)
        return [[v], [heap === null ? 'bot' : ref(heap, false)]]
      }
      case 'br_on_null': {
        const lt = labelTypes(ins.target)
        const v = pop()
        popN(lt.length)
        const { heap } = heapOf(v)
        return [
          [...lt, v],
          [...lt, heap === null ? 'bot' : ref(heap, false)],
        ]
      }
      case 'br_on_non_null': {
        const lt = labelTypes(ins.target)
        const v = pop()
        const rest = lt.slice(0, -1)
        popN(rest.length)
        return [[...rest, v], [...rest]]
      }
      case 'struct.new': {
        const c = m.types[ins.type as number]?.composite
        if (c?.kind !== 'struct') throw new TypingError(`type ${ins.type} is not a struct`)
        const p = c.fields.map(f => unpacked(f.type))
        popN(p.length)
        return [p, [ref(ins.type as number, false)]]
      }
      case 'struct.new_default':
        return [[], [ref(ins.type as number, false)]]
      case 'struct.get':
        pop()
        return [[ref(ins.type as number, true)], [fieldOf(ins.type, ins.field)]]
      case 'struct.set':
        popN(2)
        return [[ref(ins.type as number, true), fieldOf(ins.type, ins.field)], []]
      case 'array.new': {
        popN(2)
        return [[arrayElem(ins.type), 'i32'], [ref(ins.type as number, false)]]
      }
      case 'array.new_default':
        pop()
        return [['i32'], [ref(ins.type as number, false)]]
      case 'array.new_fixed': {
        const e = arrayElem(ins.type)
        const n = ins.count as number
        popN(n)
        return [new Array<StackType>(n).fill(e), [ref(ins.type as number, false)]]
      }
      case 'array.new_segment':
        popN(2)
        return [['i32', 'i32'], [ref(ins.type as number, false)]]
      case 'array.get':
        popN(2)
        return [[ref(ins.type as number, true), 'i32'], [arrayElem(ins.type)]]
      case 'array.set':
        popN(3)
        return [[ref(ins.type as number, true), 'i32', arrayElem(ins.type)], []]
      case 'array.len':
        pop()
        return [[ref('array', true)], ['i32']]
      case 'array.fill':
        popN(4)
        return [[ref(ins.type as number, true), 'i32', arrayElem(ins.type), 'i32'], []]
      case 'array.copy':
        popN(5)
        return [[ref(ins.type as number, true), 'i32', ref(ins.type2 as number, true), 'i32', 'i32'], []]
      case 'array.init_segment':
        popN(4)
        return [[ref(ins.type as number, true), 'i32', 'i32', 'i32'], []]
      case 'ref.test':
        return [[pop()], ['i32']]
      case 'ref.cast': {
        const v = pop()
        const nullable = op.code === 0x17
        return [[v], [ref(ins.heap as HeapType, nullable)]]
      }
      case 'br_on_cast':
      case 'br_on_cast_fail': {
        const flags = ins.castFlags ?? 0
        const rt1 = ref(ins.heap as HeapType, (flags & 1) !== 0)
        const rt2 = ref(ins.heap2 as HeapType, (flags & 2) !== 0)
        // What remains after the cast fails: rt1 minus rt2 (non-null when rt2 would have taken the null).
        const diff = ref(rt1.heap, rt1.nullable && !rt2.nullable)
        const lt = labelTypes(ins.target)
        const rest = lt.slice(0, -1)
        pop()
        popN(rest.length)
        return op.rule === 'br_on_cast'
          ? [
              [...rest, rt1],
              [...rest, diff],
            ]
          : [
              [...rest, rt1],
              [...rest, rt2],
            ]
      }
      case 'any.convert_extern':
      case 'extern.convert_any': {
        const v = pop()
        const { heap, nullable } = heapOf(v)
        const to = op.rule === 'any.convert_extern' ? 'any' : 'extern'
        return [[v], [heap === null ? 'bot' : ref(to, nullable)]]
      }
      case 'ref.i31':
        pop()
        return [['i32'], [ref('i31', false)]]
      case 'i31.get':
        pop()
        return [[ref('i31', true)], ['i32']]
      default:
        throw new TypingError(`no typing rule for ${op.name}`)
    }
  }
}

const CONTEXT_TOKENS = new Set(['A', 'B', 'T', 'U', 'N'])
const fixedCache = new Map<OpInfo, { params: StackType[]; results: StackType[] } | null>()

/** The signature of an op whose types do not depend on memories or tables, computed once. */
function fixedSignature(op: OpInfo): { params: StackType[]; results: StackType[] } | null {
  let f = fixedCache.get(op)
  if (f === undefined) {
    const tokens = [...(op.params ?? []), ...(op.results ?? [])]
    const resolve = (t: string): StackType => (t === 'exnref' ? ref('exn') : (t as ValType))
    f = tokens.some(t => CONTEXT_TOKENS.has(t))
      ? null
      : { params: (op.params ?? []).map(resolve), results: (op.results ?? []).map(resolve) }
    fixedCache.set(op, f)
  }
  return f
}

/** The bottom heap type of the hierarchy `h` belongs to (for null constants). */
export function nullHeapOf(m: Module, h: HeapType): HeapType {
  if (typeof h === 'string') return hierarchyBottom(absHierarchyTop(h))
  return m.types[h]?.composite.kind === 'func' ? 'nofunc' : 'none'
}

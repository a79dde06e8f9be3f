// Unit tests of the stack typing (typing.ts): one test per polymorphic or context-dependent instruction.
//
// The test modules are written in a flat WAT dialect and assembled straight into the IR by the small
// assembler below, then encoded with our encoder; every module must pass the engine's validator
// (Node 26: GC, exnref and legacy EH, memory64/table64, multi-memory) before its typing is checked, so
// the expected types are those of valid code. binaryen is not used here on purpose: it cannot express
// stack-polymorphic code after `unreachable` (it re-emits it as a bare `unreachable`) and it aborts on a
// memory.copy between a 32-bit and a 64-bit memory.
//
// Assembler dialect: instructions in binary immediate order (`call_indirect $type $table`), `$names`
// for types, functions, globals, tables, memories, tags and labels; local indices as numbers; optional
// memory/table indices default to 0; memargs take `offset=` and `align=`; typed `select (result t)`;
// `ref.test`/`ref.cast` take a reference type; `br_on_cast $l rt1 rt2`; try_table clauses
// `(catch $tag $l)`, `(catch_ref ...)`, `(catch_all $l)`, `(catch_all_ref $l)`.
import {
  emptyModule,
  encode,
  type FuncBody,
  type HeapType,
  type Instr,
  type InstrTypes,
  type Label,
  type Module,
  type OpInfo,
  opByCode,
  opByName,
  type RefType,
  ref,
  type StackType,
  type StorageType,
  type SubType,
  type TryTableCatch,
  TypingError,
  typeFunctionBody,
  typingContext,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'

// ---------------------------------------------------------------------------------------------------
// A tiny flat-WAT assembler that produces the IR directly.

type Tok = string | Tok[]

function tokenize(src: string): Tok[] {
  const root: Tok[] = []
  const stack: Tok[][] = [root]
  for (const [s] of src.replace(/;;[^\n]*/g, '').matchAll(/\(|\)|[^\s()]+/g)) {
    const top = stack[stack.length - 1] as Tok[]
    if (s === '(') {
      const l: Tok[] = []
      top.push(l)
      stack.push(l)
    } else if (s === ')') {
      stack.pop()
      if (stack.length === 0) throw new Error(`unbalanced ) in ${src}`)
    } else top.push(s)
  }
  if (stack.length !== 1) throw new Error(`unbalanced ( in ${src}`)
  return root
}

const ABSTRACT = new Set([
  'func',
  'nofunc',
  'extern',
  'noextern',
  'any',
  'eq',
  'i31',
  'struct',
  'array',
  'none',
])
ABSTRACT.add('exn').add('noexn')
const SHORTHAND: Record<string, string> = {
  funcref: 'func',
  externref: 'extern',
  anyref: 'any',
  eqref: 'eq',
  i31ref: 'i31',
  structref: 'struct',
  arrayref: 'array',
  exnref: 'exn',
  nullref: 'none',
  nullfuncref: 'nofunc',
  nullexternref: 'noextern',
  nullexnref: 'noexn',
}
const NUMERIC = new Set(['i32', 'i64', 'f32', 'f64', 'v128'])

type Space = 'type' | 'func' | 'global' | 'table' | 'mem' | 'tag'

interface ModuleSpec {
  /** name → `(func ...)`, `(struct ...)`, `(array ...)` or `(sub [final] [$super] ...)`. */
  types?: Record<string, string>
  /** name → a type name or an inline `(param ...) (result ...)` signature. */
  importFuncs?: Record<string, string>
  /** name → `t` or `(mut t)`. */
  importGlobals?: Record<string, string>
  /** name → `[i64] reftype`. */
  tables?: Record<string, string>
  /** name → `i32` or `i64`. */
  memories?: Record<string, string>
  globals?: Record<string, string>
  tags?: Record<string, string>
  funcs: Record<string, { type: string; locals?: string; code: string }>
}

interface Built {
  m: Module
  bytes: Uint8Array<ArrayBuffer>
  /** The lifted body of a defined function. */
  body(func: string): FuncBody
  /** Types of every instruction of a defined function. */
  types(func: string): Map<Instr, InstrTypes>
  /** `params -> results` of the `nth` instruction named `op` (pre-order) in `func`. */
  sig(func: string, op: string, nth?: number): string
  /** That instruction itself. */
  find(func: string, op: string, nth?: number): Instr
  text(t: StackType): string
}

/** Every instruction of a body in pre-order (then arms, else arms, catch clauses). */
function walk(list: Instr[], out: Instr[] = []): Instr[] {
  for (const ins of list) {
    out.push(ins)
    if (ins.body) walk(ins.body, out)
    if (ins.else) walk(ins.else, out)
    for (const c of ins.legacyCatches ?? []) walk(c.body, out)
  }
  return out
}

function build(spec: ModuleSpec, options: { valid?: boolean } = {}): Built {
  const m = emptyModule()
  const names: Record<Space, Map<string, number>> = {
    type: new Map(),
    func: new Map(),
    global: new Map(),
    table: new Map(),
    mem: new Map(),
    tag: new Map(),
  }
  const typeNames: string[] = []

  const index = (space: Space, t: Tok | undefined): number => {
    if (typeof t !== 'string') throw new Error(`expected a ${space} index, got ${JSON.stringify(t)}`)
    if (/^\d+$/.test(t)) return Number(t)
    const i = names[space].get(t)
    if (i === undefined) throw new Error(`unknown ${space} ${t}`)
    return i
  }
  const heapType = (t: Tok | undefined): HeapType => {
    if (typeof t === 'string' && ABSTRACT.has(t)) return t as HeapType
    return index('type', t)
  }
  const valType = (t: Tok | undefined): ValType => {
    if (typeof t === 'string') {
      if (NUMERIC.has(t)) return t as ValType
      const abs = SHORTHAND[t]
      if (abs !== undefined) return ref(abs as HeapType, true)
      throw new Error(`unknown value type ${t}`)
    }
    if (t?.[0] === 'ref') return t[1] === 'null' ? ref(heapType(t[2]), true) : ref(heapType(t[1]), false)
    throw new Error(`bad value type ${JSON.stringify(t)}`)
  }
  const storageType = (t: Tok | undefined): StorageType => (t === 'i8' || t === 'i16' ? t : valType(t))
  const fieldType = (t: Tok | undefined) =>
    Array.isArray(t) && t[0] === 'mut'
      ? { type: storageType(t[1]), mutable: true }
      : { type: storageType(t), mutable: false }
  const signature = (toks: Tok[]): { params: ValType[]; results: ValType[] } => {
    const params: ValType[] = []
    const results: ValType[] = []
    for (const l of toks) {
      if (!Array.isArray(l) || (l[0] !== 'param' && l[0] !== 'result'))
        throw new Error(`bad signature part ${JSON.stringify(l)}`)
      for (const t of l.slice(1)) (l[0] === 'param' ? params : results).push(valType(t))
    }
    return { params, results }
  }
  const subType = (t: Tok | undefined): SubType => {
    if (!Array.isArray(t)) throw new Error(`bad type ${JSON.stringify(t)}`)
    if (t[0] === 'sub') {
      let i = 1
      const final = t[i] === 'final'
      if (final) i++
      const supers: number[] = []
      while (typeof t[i] === 'string') supers.push(index('type', t[i++]))
      return { ...subType(t[i]), final, supers, explicitSub: true }
    }
    const base = { final: true, supers: [], explicitSub: false }
    if (t[0] === 'func') return { composite: { kind: 'func', ...signature(t.slice(1)) }, ...base }
    if (t[0] === 'struct')
      return {
        composite: {
          kind: 'struct',
          fields: t.slice(1).map(f => {
            if (!Array.isArray(f) || f[0] !== 'field') throw new Error(`bad field ${JSON.stringify(f)}`)
            return fieldType(f[1])
          }),
        },
        ...base,
      }
    if (t[0] === 'array') return { composite: { kind: 'array', field: fieldType(t[1]) }, ...base }
    throw new Error(`bad type ${JSON.stringify(t)}`)
  }
  const addType = (sub: SubType, name?: string): number => {
    const i = m.types.length
    m.types.push(sub)
    m.recGroups.push({ size: 1, explicit: false })
    if (name !== undefined) typeNames[i] = name
    return i
  }
  /** A type name, or an inline signature turned into a (new) function type. */
  const funcTypeIndex = (src: string): number => {
    const s = src.trim()
    if (s.startsWith('$')) return index('type', s)
    return addType({
      composite: { kind: 'func', ...signature(tokenize(s)) },
      final: true,
      supers: [],
      explicitSub: false,
    })
  }
  const zero = (t: ValType): Instr[] => {
    if (t === 'i32' || t === 'f32') return [{ op: opByName(`${t}.const`), i32: 0 }]
    if (t === 'i64') return [{ op: opByName('i64.const'), i64: 0n }]
    if (t === 'f64') return [{ op: opByName('f64.const'), f64: 0n }]
    if (t === 'v128') return [{ op: opByName('v128.const'), v128: new Uint8Array(16) }]
    return [{ op: opByName('ref.null'), heap: t.heap }]
  }
  const globalType = (src: string) => {
    const t = tokenize(src)[0]
    return Array.isArray(t) && t[0] === 'mut'
      ? { type: valType(t[1]), mutable: true }
      : { type: valType(t), mutable: false }
  }

  // Types: all names first, so that types can refer to each other (and to themselves).
  const typeEntries = Object.entries(spec.types ?? {})
  typeEntries.forEach(([name], i) => names.type.set(name, i))
  for (const [name, src] of typeEntries) addType(subType(tokenize(src)[0]), name)

  for (const [name, src] of Object.entries(spec.importFuncs ?? {})) {
    names.func.set(name, names.func.size)
    m.imports.push({ module: 'env', name, desc: { kind: 'func', type: funcTypeIndex(src) } })
  }
  for (const [name, src] of Object.entries(spec.importGlobals ?? {})) {
    names.global.set(name, names.global.size)
    m.imports.push({ module: 'env', name, desc: { kind: 'global', global: globalType(src) } })
  }
  for (const [name, src] of Object.entries(spec.tables ?? {})) {
    const toks = tokenize(src)
    const is64 = toks[0] === 'i64'
    names.table.set(name, names.table.size)
    m.tables.push({
      refType: valType(toks[is64 ? 1 : 0]) as RefType,
      limits: { min: 1, max: null, shared: false, is64 },
      init: null,
    })
  }
  for (const [name, src] of Object.entries(spec.memories ?? {})) {
    names.mem.set(name, names.mem.size)
    m.memories.push({
      limits: { min: 1, max: null, shared: false, is64: src.trim() === 'i64' },
      pageSizeLog2: null,
    })
  }
  for (const [name, src] of Object.entries(spec.globals ?? {})) {
    names.global.set(name, names.global.size)
    const g = globalType(src)
    m.globals.push({ ...g, init: zero(g.type) })
  }
  for (const [name, src] of Object.entries(spec.tags ?? {})) {
    names.tag.set(name, names.tag.size)
    m.tags.push({ type: funcTypeIndex(src) })
  }
  const funcEntries = Object.entries(spec.funcs)
  const importedFuncs = names.func.size
  for (const [name, f] of funcEntries) {
    names.func.set(name, names.func.size)
    m.funcs.push({ type: funcTypeIndex(f.type), body: null, raw: null, rawOffset: 0 })
  }
  // Export every function so that ref.func may name any of them.
  for (let i = 0; i < names.func.size; i++) m.exports.push({ name: `f${i}`, kind: 'func', index: i })

  const blockType = (parts: Tok[][]): Instr['blockType'] => {
    if (parts.length === 0) return null
    if (parts.length === 1 && parts[0]?.[0] === 'type') return index('type', parts[0][1])
    const sig = signature(parts)
    if (sig.params.length === 0 && sig.results.length <= 1) return sig.results[0] ?? null
    return addType({ composite: { kind: 'func', ...sig }, final: true, supers: [], explicitSub: false })
  }

  const assemble = (src: string, fb: FuncBody): void => {
    const toks = tokenize(src)
    const labels: { name: string | undefined; label: Label }[] = [{ name: undefined, label: fb }]
    const lists: Instr[][] = []
    const open: Instr[] = []
    let list = fb.body
    let i = 0
    const next = (): Tok | undefined => toks[i++]
    const peek = (): Tok | undefined => toks[i]
    const isIndex = (t: Tok | undefined): boolean => typeof t === 'string' && /^(\$|\d)/.test(t)
    const label = (t: Tok | undefined): Label => {
      if (typeof t !== 'string') throw new Error(`expected a label, got ${JSON.stringify(t)}`)
      if (/^\d+$/.test(t)) {
        const l = labels[labels.length - 1 - Number(t)]
        if (l === undefined) throw new Error(`label depth ${t} out of range`)
        return l.label
      }
      for (let k = labels.length - 1; k >= 0; k--)
        if (labels[k]?.name === t) return (labels[k] as { label: Label }).label
      throw new Error(`unknown label ${t}`)
    }
    const plain = (name: string): Instr => {
      let op: OpInfo
      const ins = {} as Instr
      const p = peek()
      if (name === 'select' && Array.isArray(p) && p[0] === 'result') {
        op = opByCode(0, 0x1c)
        ins.selectTypes = p.slice(1).map(valType)
        next()
      } else if (name === 'ref.test' || name === 'ref.cast') {
        const rt = valType(next()) as RefType
        const base = name === 'ref.test' ? 0x14 : 0x16
        op = opByCode(0xfb, base + (rt.nullable ? 1 : 0))
        ins.heap = rt.heap
      } else op = opByName(name)
      ins.op = op
      for (const imm of op.imms) {
        switch (imm) {
          case 'label':
            ins.target = label(next())
            break
          case 'labels': {
            const ls: Label[] = []
            while (isIndex(peek())) ls.push(label(next()))
            ins.target = ls.pop()
            ins.targets = ls
            break
          }
          case 'func':
          case 'global':
          case 'tag':
            ins[imm] = index(imm, next())
            break
          case 'type':
          case 'type2':
            ins[imm] = index('type', next())
            break
          case 'table':
          case 'table2':
            ins[imm] = isIndex(peek()) ? index('table', next()) : 0
            break
          case 'mem':
          case 'mem2':
            ins[imm] = isIndex(peek()) ? index('mem', next()) : 0
            break
          case 'local':
          case 'field':
          case 'count':
          case 'lane':
          case 'data':
          case 'elem':
            ins[imm] = Number(next())
            break
          case 'memarg': {
            ins.mem = isIndex(peek()) ? index('mem', next()) : 0
            ins.align = op.naturalAlign
            ins.offset = 0
            for (let t = peek(); typeof t === 'string' && /^(offset|align)=/.test(t); t = peek()) {
              next()
              const [key, value] = t.split('=') as [string, string]
              if (key === 'align') ins.align = Math.log2(Number(value))
              else ins.offset = Number(value)
            }
            break
          }
          case 'i32':
            ins.i32 = Number(next()) | 0
            break
          case 'i64':
            ins.i64 = BigInt(next() as string)
            break
          case 'f32':
            ins.i32 = new Uint32Array(new Float32Array([Number(next())]).buffer)[0]
            break
          case 'f64':
            ins.f64 = new BigUint64Array(new Float64Array([Number(next())]).buffer)[0]
            break
          case 'heap':
            // ref.test/ref.cast already took theirs from the reference type.
            if (ins.heap === undefined) ins.heap = heapType(next())
            break
          case 'cast': {
            ins.target = label(next())
            const a = valType(next()) as RefType
            const b = valType(next()) as RefType
            ins.castFlags = (a.nullable ? 1 : 0) | (b.nullable ? 2 : 0)
            ins.heap = a.heap
            ins.heap2 = b.heap
            break
          }
          case 'select':
          case 'zero':
            break
          default:
            throw new Error(`the test assembler does not handle ${imm} immediates`)
        }
      }
      return ins
    }
    while (i < toks.length) {
      const t = next()
      if (typeof t !== 'string') throw new Error(`unexpected ${JSON.stringify(t)}`)
      switch (t) {
        case 'block':
        case 'loop':
        case 'if':
        case 'try':
        case 'try_table': {
          const name =
            typeof peek() === 'string' && (peek() as string).startsWith('$') ? (next() as string) : undefined
          const parts: Tok[][] = []
          for (
            let p = peek();
            Array.isArray(p) && ['param', 'result', 'type'].includes(p[0] as string);
            p = peek()
          )
            parts.push(next() as Tok[])
          const ins: Instr = { op: opByName(t), blockType: blockType(parts), body: [] }
          if (t === 'try_table') {
            const catches: TryTableCatch[] = []
            for (let p = peek(); Array.isArray(p) && String(p[0]).startsWith('catch'); p = peek()) {
              const c = next() as Tok[]
              const kind = ['catch', 'catch_ref', 'catch_all', 'catch_all_ref'].indexOf(c[0] as string)
              if (kind < 0) throw new Error(`bad clause ${JSON.stringify(c)}`)
              catches.push({
                kind: kind as TryTableCatch['kind'],
                tag: kind < 2 ? index('tag', c[1]) : -1,
                target: label(c[kind < 2 ? 2 : 1]),
              })
            }
            ins.catches = catches
          }
          list.push(ins)
          lists.push(list)
          open.push(ins)
          labels.push({ name, label: ins })
          list = ins.body as Instr[]
          break
        }
        case 'else': {
          const ins = open[open.length - 1] as Instr
          ins.else = []
          list = ins.else
          break
        }
        case 'catch':
        case 'catch_all': {
          const ins = open[open.length - 1] as Instr
          const c = { tag: t === 'catch' ? index('tag', next()) : -1, body: [] as Instr[] }
          ins.legacyCatches ??= []
          ins.legacyCatches.push(c)
          list = c.body
          break
        }
        case 'delegate': {
          const ins = open.pop() as Instr
          labels.pop()
          list = lists.pop() as Instr[]
          ins.delegate = label(next())
          break
        }
        case 'end':
          if (open.pop() === undefined) throw new Error('end without a block')
          labels.pop()
          list = lists.pop() as Instr[]
          break
        default:
          list.push(plain(t))
      }
    }
    if (open.length !== 0) throw new Error('unclosed block')
  }

  funcEntries.forEach(([, f], k) => {
    const fb: FuncBody = { kind: 'func', locals: tokenize(f.locals ?? '').map(valType), body: [] }
    assemble(f.code, fb)
    ;(m.funcs[k] as Module['funcs'][number]).body = fb
  })

  const bytes = encode(m) as Uint8Array<ArrayBuffer>
  if ((options.valid ?? true) && !WebAssembly.validate(bytes)) {
    let message = ''
    try {
      new WebAssembly.Module(bytes)
    } catch (e) {
      message = (e as Error).message
    }
    throw new Error(`test module does not validate: ${message}`)
  }

  const ctx = typingContext(m)
  const cache = new Map<string, Map<Instr, InstrTypes>>()
  const defined = (func: string): number => {
    const i = names.func.get(func)
    if (i === undefined || i < importedFuncs) throw new Error(`no defined function ${func}`)
    return i - importedFuncs
  }
  const built: Built = {
    m,
    bytes,
    body: func => (m.funcs[defined(func)] as Module['funcs'][number]).body as FuncBody,
    types(func) {
      let t = cache.get(func)
      if (t === undefined) {
        const f = m.funcs[defined(func)] as Module['funcs'][number]
        t = typeFunctionBody(ctx, f.type, f.body as FuncBody)
        cache.set(func, t)
      }
      return t
    },
    find(func, op, nth = 0) {
      const all = walk(built.body(func).body).filter(ins => ins.op.name === op)
      const ins = all[nth]
      if (ins === undefined) throw new Error(`no ${op} #${nth} in ${func} (${all.length} found)`)
      return ins
    },
    sig(func, op, nth = 0) {
      const t = built.types(func).get(built.find(func, op, nth))
      if (t === undefined) throw new Error(`${op} #${nth} in ${func} was not typed`)
      return [...t.params.map(built.text), '->', ...t.results.map(built.text)].join(' ')
    },
    text(t) {
      if (typeof t === 'string') return t
      const heap = typeof t.heap === 'number' ? (typeNames[t.heap] ?? String(t.heap)) : t.heap
      return t.nullable ? `(ref null ${heap})` : `(ref ${heap})`
    },
  }
  return built
}

// ---------------------------------------------------------------------------------------------------

describe('typing: parametric instructions', () => {
  it('untyped select takes the type of its operands', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i32 f64 f64) (result f64)',
          code: 'local.get 1 local.get 2 local.get 0 select',
        },
        $v: {
          type: '(param v128 v128 i32) (result v128)',
          code: 'local.get 0 local.get 1 local.get 2 select',
        },
      },
    })
    expect(b.sig('$f', 'select')).toBe('f64 f64 i32 -> f64')
    expect(b.sig('$v', 'select')).toBe('v128 v128 i32 -> v128')
  })

  it('untyped select in unreachable code: bot operands', () => {
    const b = build({
      funcs: {
        // Everything popped from below the frame is bot; the result is bot too.
        $both: { type: '', code: 'unreachable select drop' },
        // Only the first operand comes from the polymorphic stack: the second one decides.
        $first: { type: '', code: 'unreachable i64.const 1 i32.const 0 select drop' },
        // The condition is concrete, both values are bot.
        $cond: { type: '', code: 'unreachable i32.const 7 select i64.eqz drop' },
        // Reachable again after the block that went unreachable.
        $after: {
          type: '(param f32) (result f32)',
          code: 'block unreachable select drop end local.get 0 local.get 0 i32.const 1 select',
        },
      },
    })
    expect(b.sig('$both', 'select')).toBe('bot bot i32 -> bot')
    expect(b.sig('$both', 'drop')).toBe('bot ->')
    expect(b.sig('$first', 'select')).toBe('i64 i64 i32 -> i64')
    expect(b.sig('$first', 'drop')).toBe('i64 ->')
    expect(b.sig('$cond', 'select')).toBe('bot bot i32 -> bot')
    // i64.eqz has a fixed signature: its param stays i64 even when fed a bot.
    expect(b.sig('$cond', 'i64.eqz')).toBe('i64 -> i32')
    expect(b.sig('$after', 'select', 0)).toBe('bot bot i32 -> bot')
    expect(b.sig('$after', 'select', 1)).toBe('f32 f32 i32 -> f32')
  })

  it('typed select uses its annotation, not the operand types', () => {
    const b = build({
      types: { $s: '(struct (field i32))' },
      funcs: {
        $f: {
          type: '(param (ref $s) i32) (result anyref)',
          code: 'local.get 0 ref.null none local.get 1 select (result anyref)',
        },
        $u: { type: '(result funcref)', code: 'unreachable select (result funcref)' },
      },
    })
    expect(b.sig('$f', 'select')).toBe('(ref null any) (ref null any) i32 -> (ref null any)')
    expect(b.find('$f', 'select').op.code).toBe(0x1c)
    expect(b.sig('$u', 'select')).toBe('(ref null func) (ref null func) i32 -> (ref null func)')
  })

  it('drop pops whatever is on the stack', () => {
    const b = build({
      types: { $s: '(struct)' },
      funcs: {
        $f: {
          type: '(param i64 (ref $s))',
          code: 'local.get 0 drop local.get 1 drop ref.null extern drop unreachable drop',
        },
      },
    })
    expect(b.sig('$f', 'drop', 0)).toBe('i64 ->')
    expect(b.sig('$f', 'drop', 1)).toBe('(ref $s) ->')
    expect(b.sig('$f', 'drop', 2)).toBe('(ref null extern) ->')
    expect(b.sig('$f', 'drop', 3)).toBe('bot ->')
  })
})

describe('typing: variables', () => {
  it('local.get/set/tee use the declared type of the local (params first)', () => {
    const b = build({
      types: { $s: '(struct)' },
      funcs: {
        $f: {
          type: '(param i32 (ref null $s)) (result anyref)',
          locals: 'i64 anyref',
          code: `
            local.get 2 local.set 2          ;; i64 local
            local.get 1 drop                 ;; (ref null $s) param
            i32.const 5 ref.i31 local.tee 3  ;; the operand is (ref i31), the result is the local's anyref
            drop
            local.get 0 local.tee 0 drop
            unreachable local.set 2          ;; bot popped, the param is still the local's type
            unreachable local.tee 3`,
        },
      },
    })
    expect(b.sig('$f', 'local.get', 0)).toBe('-> i64')
    expect(b.sig('$f', 'local.set', 0)).toBe('i64 ->')
    expect(b.sig('$f', 'local.get', 1)).toBe('-> (ref null $s)')
    expect(b.sig('$f', 'local.tee', 0)).toBe('(ref null any) -> (ref null any)')
    expect(b.sig('$f', 'local.get', 2)).toBe('-> i32')
    expect(b.sig('$f', 'local.tee', 1)).toBe('i32 -> i32')
    expect(b.sig('$f', 'local.set', 1)).toBe('i64 ->')
    expect(b.sig('$f', 'local.tee', 2)).toBe('(ref null any) -> (ref null any)')
  })

  it('global.get/set count imported globals first', () => {
    const b = build({
      types: { $s: '(struct)' },
      importGlobals: { $ig: 'i64', $ir: '(ref null $s)' },
      globals: { $g: '(mut f32)', $h: '(mut eqref)' },
      funcs: {
        $f: {
          type: '',
          code: `
            global.get $ig drop global.get $ir drop
            global.get $g global.set $g
            global.get $ir global.set $h`,
        },
      },
    })
    expect(b.find('$f', 'global.get', 2).global).toBe(2)
    expect(b.sig('$f', 'global.get', 0)).toBe('-> i64')
    expect(b.sig('$f', 'global.get', 1)).toBe('-> (ref null $s)')
    expect(b.sig('$f', 'global.get', 2)).toBe('-> f32')
    expect(b.sig('$f', 'global.set', 0)).toBe('f32 ->')
    expect(b.sig('$f', 'global.set', 1)).toBe('(ref null eq) ->')
  })
})

describe('typing: references', () => {
  const types = {
    $s: '(struct (field (mut i32)) (field (mut i8)) (field (ref null $s)))',
    $a: '(array (mut i64))',
    $b: '(array (mut i8))',
    $ft: '(func (param i32) (result i64))',
  }

  it('ref.null, ref.is_null, ref.func, ref.as_non_null, ref.eq', () => {
    const b = build({
      types,
      importFuncs: { $imp: '$ft' },
      funcs: {
        $f: {
          type: '(param (ref null $s) eqref (ref $s))',
          code: `
            ref.null func drop
            ref.null $s drop
            ref.null none drop
            ref.null exn drop
            local.get 0 ref.is_null drop
            local.get 2 ref.is_null drop
            ref.func $imp drop
            ref.func $f drop
            local.get 0 ref.as_non_null drop
            local.get 1 ref.as_non_null drop
            local.get 0 local.get 1 ref.eq drop
            unreachable ref.is_null drop`,
        },
      },
    })
    expect(b.sig('$f', 'ref.null', 0)).toBe('-> (ref null func)')
    expect(b.sig('$f', 'ref.null', 1)).toBe('-> (ref null $s)')
    expect(b.sig('$f', 'ref.null', 2)).toBe('-> (ref null none)')
    expect(b.sig('$f', 'ref.null', 3)).toBe('-> (ref null exn)')
    expect(b.sig('$f', 'ref.is_null', 0)).toBe('(ref null $s) -> i32')
    expect(b.sig('$f', 'ref.is_null', 1)).toBe('(ref $s) -> i32')
    expect(b.sig('$f', 'ref.func', 0)).toBe('-> (ref $ft)')
    // $f's type is the inline signature, appended after the named types.
    expect(b.text(b.types('$f').get(b.find('$f', 'ref.func', 1))?.results[0] as StackType)).toBe(
      `(ref ${b.m.funcs[0]?.type})`,
    )
    expect(b.sig('$f', 'ref.as_non_null', 0)).toBe('(ref null $s) -> (ref $s)')
    expect(b.sig('$f', 'ref.as_non_null', 1)).toBe('(ref null eq) -> (ref eq)')
    expect(b.sig('$f', 'ref.eq')).toBe('(ref null eq) (ref null eq) -> i32')
    expect(b.sig('$f', 'ref.is_null', 2)).toBe('bot -> i32')
  })

  it('ref.as_non_null of bot stays bot', () => {
    const b = build({ funcs: { $f: { type: '', code: 'unreachable ref.as_non_null drop' } } })
    expect(b.sig('$f', 'ref.as_non_null')).toBe('bot -> bot')
    expect(b.sig('$f', 'drop')).toBe('bot ->')
  })

  it('br_on_null and br_on_non_null', () => {
    const b = build({
      types,
      funcs: {
        $null: {
          type: '(param (ref null $s)) (result i64)',
          code: `
            block $l (result i64)
              i64.const 1
              local.get 0
              br_on_null $l       ;; [i64 (ref null $s)] -> [i64 (ref $s)]
              drop
            end`,
        },
        $nonnull: {
          type: '(param (ref null $s)) (result i32 (ref $s))',
          code: `
            block $l (result i32 (ref $s))
              i32.const 1
              local.get 0
              br_on_non_null $l   ;; [i32 (ref null $s)] -> [i32]
              drop
              unreachable
            end`,
        },
        $bot: {
          type: '(result (ref $s))',
          code: `
            block $l (result (ref $s))
              unreachable
              br_on_non_null $l
              unreachable
              br_on_null $l
              unreachable
            end`,
        },
      },
    })
    expect(b.sig('$null', 'br_on_null')).toBe('i64 (ref null $s) -> i64 (ref $s)')
    expect(b.sig('$nonnull', 'br_on_non_null')).toBe('i32 (ref null $s) -> i32')
    expect(b.sig('$bot', 'br_on_non_null')).toBe('bot ->')
    // br_on_null to a label of one value: that value is bot-typed here, but the label's type is kept.
    expect(b.sig('$bot', 'br_on_null')).toBe('(ref $s) bot -> (ref $s) bot')
  })

  it('ref.test and ref.cast (nullable and not)', () => {
    const b = build({
      types,
      funcs: {
        $f: {
          type: '(param anyref)',
          code: `
            local.get 0 ref.test (ref $s) drop
            local.get 0 ref.test (ref null $s) drop
            local.get 0 ref.cast (ref null $s) drop
            local.get 0 ref.cast (ref $s) drop
            local.get 0 ref.cast (ref i31) drop
            local.get 0 ref.cast nullref drop
            unreachable ref.cast (ref $a) drop`,
        },
      },
    })
    expect(b.find('$f', 'ref.test', 0).op.code).toBe(0x14)
    expect(b.find('$f', 'ref.test', 1).op.code).toBe(0x15)
    expect(b.sig('$f', 'ref.test', 0)).toBe('(ref null any) -> i32')
    expect(b.sig('$f', 'ref.test', 1)).toBe('(ref null any) -> i32')
    expect(b.sig('$f', 'ref.cast', 0)).toBe('(ref null any) -> (ref null $s)')
    expect(b.sig('$f', 'ref.cast', 1)).toBe('(ref null any) -> (ref $s)')
    expect(b.sig('$f', 'ref.cast', 2)).toBe('(ref null any) -> (ref i31)')
    expect(b.sig('$f', 'ref.cast', 3)).toBe('(ref null any) -> (ref null none)')
    expect(b.sig('$f', 'ref.cast', 4)).toBe('bot -> (ref $a)')
  })

  it('br_on_cast and br_on_cast_fail: branch and fall-through types', () => {
    const b = build({
      types,
      funcs: {
        // Null fails the cast to (ref $s): the fall-through keeps the nullable input type.
        $cast: {
          type: '(param anyref) (result (ref $s))',
          code: `
            block $l (result (ref $s))
              local.get 0
              br_on_cast $l anyref (ref $s)
              drop
              unreachable
            end`,
        },
        // Null takes the branch: the fall-through is non-null.
        $castNull: {
          type: '(param anyref) (result (ref null $s))',
          code: `
            block $l (result (ref null $s))
              local.get 0
              br_on_cast $l anyref (ref null $s)
              drop
              unreachable
            end`,
        },
        // With values under the reference.
        $castMulti: {
          type: '(param eqref) (result i32 eqref)',
          code: `
            block $l (result i32 eqref)
              i32.const 1
              local.get 0
              br_on_cast $l eqref (ref null i31)
            end`,
        },
        $fail: {
          type: '(param anyref) (result anyref)',
          code: `
            block $l (result anyref)
              local.get 0
              br_on_cast_fail $l anyref (ref $s)
              drop
              unreachable
            end`,
        },
        $failNull: {
          type: '(param anyref) (result (ref any))',
          code: `
            block $l (result (ref any))
              local.get 0
              br_on_cast_fail $l anyref (ref null $s)
              drop
              unreachable
            end`,
        },
        $bot: {
          type: '(result eqref)',
          code: `
            block $l (result eqref)
              unreachable
              br_on_cast $l anyref (ref eq)
              drop
              unreachable
            end`,
        },
      },
    })
    expect(b.find('$cast', 'br_on_cast').castFlags).toBe(1)
    expect(b.sig('$cast', 'br_on_cast')).toBe('(ref null any) -> (ref null any)')
    expect(b.sig('$castNull', 'br_on_cast')).toBe('(ref null any) -> (ref any)')
    expect(b.sig('$castMulti', 'br_on_cast')).toBe('i32 (ref null eq) -> i32 (ref eq)')
    expect(b.sig('$fail', 'br_on_cast_fail')).toBe('(ref null any) -> (ref $s)')
    expect(b.sig('$failNull', 'br_on_cast_fail')).toBe('(ref null any) -> (ref null $s)')
    expect(b.sig('$bot', 'br_on_cast')).toBe('(ref null any) -> (ref null any)')
  })

  it('any.convert_extern / extern.convert_any keep nullability', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param externref (ref extern) anyref (ref any))',
          code: `
            local.get 0 any.convert_extern drop
            local.get 1 any.convert_extern drop
            local.get 2 extern.convert_any drop
            local.get 3 extern.convert_any drop
            i32.const 1 ref.i31 extern.convert_any drop
            unreachable any.convert_extern extern.convert_any drop`,
        },
      },
    })
    expect(b.sig('$f', 'any.convert_extern', 0)).toBe('(ref null extern) -> (ref null any)')
    expect(b.sig('$f', 'any.convert_extern', 1)).toBe('(ref extern) -> (ref any)')
    expect(b.sig('$f', 'extern.convert_any', 0)).toBe('(ref null any) -> (ref null extern)')
    expect(b.sig('$f', 'extern.convert_any', 1)).toBe('(ref any) -> (ref extern)')
    expect(b.sig('$f', 'extern.convert_any', 2)).toBe('(ref i31) -> (ref extern)')
    expect(b.sig('$f', 'any.convert_extern', 2)).toBe('bot -> bot')
    expect(b.sig('$f', 'extern.convert_any', 3)).toBe('bot -> bot')
  })

  it('ref.i31 and i31.get_s/u', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i31ref) (result i32)',
          code: 'i32.const 3 ref.i31 i31.get_s local.get 0 i31.get_u i32.add',
        },
      },
    })
    expect(b.sig('$f', 'ref.i31')).toBe('i32 -> (ref i31)')
    expect(b.sig('$f', 'i31.get_s')).toBe('(ref null i31) -> i32')
    expect(b.sig('$f', 'i31.get_u')).toBe('(ref null i31) -> i32')
  })
})

describe('typing: aggregates', () => {
  const types = {
    $s: '(struct (field (mut i32)) (field (mut i8)) (field (mut (ref null $s))) (field i16))',
    $a: '(array (mut i64))',
    $b: '(array (mut i8))',
    $r: '(array (mut (ref null $s)))',
  }

  it('struct.new/new_default/get/get_s/get_u/set', () => {
    const b = build({
      types,
      funcs: {
        $f: {
          type: '(param (ref null $s))',
          code: `
            i32.const 1 i32.const 2 local.get 0 i32.const 3 struct.new $s drop
            struct.new_default $s drop
            local.get 0 struct.get $s 0 drop
            local.get 0 struct.get_s $s 1 drop
            local.get 0 struct.get_u $s 3 drop
            local.get 0 struct.get $s 2 drop
            local.get 0 i32.const 9 struct.set $s 1
            local.get 0 local.get 0 struct.set $s 2`,
        },
      },
    })
    expect(b.sig('$f', 'struct.new')).toBe('i32 i32 (ref null $s) i32 -> (ref $s)')
    expect(b.sig('$f', 'struct.new_default')).toBe('-> (ref $s)')
    expect(b.sig('$f', 'struct.get', 0)).toBe('(ref null $s) -> i32')
    expect(b.sig('$f', 'struct.get_s')).toBe('(ref null $s) -> i32')
    expect(b.sig('$f', 'struct.get_u')).toBe('(ref null $s) -> i32')
    expect(b.sig('$f', 'struct.get', 1)).toBe('(ref null $s) -> (ref null $s)')
    expect(b.sig('$f', 'struct.set', 0)).toBe('(ref null $s) i32 ->')
    expect(b.sig('$f', 'struct.set', 1)).toBe('(ref null $s) (ref null $s) ->')
  })

  it('array.new/new_default/new_fixed/get/get_u/set/len', () => {
    const b = build({
      types,
      funcs: {
        $f: {
          type: '(param (ref null $a) (ref $b) (ref null $r))',
          code: `
            i64.const 7 i32.const 4 array.new $a drop
            i32.const 4 array.new_default $r drop
            i64.const 1 i64.const 2 i64.const 3 array.new_fixed $a 3 drop
            array.new_fixed $b 0 drop
            local.get 0 i32.const 0 array.get $a drop
            local.get 1 i32.const 0 array.get_u $b drop
            local.get 1 i32.const 0 array.get_s $b drop
            local.get 2 i32.const 0 array.get $r drop
            local.get 0 i32.const 0 i64.const 5 array.set $a
            local.get 1 i32.const 0 i32.const 5 array.set $b
            local.get 0 array.len drop
            local.get 1 array.len drop`,
        },
      },
    })
    expect(b.sig('$f', 'array.new')).toBe('i64 i32 -> (ref $a)')
    expect(b.sig('$f', 'array.new_default')).toBe('i32 -> (ref $r)')
    expect(b.sig('$f', 'array.new_fixed', 0)).toBe('i64 i64 i64 -> (ref $a)')
    expect(b.sig('$f', 'array.new_fixed', 1)).toBe('-> (ref $b)')
    expect(b.sig('$f', 'array.get', 0)).toBe('(ref null $a) i32 -> i64')
    expect(b.sig('$f', 'array.get_u')).toBe('(ref null $b) i32 -> i32')
    expect(b.sig('$f', 'array.get_s')).toBe('(ref null $b) i32 -> i32')
    expect(b.sig('$f', 'array.get', 1)).toBe('(ref null $r) i32 -> (ref null $s)')
    expect(b.sig('$f', 'array.set', 0)).toBe('(ref null $a) i32 i64 ->')
    expect(b.sig('$f', 'array.set', 1)).toBe('(ref null $b) i32 i32 ->')
    expect(b.sig('$f', 'array.len', 0)).toBe('(ref null array) -> i32')
    expect(b.sig('$f', 'array.len', 1)).toBe('(ref null array) -> i32')
  })
})

describe('typing: control', () => {
  it('br to a block, a loop (its params) and the function', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i32) (result i64)',
          code: `
            block $b (result f32)
              f32.const 1
              br $b
            end
            drop
            i32.const 0
            loop $l (param i32)
              br $l
            end
            i64.const 1
            br 0`,
        },
      },
    })
    expect(b.sig('$f', 'br', 0)).toBe('f32 ->')
    expect(b.sig('$f', 'br', 1)).toBe('i32 ->')
    expect(b.sig('$f', 'br', 2)).toBe('i64 ->')
    expect(b.sig('$f', 'block')).toBe('-> f32')
    expect(b.sig('$f', 'loop')).toBe('i32 ->')
  })

  it('br_if produces the label types, not the operand types', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i32) (result i32)',
          code: `
            block $b (result i32)
              i32.const 1 local.get 0 br_if $b
            end`,
        },
        $ref: {
          type: '(param i32) (result anyref)',
          code: `
            block $b (result anyref)
              i32.const 1 ref.i31   ;; (ref i31)
              local.get 0
              br_if $b              ;; [anyref i32] -> [anyref]
            end`,
        },
        $loop: {
          type: '(param i32)',
          code: `
            loop $l
              local.get 0 br_if $l
            end`,
        },
      },
    })
    expect(b.sig('$f', 'br_if')).toBe('i32 i32 -> i32')
    expect(b.sig('$ref', 'br_if')).toBe('(ref null any) i32 -> (ref null any)')
    expect(b.sig('$loop', 'br_if')).toBe('i32 ->')
  })

  it('br_table takes the default target label types', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i32) (result i64)',
          code: `
            block $a (result i64)
              block $b (result i64)
                i64.const 3 local.get 0
                br_table $a $b $a $b
              end
            end`,
        },
        $empty: {
          type: '(param i32)',
          code: 'block $a block $b local.get 0 br_table $a $b 1 end end',
        },
      },
    })
    expect(b.find('$f', 'br_table').targets?.length).toBe(3)
    expect(b.sig('$f', 'br_table')).toBe('i64 i32 ->')
    expect(b.sig('$empty', 'br_table')).toBe('i32 ->')
  })

  it('br_table takes the operand types when its targets differ by subtyping', () => {
    const b = build({
      types: { $s: '(struct (field i32))' },
      funcs: {
        $f: {
          type: '(param i32 (ref $s))',
          code: `
            block $any (result anyref)
              block $struct (result structref)
                local.get 1 local.get 0
                br_table $struct $any
              end
              drop
              ref.null any
            end
            drop`,
        },
        $dead: {
          type: '(param i32)',
          code: 'block $a (result i64) block $b (result i64) unreachable br_table $a $b end end drop',
        },
      },
    })
    // The default ($any) alone would say anyref, which does not fit the $struct target.
    expect(b.sig('$f', 'br_table')).toBe('(ref $s) i32 ->')
    expect(b.sig('$dead', 'br_table')).toBe('i64 i32 ->')
  })

  it('return takes the function results', () => {
    const b = build({
      funcs: {
        $f: { type: '(result i64 f32)', code: 'block i64.const 1 f32.const 2 return end unreachable' },
        $g: { type: '', code: 'return' },
      },
    })
    expect(b.sig('$f', 'return')).toBe('i64 f32 ->')
    expect(b.sig('$g', 'return')).toBe('->')
  })

  it('code after unreachable: fixed signatures stay, pops past the frame are bot', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(result i32)',
          code: `
            unreachable
            i32.add              ;; fixed: i32 i32 -> i32
            drop
            drop                 ;; bot
            block (result i64)   ;; a new frame: reachable inside
              i64.const 1
            end
            i64.eqz              ;; pops the block result
            br 0                 ;; the function label takes [i32]`,
        },
        $ifelse: {
          type: '(param i32 f64)',
          code: `
            local.get 0
            if
              unreachable
              drop               ;; bot
            else
              local.get 1
              drop               ;; reachable again in the else arm
            end
            local.get 1 drop`,
        },
      },
    })
    expect(b.sig('$f', 'i32.add')).toBe('i32 i32 -> i32')
    expect(b.sig('$f', 'drop', 0)).toBe('i32 ->')
    expect(b.sig('$f', 'drop', 1)).toBe('bot ->')
    expect(b.sig('$f', 'block')).toBe('-> i64')
    expect(b.sig('$f', 'i64.eqz')).toBe('i64 -> i32')
    expect(b.sig('$f', 'br')).toBe('i32 ->')
    expect(b.sig('$ifelse', 'if')).toBe('i32 ->')
    expect(b.sig('$ifelse', 'drop', 0)).toBe('bot ->')
    expect(b.sig('$ifelse', 'drop', 1)).toBe('f64 ->')
    expect(b.sig('$ifelse', 'drop', 2)).toBe('f64 ->')
  })

  it('an operand popped past a reachable frame is an error, not bot', () => {
    const b = build({ funcs: { $f: { type: '', code: 'unreachable block drop end' } } }, { valid: false })
    expect(WebAssembly.validate(b.bytes)).toBe(false)
    expect(() => b.types('$f')).toThrow(TypingError)
  })
})

describe('typing: calls', () => {
  const spec: ModuleSpec = {
    types: {
      $ft: '(func (param i32 f64) (result i64))',
      $vt: '(func (param i64))',
    },
    importFuncs: { $imp: '$vt' },
    tables: { $t32: 'funcref', $t64: 'i64 funcref' },
    funcs: {
      $callee: { type: '$ft', code: 'i64.const 0' },
      $f: {
        type: '(param (ref null $ft)) (result i64)',
        code: `
          i32.const 1 f64.const 2 call $callee
          call $imp
          i32.const 1 f64.const 2 i32.const 0 call_indirect $ft $t32 drop
          i32.const 1 f64.const 2 i64.const 0 call_indirect $ft $t64 drop
          i32.const 1 f64.const 2 local.get 0 call_ref $ft`,
      },
      $tail: {
        type: '(param (ref null $ft)) (result i64)',
        code: `
          local.get 0 ref.is_null
          if
            i32.const 1 f64.const 2 return_call $callee
          end
          i32.const 1 f64.const 2 local.get 0 return_call_ref $ft
          drop`,
      },
      $tailIndirect: {
        type: '(result i64)',
        code: `
          i32.const 1 f64.const 2 i64.const 0 return_call_indirect $ft $t64
          i32.const 1 f64.const 2 i32.const 0 return_call_indirect $ft $t32`,
      },
    },
  }

  it('call, call_indirect (32- and 64-bit table), call_ref', () => {
    const b = build(spec)
    expect(b.find('$f', 'call', 1).func).toBe(0)
    expect(b.sig('$f', 'call', 0)).toBe('i32 f64 -> i64')
    expect(b.sig('$f', 'call', 1)).toBe('i64 ->')
    expect(b.sig('$f', 'call_indirect', 0)).toBe('i32 f64 i32 -> i64')
    expect(b.sig('$f', 'call_indirect', 1)).toBe('i32 f64 i64 -> i64')
    expect(b.sig('$f', 'call_ref')).toBe('i32 f64 (ref null $ft) -> i64')
  })

  // Tail calls pop the callee's params and push nothing (the callee's results leave the function).
  it('return_call, return_call_indirect, return_call_ref push nothing and end the reachable code', () => {
    const b = build(spec)
    expect(b.sig('$tail', 'return_call')).toBe('i32 f64 ->')
    expect(b.sig('$tail', 'return_call_ref')).toBe('i32 f64 (ref null $ft) ->')
    expect(b.sig('$tail', 'drop')).toBe('bot ->')
    expect(b.sig('$tailIndirect', 'return_call_indirect', 0)).toBe('i32 f64 i64 ->')
    expect(b.sig('$tailIndirect', 'return_call_indirect', 1)).toBe('i32 f64 i32 ->')
  })
})

describe('typing: exceptions', () => {
  it('throw, throw_ref, try_table with the catch payload at the block target', () => {
    const b = build({
      tags: { $e: '(param i32 f64)', $v: '' },
      funcs: {
        $f: {
          type: '(result i32)',
          code: `
            block $h (result i32 f64 exnref)
              block $c (result i32 f64)
                block $all (result exnref)
                  try_table (result i64) (catch_ref $e $h) (catch $e $c) (catch_all_ref $all)
                    i32.const 1 f64.const 2 throw $e
                    drop                       ;; bot: after throw
                    i64.const 0
                  end
                  drop
                  unreachable
                end
                throw_ref                      ;; exnref from catch_all_ref
              end
              drop                             ;; f64 of the catch payload
              return
            end
            throw_ref                          ;; exnref of catch_ref
            drop                               ;; bot: throw_ref discarded the rest
            drop                               ;; bot
            i32.const 0`,
        },
      },
    })
    expect(b.sig('$f', 'try_table')).toBe('-> i64')
    expect(b.sig('$f', 'throw')).toBe('i32 f64 ->')
    expect(b.sig('$f', 'drop', 0)).toBe('bot ->')
    expect(b.sig('$f', 'drop', 1)).toBe('i64 ->')
    expect(b.sig('$f', 'throw_ref', 0)).toBe('(ref null exn) ->')
    expect(b.sig('$f', 'drop', 2)).toBe('f64 ->')
    expect(b.sig('$f', 'return')).toBe('i32 ->')
    expect(b.sig('$f', 'block', 0)).toBe('-> i32 f64 (ref null exn)')
    expect(b.sig('$f', 'throw_ref', 1)).toBe('(ref null exn) ->')
    expect(b.sig('$f', 'drop', 3)).toBe('bot ->')
    expect(b.sig('$f', 'drop', 4)).toBe('bot ->')
  })

  it('legacy try/catch: the tag payload at the start of the catch, nothing in catch_all', () => {
    const b = build({
      tags: { $e: '(param i32 f64)', $v: '(param i64)' },
      funcs: {
        $f: {
          type: '(result i32)',
          code: `
            try $t (result i32)
              i32.const 1 f64.const 2 throw $e
            catch $e
              drop                ;; f64
            catch $v
              i32.wrap_i64        ;; the i64 payload
            catch_all
              i32.const 0
              rethrow $t
            end`,
        },
        $delegate: {
          type: '(param i32)',
          code: `
            try $outer
              try
                local.get 0 drop
              delegate $outer
            catch_all
              local.get 0 drop    ;; the catch_all arm starts empty and reachable
            end`,
        },
      },
    })
    expect(b.sig('$f', 'try')).toBe('-> i32')
    expect(b.sig('$f', 'drop')).toBe('f64 ->')
    expect(b.sig('$f', 'i32.wrap_i64')).toBe('i64 -> i32')
    expect(b.sig('$f', 'rethrow')).toBe('->')
    expect(b.sig('$delegate', 'drop', 0)).toBe('i32 ->')
  })
})

describe('typing: tables and memories', () => {
  it('table.get/set/grow/size/fill/copy on a 32-bit and a 64-bit table', () => {
    const b = build({
      tables: { $t: 'funcref', $t64: 'i64 externref', $u64: 'i64 externref', $f64: 'i64 funcref' },
      funcs: {
        $f: {
          type: '',
          code: `
            i32.const 0 table.get $t drop
            i64.const 0 table.get $t64 drop
            i32.const 0 ref.null func table.set $t
            i64.const 0 ref.null extern table.set $t64
            ref.null func i32.const 1 table.grow $t drop
            ref.null extern i64.const 1 table.grow $t64 drop
            table.size $t drop
            table.size $t64 drop
            i32.const 0 ref.null func i32.const 1 table.fill $t
            i64.const 0 ref.null extern i64.const 1 table.fill $t64
            i64.const 0 i64.const 0 i64.const 0 table.copy $t64 $u64
            i32.const 0 i64.const 0 i32.const 0 table.copy $t $f64
            i64.const 0 i32.const 0 i32.const 0 table.copy $f64 $t`,
        },
      },
    })
    expect(b.sig('$f', 'table.get', 0)).toBe('i32 -> (ref null func)')
    expect(b.sig('$f', 'table.get', 1)).toBe('i64 -> (ref null extern)')
    expect(b.sig('$f', 'table.set', 0)).toBe('i32 (ref null func) ->')
    expect(b.sig('$f', 'table.set', 1)).toBe('i64 (ref null extern) ->')
    expect(b.sig('$f', 'table.grow', 0)).toBe('(ref null func) i32 -> i32')
    expect(b.sig('$f', 'table.grow', 1)).toBe('(ref null extern) i64 -> i64')
    expect(b.sig('$f', 'table.size', 0)).toBe('-> i32')
    expect(b.sig('$f', 'table.size', 1)).toBe('-> i64')
    expect(b.sig('$f', 'table.fill', 0)).toBe('i32 (ref null func) i32 ->')
    expect(b.sig('$f', 'table.fill', 1)).toBe('i64 (ref null extern) i64 ->')
    expect(b.sig('$f', 'table.copy', 0)).toBe('i64 i64 i64 ->')
    expect(b.sig('$f', 'table.copy', 1)).toBe('i32 i64 i32 ->')
    expect(b.sig('$f', 'table.copy', 2)).toBe('i64 i32 i32 ->')
  })

  it('memory64 loads/stores, memory.size/grow, memory.copy/fill between 32- and 64-bit memories', () => {
    const b = build({
      memories: { $m32: 'i32', $m64: 'i64' },
      funcs: {
        $f: {
          type: '',
          code: `
            i32.const 0 i64.load $m32 offset=8 drop
            i64.const 0 i64.load $m64 offset=8 drop
            i64.const 0 i32.load8_u $m64 drop
            i64.const 0 v128.load $m64 drop
            i64.const 0 f32.const 1 f32.store $m64
            i32.const 0 f32.const 1 f32.store $m32
            memory.size $m32 drop
            memory.size $m64 drop
            i64.const 1 memory.grow $m64 drop
            i32.const 0 i64.const 0 i32.const 1 memory.copy $m32 $m64
            i64.const 0 i32.const 0 i32.const 1 memory.copy $m64 $m32
            i64.const 0 i64.const 0 i64.const 1 memory.copy $m64 $m64
            i32.const 0 i32.const 0 i32.const 1 memory.copy $m32 $m32
            i64.const 0 i32.const 0 i64.const 1 memory.fill $m64
            i64.const 0 i64.const 1 i64.atomic.rmw8.add_u $m64 drop`,
        },
      },
    })
    expect(b.sig('$f', 'i64.load', 0)).toBe('i32 -> i64')
    expect(b.sig('$f', 'i64.load', 1)).toBe('i64 -> i64')
    expect(b.sig('$f', 'i32.load8_u')).toBe('i64 -> i32')
    expect(b.sig('$f', 'v128.load')).toBe('i64 -> v128')
    expect(b.sig('$f', 'f32.store', 0)).toBe('i64 f32 ->')
    expect(b.sig('$f', 'f32.store', 1)).toBe('i32 f32 ->')
    expect(b.sig('$f', 'memory.size', 0)).toBe('-> i32')
    expect(b.sig('$f', 'memory.size', 1)).toBe('-> i64')
    expect(b.sig('$f', 'memory.grow')).toBe('i64 -> i64')
    expect(b.sig('$f', 'memory.copy', 0)).toBe('i32 i64 i32 ->')
    expect(b.sig('$f', 'memory.copy', 1)).toBe('i64 i32 i32 ->')
    expect(b.sig('$f', 'memory.copy', 2)).toBe('i64 i64 i64 ->')
    expect(b.sig('$f', 'memory.copy', 3)).toBe('i32 i32 i32 ->')
    expect(b.sig('$f', 'memory.fill')).toBe('i64 i32 i64 ->')
    expect(b.sig('$f', 'i64.atomic.rmw8.add_u')).toBe('i64 i64 -> i64')
  })
})

describe('typing: only the structures asked about', () => {
  it('a structure `descend` refuses is typed as a whole, its contents are not; recorded stacks', () => {
    const b = build({
      funcs: {
        $f: {
          type: '(param i32) (result i64)',
          code:
            'block (result i32) local.get 0 i32.eqz end drop ' +
            'loop (result i64) i64.const 1 i64.const 2 i64.add end ' +
            'local.get 0 if (result i64) i64.const 3 else i64.const 4 end i64.add',
        },
      },
    })
    const f = b.m.funcs[0] as Module['funcs'][number]
    const body = f.body as FuncBody
    const [block, , loop, , iff] = body.body as [Instr, Instr, Instr, Instr, Instr]
    const stacks = new Map<Instr, StackType[]>()
    const add = b.find('$f', 'i64.add', 1)
    const t = typeFunctionBody(typingContext(b.m), f.type, body, {
      descend: s => s === iff,
      recordStack: ins => ins === iff || ins === add,
      stacks,
    })
    const sig = (ins: Instr) => {
      const s = t.get(ins)
      return s === undefined ? 'untyped' : [...s.params.map(b.text), '->', ...s.results.map(b.text)].join(' ')
    }
    expect(sig(block)).toBe('-> i32')
    expect(sig(loop)).toBe('-> i64')
    expect(sig(iff)).toBe('i32 -> i64')
    expect(sig(b.find('$f', 'i32.eqz'))).toBe('untyped')
    expect(sig(b.find('$f', 'i64.add', 0))).toBe('untyped')
    expect(sig(b.find('$f', 'i64.const', 2))).toBe('-> i64')
    expect(sig(add)).toBe('i64 i64 -> i64')
    // The stack before an instruction, its operands on top.
    expect(stacks.get(iff)?.map(b.text)).toEqual(['i64', 'i32'])
    expect(stacks.get(add)?.map(b.text)).toEqual(['i64', 'i64'])
    expect(stacks.size).toBe(2)
  })
})

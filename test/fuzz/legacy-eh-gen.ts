// Random modules with legacy exception handling only, for the legacy-EH differential fuzz
// (legacy-eh-harness.ts). binaryen's `wasm-opt -ttf` never emits rethrow or delegate and always mixes
// in try_table (which V8 refuses next to legacy EH), so its modules cannot run as the original; these
// can. Built directly in our IR (labels are objects, so any nesting is easy to get right) and encoded
// with our encoder; valid by construction: every instruction list is generated for a known stack shape
// (i32 values only, `have` on entry, `want` at the end).
//
// What a module holds: imports `fuzzing-support` log-i32 and throw (a JS error for 0, else a wasm
// exception with the fuzzer's tag; the harness's driver implements both), three tags ((), (i32),
// (i32 i32)), 2-4 functions (i32) → (i32), each exported and starting with the fuzzer's hang-limit check
// (the driver resets it per export), calling only functions after it (no recursion). Their bodies nest
// blocks, ifs, counted loops and legacy trys (catch per tag, catch_all, several clauses, none, delegate
// to any enclosing label, try params and multi-value results), with throws, rethrows of any enclosing
// catch, branches out of catch bodies to any enclosing block, if or try, and calls.
import {
  type BlockType,
  emptyModule,
  encode,
  type FuncBody,
  type Instr,
  type Label,
  type LegacyCatch,
  type Module,
  opByName,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { seededRandom } from '../asyncify/shared.js'

/** Type indices of the generated module. */
const T = { void: 0, i32: 1, i32i32: 2, i32_i32: 3, i32i32_i32: 4, void_i32i32: 5 } as const
const TYPES: [ValType[], ValType[]][] = [
  [[], []],
  [['i32'], []],
  [['i32', 'i32'], []],
  [['i32'], ['i32']],
  [['i32', 'i32'], ['i32']],
  [[], ['i32', 'i32']],
]
/** Tags: index → payload arity (their types are T.void, T.i32, T.i32i32). */
const TAG_ARITY = [0, 1, 2]
const IMPORT_LOG = 0
const IMPORT_THROW = 1
const HANG_LIMIT = 100

const ops = new Map<string, ReturnType<typeof opByName>>()
function ins(name: string, fields: Omit<Instr, 'op'> = {}): Instr {
  let op = ops.get(name)
  if (op === undefined) {
    op = opByName(name)
    ops.set(name, op)
  }
  return { op, ...fields }
}

/** An enclosing label while a list is generated. */
interface Scope {
  label: Label
  /** i32 values a branch to it carries; null for a loop (branched to only by its own counter). */
  branch: number | null
  /** Set while in a catch body of this legacy try: rethrow may name it. */
  inCatch: boolean
}

class BodyGen {
  private readonly rnd: () => number
  private readonly func: number
  private readonly funcCount: number
  private readonly body: FuncBody
  private readonly scopes: Scope[]
  /** Locals any instruction may read and write (the param and two more); loop counters come after. */
  private readonly general = 3

  constructor(rnd: () => number, func: number, funcCount: number) {
    this.rnd = rnd
    this.func = func
    this.funcCount = funcCount
    this.body = { kind: 'func', locals: ['i32', 'i32'], body: [] }
    this.scopes = [{ label: this.body, branch: 1, inCatch: false }]
  }

  build(): FuncBody {
    // The fuzzer's hang-limit check, as binaryen writes it (the harness finds and resets it).
    const prologue = [
      ins('global.get', { global: 0 }),
      ins('i32.eqz'),
      ins('if', {
        blockType: null,
        body: [ins('i32.const', { i32: HANG_LIMIT }), ins('global.set', { global: 0 }), ins('unreachable')],
      }),
      ins('global.get', { global: 0 }),
      ins('i32.const', { i32: 1 }),
      ins('i32.sub'),
      ins('global.set', { global: 0 }),
    ]
    this.body.body = [...prologue, ...this.seq(0, 1, 4)]
    return this.body
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n)
  }

  private pick<X>(xs: readonly X[]): X {
    return xs[this.int(xs.length)] as X
  }

  /** A list that starts with `have` i32s on the stack and ends with `want`; `extra` goes among its statements. */
  private seq(have: number, want: number, budget: number, extra: Instr[] = []): Instr[] {
    const out: Instr[] = []
    // Sometimes the incoming values are combined first, sometimes after the statements.
    let h = have
    const combine = (): void => {
      while (h > want) {
        out.push(want === 0 ? ins('drop') : ins(this.pick(['i32.add', 'i32.sub', 'i32.xor'])))
        h--
      }
    }
    if (this.rnd() < 0.5) combine()
    const statements = budget > 0 ? this.int(4) : this.int(2)
    const at = this.int(statements + 1)
    for (let k = 0; k <= statements; k++) {
      if (k === at) out.push(...extra)
      if (k < statements) out.push(...this.statement(budget - 1))
    }
    combine()
    while (h < want) {
      out.push(...this.expr(budget - 1))
      h++
    }
    return out
  }

  /** Instructions that leave the stack as they found it. */
  private statement(budget: number): Instr[] {
    const r = this.rnd()
    if (budget > 0 && r < 0.45) return this.structure(0, 0, budget)
    if (r < 0.55) return [...this.expr(budget), ins('call', { func: IMPORT_LOG })]
    if (r < 0.63) return [...this.expr(budget), ins('local.set', { local: this.int(this.general) })]
    if (r < 0.78) return this.throwing(budget)
    if (r < 0.86) {
      const rethrow = this.rethrowing(budget)
      if (rethrow.length > 0) return rethrow
    }
    if (r < 0.94) {
      const targets = this.scopes.filter(s => s.branch !== null)
      const target = this.pick(targets)
      const values = Array.from({ length: target.branch as number }, () => this.expr(budget)).flat()
      return this.conditionally(budget, [...values, ins('br', { target: target.label })])
    }
    return this.call(budget, [ins('drop')])
  }

  /** A throw (of a tag, or the import's JS error or wasm exception), most of them conditional. */
  private throwing(budget: number): Instr[] {
    if (this.rnd() < 0.35) return [...this.expr(budget), ins('call', { func: IMPORT_THROW })]
    const tag = this.int(TAG_ARITY.length)
    const payload = Array.from({ length: TAG_ARITY[tag] as number }, () => this.expr(budget)).flat()
    return this.conditionally(budget, [...payload, ins('throw', { tag })])
  }

  /** A rethrow of an enclosing catch (most of them conditional); nothing outside catch bodies. */
  private rethrowing(budget: number): Instr[] {
    const catches = this.scopes.filter(s => s.inCatch)
    if (catches.length === 0) return []
    return this.conditionally(budget, [ins('rethrow', { target: this.pick(catches).label })])
  }

  /** `if (cond) then <then>`: most throws and branches are taken only sometimes. */
  private conditionally(budget: number, then: Instr[]): Instr[] {
    if (this.rnd() < 0.25) return then
    return [...this.expr(budget), ins('if', { blockType: null, body: then })]
  }

  /** Instructions that push one i32. */
  private expr(budget: number): Instr[] {
    const r = this.rnd()
    if (budget > 0 && r < 0.3) return this.structure(0, 1, budget)
    if (budget > 0 && r < 0.38) return this.tryWithParams(budget)
    if (r < 0.55) return [ins('i32.const', { i32: this.int(7) - 1 })]
    if (r < 0.75) return [ins('local.get', { local: this.int(this.general) })]
    if (r < 0.88)
      return [
        ...this.expr(budget - 1),
        ...this.expr(budget - 1),
        ins(this.pick(['i32.add', 'i32.mul', 'i32.xor'])),
      ]
    return this.call(budget, [])
  }

  /** A call of a later function (a constant when there is none), then `after`. */
  private call(budget: number, after: Instr[]): Instr[] {
    const later = this.funcCount - this.func - 1
    if (later <= 0) return after.length === 0 ? [ins('i32.const', { i32: 3 })] : []
    const callee = 2 + this.func + 1 + this.int(later)
    return [...this.expr(budget), ins('call', { func: callee }), ...after]
  }

  /** A block, if, counted loop or legacy try taking `have` i32s and leaving `want` (0 or 1). */
  private structure(have: number, want: number, budget: number): Instr[] {
    const blockType: BlockType = want === 1 ? 'i32' : null
    const r = this.rnd()
    if (r < 0.15) {
      const s = ins('block', { blockType, body: [] })
      s.body = this.inside(s, want, false, () => this.seq(have, want, budget))
      return [s]
    }
    if (r < 0.28) {
      const cond = this.expr(budget)
      const s = ins('if', { blockType, body: [] })
      s.body = this.inside(s, want, false, () => this.seq(have, want, budget))
      if (want > 0 || this.rnd() < 0.5)
        s.else = this.inside(s, want, false, () => this.seq(have, want, budget))
      return [...cond, s]
    }
    if (r < 0.38) return this.countedLoop(want, budget)
    return [this.legacyTry(blockType, have, want, budget)]
  }

  /** `try` of `blockType` (have → want): clauses, a delegate, or neither. */
  private legacyTry(blockType: BlockType, have: number, want: number, budget: number): Instr {
    const s = ins('try', { blockType, body: [] })
    // Most try bodies throw (sometimes), so handlers run.
    s.body = this.inside(s, want, false, () =>
      this.seq(have, want, budget, this.rnd() < 0.7 ? this.throwing(budget) : []),
    )
    const r = this.rnd()
    if (r < 0.2) {
      // Delegate to any enclosing label (counted from outside the try: not itself).
      s.delegate = this.pick(this.scopes).label
      return s
    }
    if (r < 0.28) return s
    const catches: LegacyCatch[] = []
    const clauses = 1 + this.int(3)
    for (let k = 0; k < clauses; k++) {
      const all = k === clauses - 1 && this.rnd() < 0.4
      const tag = all ? -1 : this.int(TAG_ARITY.length)
      catches.push({ tag, body: [] })
      if (all) break
    }
    s.legacyCatches = catches
    for (const c of catches) {
      const arity = c.tag < 0 ? 0 : (TAG_ARITY[c.tag] as number)
      // Catch bodies rethrow, or hold a try of their own (whose catches may rethrow either exception).
      c.body = this.inside(s, want, true, () => {
        const r = this.rnd()
        const extra =
          r < 0.3 ? this.rethrowing(budget) : r < 0.6 ? [this.legacyTry(null, 0, 0, budget - 1)] : []
        return this.seq(arity, want, budget, extra)
      })
    }
    return s
  }

  /** A try with params or two results: `(i32 [i32]) → (i32)` or `() → (i32 i32)`, then combined. */
  private tryWithParams(budget: number): Instr[] {
    const r = this.rnd()
    if (r < 0.6) {
      const two = this.rnd() < 0.5
      const s = this.legacyTry(two ? T.i32i32_i32 : T.i32_i32, two ? 2 : 1, 1, budget - 1)
      const args = Array.from({ length: two ? 2 : 1 }, () => this.expr(budget - 1)).flat()
      return [...args, s]
    }
    const s = this.legacyTry(T.void_i32i32, 0, 2, budget - 1)
    return [s, ins(this.pick(['i32.add', 'i32.sub']))]
  }

  /** `loop` whose body runs 1-3 times (a fresh counter local), leaving `want` values. */
  private countedLoop(want: number, budget: number): Instr[] {
    const counter = 1 + this.body.locals.length
    this.body.locals.push('i32')
    const s = ins('loop', { blockType: want === 1 ? 'i32' : null, body: [] })
    s.body = this.inside(s, null, false, () => [
      ...this.seq(0, 0, budget),
      ins('local.get', { local: counter }),
      ins('i32.const', { i32: 1 }),
      ins('i32.add'),
      ins('local.tee', { local: counter }),
      ins('i32.const', { i32: 1 + this.int(3) }),
      ins('i32.lt_u'),
      ins('br_if', { target: s }),
      ...this.seq(0, want, budget - 1),
    ])
    return [ins('i32.const', { i32: 0 }), ins('local.set', { local: counter }), s]
  }

  /** Generates a part of `label` with it in scope. */
  private inside(label: Label, branch: number | null, inCatch: boolean, make: () => Instr[]): Instr[] {
    this.scopes.push({ label, branch, inCatch })
    try {
      return make()
    } finally {
      this.scopes.pop()
    }
  }
}

/** The seed's module (deterministic). */
export function legacyEhModule(seed: number): Uint8Array<ArrayBuffer> {
  const rnd = seededRandom(seed * 7919 + 1)
  const m: Module = emptyModule()
  for (const [params, results] of TYPES) {
    m.types.push({
      composite: { kind: 'func', params, results },
      final: true,
      supers: [],
      explicitSub: false,
    })
    m.recGroups.push({ size: 1, explicit: false })
  }
  m.imports.push(
    { module: 'fuzzing-support', name: 'log-i32', desc: { kind: 'func', type: T.i32 } },
    { module: 'fuzzing-support', name: 'throw', desc: { kind: 'func', type: T.i32 } },
  )
  m.tags.push({ type: T.void }, { type: T.i32 }, { type: T.i32i32 })
  m.globals.push({ type: 'i32', mutable: true, init: [ins('i32.const', { i32: HANG_LIMIT })] })
  const count = 2 + Math.floor(rnd() * 3)
  for (let f = 0; f < count; f++) {
    const body = new BodyGen(rnd, f, count).build()
    m.funcs.push({ type: T.i32_i32, body, raw: null, rawOffset: 0 })
    m.exports.push({ name: `f${f}`, kind: 'func', index: 2 + f })
  }
  return encode(m)
}

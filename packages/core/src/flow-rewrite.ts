/**
 * Part 2 of instrumenting one function (see instrument-function.ts): the control-flow rewrite. No
 * flattening; the body stays as it is except around the calls that may unwind ("sites"):
 *  - a list holding sites is cut into segments; the code before a site-holding instruction runs only in
 *    normal state (reads and arithmetic that cannot trap stay unguarded), and a call is guarded by
 *    `idx <= N` (idx is the target while rewinding, 0 in normal state);
 *  - values on the operand stack below a site-holding instruction are stored to temp locals where they are
 *    produced and pushed back after it (constants and unwritten local reads are made again instead);
 *  - a structure a rewind may pass through without its target inside leaves by a block when skipping (a
 *    new `$after` around it, or the one its list leaves by when it is the list's last holder), also at the
 *    ends of its lists, so that no passing rewind reaches the code after it;
 *  - normal-state code right after a holder joins the holder's call guard or `$after` instead of getting
 *    a guard of its own (joinOrAppend);
 *  - an `if` holding sites takes its condition from idx while rewinding, and then never enters an arm
 *    without sites;
 *  - after each site, `i32.const N; global.get state; br_if $unwind; drop` (retargeted later to the exit
 *    of the site's save group, see frames.ts).
 * The rewrite of a list recurses into the structures it holds; it runs as nested steps (nested.ts) so that
 * nesting depth costs no JS stack.
 */
import { STATE } from '@unplugin-asyncify/runtime/abi'
import { type Instr, opByName, ref, type StackType, type ValType, valTypeText } from '@unplugin-asyncify/wasm'
import { defaultValue, I, isDefaultable } from './build.js'
import { AsyncifyError } from './errors.js'
import type { FunctionEnv } from './function-env.js'
import { runNested, type Step } from './nested.js'
import type { PreparedFunction, Range } from './prepare-function.js'

/**
 * A value held across a call: in a local, or as the instruction that makes it again (a constant, or a
 * `local.get` of a local nothing writes until the value is used).
 */
export type Operand = number | Instr

const isPure = (ins: Instr): boolean => ins.op.pure

/**
 * Appends lists to `out` (not `push(...list)`: spreading a list of a few hundred thousand instructions
 * into arguments overflows the JS stack).
 */
function append(out: Instr[], ...lists: readonly (readonly Instr[])[]): void {
  for (const l of lists) for (const ins of l) out.push(ins)
}

function concrete(types: readonly StackType[], where: string): ValType[] {
  for (const t of types)
    if (t === 'bot') throw new AsyncifyError(`internal: unreachable stack type at ${where}`)
  return types as ValType[]
}

/**
 * Temp locals for values held across a call. They are reused once their value has been pushed back:
 * operand stacks nest, so few are ever in use at once (fresh temps per value would all be saved together
 * in union mode, and all look live at every call). Non-nullable values go to nullable temps, read back
 * through `ref.as_non_null`.
 */
export class TempPool {
  private readonly kindOf = new Map<number, string>()
  private readonly free = new Map<string, number[]>()
  /** Temps that hold a non-nullable value (declared nullable). */
  readonly nonNull = new Set<number>()

  constructor(private readonly fn: PreparedFunction) {}

  take(t: ValType): number {
    const kind = typeof t === 'string' ? t : `${t.nullable ? 'null' : 'nonnull'} ${t.heap}`
    const reused = this.free.get(kind)?.pop()
    if (reused !== undefined) return reused
    const l = this.fn.locals.add(typeof t === 'string' || t.nullable ? t : ref(t.heap, true))
    if (typeof t !== 'string' && !t.nullable) this.nonNull.add(l)
    this.kindOf.set(l, kind)
    return l
  }

  /** Returns temps whose values have been consumed (called once the code reading them is generated). */
  release(values: readonly Operand[]): void {
    for (const v of values) {
      if (typeof v !== 'number') continue
      const kind = this.kindOf.get(v)
      if (kind === undefined) continue
      const free = this.free.get(kind)
      if (free === undefined) this.free.set(kind, [v])
      else if (!free.includes(v)) free.push(v)
    }
  }

  /** Stores the top `ts.length` values to new temps. */
  spill(ts: readonly ValType[]): { temps: number[]; code: Instr[] } {
    const temps = ts.map(t => this.take(t))
    const code: Instr[] = []
    for (let i = temps.length - 1; i >= 0; i--) code.push(I.localSet(temps[i] as number))
    return { temps, code }
  }

  /** Pushes the values back. */
  gets(values: readonly Operand[]): Instr[] {
    return values.flatMap(t =>
      typeof t !== 'number'
        ? [{ ...t }]
        : this.nonNull.has(t)
          ? [I.localGet(t), I.plain('ref.as_non_null')]
          : [I.localGet(t)],
    )
  }

  /** Like gets, but a null in a non-nullable temp (possible only while a rewind passes) leaves for `skip`. */
  getsOrLeave(values: readonly Operand[], skip: Instr): Instr[] {
    return values.flatMap(t =>
      typeof t !== 'number'
        ? [{ ...t }]
        : this.nonNull.has(t)
          ? [I.localGet(t), { op: opByName('br_on_null'), target: skip }]
          : [I.localGet(t)],
    )
  }

  holdsNonNull(values: readonly Operand[]): boolean {
    return values.some(t => typeof t === 'number' && this.nonNull.has(t))
  }
}

/** What the flow rewrite leaves for the frames (frames.ts). */
export interface FlowResult {
  /** The rewritten body. */
  list: Instr[]
  /** `block $unwind (result i32)`: every site's unwind branch targets it (its body is set by the caller). */
  unwind: Instr
  /** Each site's branches to `$unwind` (`br_if`, and `br` where a thrown unwind is caught), by site number. */
  unwindBranches: Instr[][]
  /** Guards whose else arm only runs while rewinding, and branches taken only then (liveness ignores both). */
  guards: Set<Instr>
  /** Locals a site needs on rewind beyond what is live after it (callees, host arguments, non-nullables). */
  forced: Map<number, number[]>
  /** What a normal-state copy of the body must store where this rewrite does (normal-copy.ts). */
  copy: CopyFacts
}

/**
 * The locals a normal-state copy of the body (normal-copy.ts) must write as this rewrite does, so that an
 * unwind from the copy saves what the rewritten body reads on rewind.
 */
export interface CopyFacts {
  /** False when some value is held where the copy cannot store it (a block parameter, say). */
  possible: boolean
  /** The temp holding the callee of each indirect site (one of its forced locals). */
  calleeTemps: Map<number, number>
  /** Per site whose arguments are kept for the rewind: code that stores them and pushes them back. */
  keptArgs: Map<number, Instr[]>
  /** Original instructions whose single result is held in a temp across a site, and that temp. */
  tees: Map<Instr, number>
}

/** One list being rewritten: its position in the structure, and the values pending between segments. */
interface ListState {
  list: Instr[]
  /** A rewind entering this list has its target inside. */
  guaranteed: boolean
  /** Otherwise the block a rewind passing through leaves by (the `$after` around its structure). */
  skip: Instr | null
  /** The last site-holding instruction was a structure that a passing rewind leaves by `skip` itself. */
  leftInside: boolean
  /**
   * What the normal-state code after the holder emitted last can join, while nothing follows it in `out`:
   * the holder's call guard, or the `$after` around it (see joinOrAppend).
   */
  join: Instr | null
  out: Instr[]
  /** The frame's stack between call-holding instructions lives in these (bottom → top). */
  pending: Operand[]
  /** Where the code not yet emitted starts. */
  prevEnd: number
  /** Position (in the original body) of the list's last instruction, for recomputable reads. */
  listEnd: number
}

export class FlowRewrite {
  private readonly unwind: Instr = I.block('i32', [])
  private readonly unwindBranches: Instr[][] = []
  private readonly guards = new Set<Instr>()
  private readonly forced = new Map<number, number[]>()
  private readonly copy: CopyFacts = {
    possible: true,
    calleeTemps: new Map(),
    keptArgs: new Map(),
    tees: new Map(),
  }
  /** The original instruction whose result each temp was last stored from (null: not a single result). */
  private readonly storedFrom = new Map<number, Instr | null>()
  private readonly temps: TempPool
  /** How many loops enclose the code being rewritten. */
  private loopDepth = 0

  constructor(
    private readonly env: FunctionEnv,
    private readonly fn: PreparedFunction,
    /** The local holding the call index. */
    private readonly idx: number,
  ) {
    this.temps = new TempPool(fn)
  }

  run(): FlowResult {
    const list = runNested(this.rewriteList(this.fn.body.body, [], this.fn.type.results, true, null))
    const { unwind, unwindBranches, guards, forced, copy } = this
    return { list, unwind, unwindBranches, guards, forced, copy }
  }

  // ---- small code pieces ----

  private stateIs(v: number): Instr[] {
    const state = I.globalGet(this.env.stateGlobal)
    return v === 0 ? [state, I.plain('i32.eqz')] : [state, I.i32(v), I.plain('i32.eq')]
  }

  private notRewinding(): Instr[] {
    return [I.globalGet(this.env.stateGlobal), I.i32(STATE.rewinding), I.plain('i32.ne')]
  }

  /**
   * While rewinding inside a list, the target is never below the range of the next call-holding
   * instruction (earlier ones would have taken it), so "in range" is just "target <= hi".
   */
  private inRange([, hi]: Range): Instr[] {
    return [I.localGet(this.idx), I.i32(hi), I.plain('i32.le_u')]
  }

  /** An `if` that only takes its else arm while rewinding. */
  private guard(blockType: Instr['blockType'], then: Instr[], otherwise?: Instr[]): Instr {
    const g = I.ifElse(blockType ?? null, then, otherwise)
    this.guards.add(g)
    return g
  }

  /** `if (idx <= hi)` around a call: idx is 0 in normal state, so this also means "or running normally". */
  private rangeGuard(inner: Instr[], range: Range): Instr[] {
    return [...this.inRange(range), this.guard(null, inner)]
  }

  private defaults(ts: ValType[], why: string): Instr[] {
    return ts.map(t => {
      const d = defaultValue(t)
      if (d === null)
        throw new AsyncifyError(
          `${this.fn.name}: a non-nullable ${valTypeText(t)} value ${why} has no default to stand in for it while rewinding`,
        )
      return d
    })
  }

  private rangeOf(ins: Instr): Range {
    return this.fn.ranges.get(ins) as Range
  }

  /** Sites inside a list (after transformation the original instructions keep their ranges). */
  private siteRangeOf(list: Instr[]): Range | null {
    let lo = Number.POSITIVE_INFINITY
    let hi = -1
    for (const ins of list) {
      const r = this.fn.ranges.get(ins)
      if (r === undefined) continue
      lo = Math.min(lo, r[0])
      hi = Math.max(hi, r[1])
    }
    return hi < 0 ? null : [lo, hi]
  }

  // ---- a site-holding instruction ----

  /**
   * `ins` with its operands pushed by `pre` and its results taken by `post`. `skippable`: null when the
   * target of a rewind reaching it is inside; else the block a passing rewind leaves by (a structure), or
   * true (a call, which is guarded instead). A structure's lists then leave by that block at their ends
   * too, so a passing rewind never reaches what follows the structure: its results are taken
   * unguarded. `wrap`: the block is a new `$after` around the structure (else an enclosing one).
   */
  private *rewriteInstr(
    ins: Instr,
    skippable: Instr | true | null,
    pre: Instr[],
    post: Instr[],
    wrap = true,
  ): Step<Instr[]> {
    const n = this.fn.siteIndex.get(ins)
    if (n !== undefined) return this.rewriteSite(ins, n, skippable !== null, pre, post)
    const t = this.fn.typeOf(ins)
    const params = concrete(t.params, ins.op.name)
    const results = concrete(t.results, ins.op.name)
    const after = skippable === null || skippable === true ? null : skippable
    const inside = (l: Instr[], entry: ValType[], rewound = true): Step<Instr[]> =>
      this.rewriteList(l, entry, results, after === null || !rewound, after)
    let inner: Instr[]
    const control = ins.op.control
    if (control === 'if') {
      // While rewinding the condition is recomputed from the call index: the arm holding the target, and
      // when the target lies beyond this if, an arm holding sites (its lists then leave by the skip block;
      // falling out of the if, even without an else, would run what follows it). So an arm without sites
      // is entered only in normal state and needs no guard.
      const thenSites = this.siteRangeOf(ins.body ?? [])
      const elseHasSites = ins.else !== undefined && this.siteRangeOf(ins.else) !== null
      const throughThen = thenSites !== null && !elseHasSites
      const blockParams = params.slice(0, -1)
      ins.body = (yield inside(ins.body ?? [], blockParams, thenSites !== null)) as Instr[]
      if (ins.else !== undefined) ins.else = (yield inside(ins.else, blockParams, !throughThen)) as Instr[]
      const pick = thenSites === null ? [I.i32(0)] : throughThen ? [I.i32(1)] : this.inRange(thenSites)
      inner = [...pick, ...this.notRewinding(), I.select(), ins]
    } else if (control === 'block' || control === 'loop' || control === 'try_table') {
      if (control === 'loop') this.loopDepth++
      ins.body = (yield inside(ins.body ?? [], params)) as Instr[]
      if (control === 'loop') this.loopDepth--
      inner = [ins]
    } else if (control === 'try') {
      throw new AsyncifyError(
        `${this.fn.name}: a legacy try/catch holds a call that may unwind; translate legacy exceptions to try_table first`,
      )
    } else throw new AsyncifyError(`internal: ${ins.op.name} holds a call site`)
    if (after === null || !wrap) return [...pre, ...inner, ...post]
    after.body = [...pre, ...inner, ...post]
    return [after]
  }

  /** A call that may unwind, followed by the unwind check. */
  private rewriteSite(ins: Instr, n: number, guarded: boolean, pre: Instr[], post: Instr[]): Instr[] {
    const inner: Instr[] = []
    const call = ins.op.call
    if ((call === 'indirect' || call === 'ref') && !this.fn.hostSites.has(ins)) {
      // The callee operand must be the same on rewind: keep it in a local saved with this call.
      const params = concrete(this.fn.typeOf(ins).params, ins.op.name)
      const calleeType = params[params.length - 1] as ValType
      const callee = this.temps.take(calleeType)
      this.forced.set(n, [...(this.forced.get(n) ?? []), callee])
      this.copy.calleeTemps.set(n, callee)
      const select: Instr =
        typeof calleeType === 'string' ? I.select() : I.selectTyped(ref(calleeType.heap, true))
      inner.push(I.localGet(callee), ...this.notRewinding(), select, I.localTee(callee))
      this.temps.release([callee]) // read right here; nothing else takes a temp before the call
    }
    // Once a rewind has reached this call, idx (this call's number) is no longer needed: reset it to 0
    // ("idx is 0 in normal state") before the call, not after it, because a resumed call may also leave by
    // throwing, and a loop around a handler could then take execution back to an earlier call whose guard
    // would skip it. Without an enclosing loop execution only moves on to later (higher) sites.
    if (this.loopDepth > 0) inner.push(I.i32(0), I.localSet(this.idx))
    // The results are stored (post) before the unwind check, which keeps the code tree-shaped for
    // binaryen's optimizer; on an unwind the stored values are garbage, but the call runs again on rewind
    // and stores its real results. After the call the state is normal or unwinding (binaryen tests
    // == 1; any non-zero state here means an unwind is under way).
    const toUnwind = I.brIf(this.unwind)
    this.unwindBranches[n] = [toUnwind]
    const check = [...post, I.i32(n), I.globalGet(this.env.stateGlobal), toUnwind, I.drop()]
    if (this.env.throwing.mayThrowUnwind(ins))
      inner.push(...this.catchingThrownUnwind(ins, n, check, post.length === 0))
    else {
      inner.push(ins)
      append(inner, check)
    }
    return guarded ? this.rangeGuard([...pre, ...inner], this.rangeOf(ins)) : [...pre, ...inner]
  }

  /**
   * A call that may reach a function leaving by throwing the unwind tag (unwind-throw.ts), followed by
   * `check`: the thrown tag is caught and goes to this site's unwind exit, as a return would.
   *   block $site (P → X) { block $caught (P → []) { try_table (P → R) (catch $tag $caught) { call }
   *   check; br $site }; i32.const n; br $unwind }
   * X is R when `check` leaves the results on the stack (`keepsResults`), else nothing.
   */
  private catchingThrownUnwind(ins: Instr, n: number, check: Instr[], keepsResults: boolean): Instr[] {
    const t = this.fn.typeOf(ins)
    const params = concrete(t.params, ins.op.name)
    const results = concrete(t.results, ins.op.name)
    const bt = this.env.blockType
    const site = I.block(bt(params, keepsResults ? results : []), [])
    const caught = I.block(bt(params, []), [])
    const tryTable: Instr = {
      op: opByName('try_table'),
      blockType: bt(params, results),
      catches: [{ kind: 0, tag: this.env.throwing.tag as number, target: caught }],
      body: [ins],
    }
    caught.body = [tryTable, ...check, I.br(site)]
    const toUnwind = I.br(this.unwind)
    ;(this.unwindBranches[n] as Instr[]).push(toUnwind)
    site.body = [caught, I.i32(n), toUnwind]
    return [site]
  }

  // ---- a list ----

  /**
   * The rewrite of a list entered with `entry` on the stack and leaving `exit`. `guaranteed`: a rewind
   * entering it has its target inside; otherwise `skip` is the block a rewind passing through leaves by.
   */
  private *rewriteList(
    list: Instr[],
    entry: ValType[],
    exit: ValType[],
    guaranteed: boolean,
    skip: Instr | null,
  ): Step<Instr[]> {
    const { positions, stacks } = this.siteHolders(list)
    if (positions.length === 0) {
      // An arm without calls, next to one that has them: a rewind passing through must not run it.
      if (guaranteed) return list
      if (list.every(isPure)) return [...list, ...this.leaveIfRewinding(skip)]
      const g = this.guard(this.env.blockType(entry, exit), list, [
        ...entry.map(() => I.drop()),
        ...this.leave(skip),
      ])
      return [...this.stateIs(0), g]
    }
    const s: ListState = {
      list,
      guaranteed,
      skip,
      leftInside: false,
      join: null,
      out: [],
      pending: [],
      prevEnd: 0,
      listEnd: list.length === 0 ? -1 : this.fn.writes.lastInside(list[list.length - 1] as Instr),
    }
    if (entry.length > 0) {
      // Block parameters: stored only in normal state, so a rewind keeps what the prologue restored.
      const sp = this.temps.spill(entry)
      for (const t of sp.temps) this.storedFrom.set(t, null)
      const g = this.guard(
        this.env.blockType(entry, []),
        sp.code,
        entry.map(() => I.drop()),
      )
      s.out.push(...this.stateIs(0), g)
      s.pending = sp.temps
    }
    for (let i = 0; i < positions.length; i++) {
      const holder = this.rewriteHolder(
        s,
        positions[i] as number,
        stacks[i] as ValType[],
        i === positions.length - 1,
      )
      const done = (yield holder) as boolean
      if (done) return s.out
    }
    // A rewind may pass through this list: the code after its last call-holding instruction runs only in
    // normal state (reads and arithmetic alone are harmless and stay unguarded).
    const tail = list.slice(s.prevEnd)
    if (s.leftInside) append(s.out, this.temps.gets(s.pending), tail)
    else if (tail.every(isPure)) {
      append(
        s.out,
        skip === null ? this.temps.gets(s.pending) : this.temps.getsOrLeave(s.pending, skip),
        tail,
      )
      if (skip !== null) append(s.out, this.leaveIfRewinding(skip))
    } else {
      const code = [...this.temps.gets(s.pending), ...tail]
      const g = this.joinable(s)
      if (g !== null && g.op.name === 'if') {
        g.blockType = this.env.blockType([], exit)
        append(g.body as Instr[], code)
        g.else = this.leave(skip)
      } else s.out.push(...this.stateIs(0), this.guard(this.env.blockType([], exit), code, this.leave(skip)))
    }
    this.temps.release(s.pending)
    return s.out
  }

  private leave(skip: Instr | null): Instr[] {
    return skip === null ? [I.unreachable()] : [I.br(skip)]
  }

  /**
   * At the end of a list a rewind may pass through: it leaves here rather than fall out of the list (any
   * non-zero state is a rewind then).
   */
  private leaveIfRewinding(skip: Instr | null): Instr[] {
    if (skip === null)
      throw new AsyncifyError('internal: a list a rewind passes through has no block to leave by')
    const leave = I.brIf(skip)
    this.guards.add(leave) // taken only while rewinding: liveness ignores it, as it ignores guards' else arms
    return [I.globalGet(this.env.stateGlobal), leave]
  }

  /** Positions of the site-holding instructions of a list, and the stack below each. */
  private siteHolders(list: Instr[]): { positions: number[]; stacks: ValType[][] } {
    const positions: number[] = []
    const stacks: ValType[][] = []
    for (let k = 0; k < list.length; k++) {
      const ins = list[k] as Instr
      if (this.fn.ranges.has(ins)) {
        positions.push(k)
        const below = this.fn.stackBefore(ins)
        // (The message is built only when it is needed: this runs for every site-holding instruction.)
        stacks.push(
          below.includes('bot')
            ? concrete(below, `${this.fn.name} before ${ins.op.name}`)
            : (below as ValType[]),
        )
      }
      if (ins.op.terminal) break
    }
    return { positions, stacks }
  }

  /** Whether the value `ins` (at `pos` in the list) can be made again anywhere later in the list. */
  private recomputable(s: ListState, ins: Instr, pos: number): boolean {
    if (ins.op.constant) return true
    if (ins.op.name !== 'local.get') return false
    const w = this.fn.writes
    return !w.writtenBetween(ins.local as number, w.first(s.list[pos] as Instr), s.listEnd)
  }

  /**
   * The segment before the site-holding instruction at `p` (with the stack `S` below it), then the
   * instruction. Returns true when it was the last thing the list runs before the target (the rest of
   * the list then follows unchanged).
   */
  private *rewriteHolder(s: ListState, p: number, S: ValType[], last: boolean): Step<boolean> {
    const ins = s.list[p] as Instr
    const t = this.fn.typeOf(ins)
    const c = t.params.length
    const params = S.slice(S.length - c)
    const below = S.slice(0, S.length - c)
    const skippable = !(last && s.guaranteed)
    const structure = !this.fn.siteIndex.has(ins)
    // A structure a rewind may pass through leaves by a block when skipping, also at the ends of its lists,
    // so what follows it needs no guard: the list's own skip block when it is the last holder
    // (leavesAtEnds: nothing of this list follows it), else a new `$after` around it, which the
    // normal-state code up to the next holder joins (emitHolder). Its operands are pushed outside any
    // guard, and a non-nullable one that is null (never produced on this pass) leaves by that block too.
    // On a C switch (nested blocks, each case after the end of one) this keeps the guards out of every
    // case a rewind cannot target.
    const leavesAtEnds = skippable && structure && last && s.skip !== null
    const after: Instr | null = leavesAtEnds ? s.skip : skippable && structure ? I.block(null, []) : null
    s.leftInside = leavesAtEnds
    const seg = this.segment(s, p, ins, S, params, below, after)
    for (const v of seg.belowTemps) if (typeof v === 'number') this.heldAcross(v)
    const results = concrete(t.results, ins.op.name)
    const next = s.list[p + 1]
    const resultTaken = results.length === 1 && (next?.op.name === 'local.set' || next?.op.name === 'drop')
    if (!skippable) {
      // The target is in this instruction: nothing after it runs before the rewind completes.
      let post: Instr[] = []
      let afterTarget: Instr[] = []
      let rest = p + 1
      if (seg.belowTemps.length > 0) {
        if (results.length > 0) {
          const r = this.temps.spill(results)
          post = r.code
          afterTarget = [...this.temps.gets(seg.belowTemps), ...this.temps.gets(r.temps)]
        } else afterTarget = this.temps.gets(seg.belowTemps)
      } else if (resultTaken && this.fn.siteIndex.has(ins)) {
        post = [next as Instr]
        rest = p + 2
      }
      const rewritten = (yield this.rewriteInstr(ins, null, seg.pre, post)) as Instr[]
      this.joinOrAppend(s, seg.stored)
      append(s.out, rewritten, afterTarget, s.list.slice(rest))
      this.temps.release([...seg.consumed, ...seg.belowTemps])
      return true
    }
    if (resultTaken) {
      // The result goes where the program puts it, inside the guard: a skipped call leaves the local
      // as restored.
      const rewritten = (yield this.rewriteInstr(
        ins,
        after ?? true,
        seg.pre,
        [next as Instr],
        !leavesAtEnds,
      )) as Instr[]
      this.emitHolder(s, seg.stored, rewritten, leavesAtEnds ? null : after)
      this.temps.release(seg.consumed)
      s.pending = seg.belowTemps
      s.prevEnd = p + 2
      return false
    }
    const r = this.temps.spill(results)
    for (const t of r.temps) this.storedFrom.set(t, results.length === 1 ? ins : null)
    const rewritten = (yield this.rewriteInstr(ins, after ?? true, seg.pre, r.code, !leavesAtEnds)) as Instr[]
    this.emitHolder(s, seg.stored, rewritten, leavesAtEnds ? null : after)
    this.temps.release(seg.consumed)
    s.pending = [...seg.belowTemps, ...r.temps]
    s.prevEnd = p + 1
    return false
  }

  /** The value in temp `t` is held across a site: a normal-state copy must store it there too. */
  private heldAcross(t: number): void {
    const from = this.storedFrom.get(t)
    if (from === undefined || from === null || this.temps.nonNull.has(t)) this.copy.possible = false
    else this.copy.tees.set(from, t)
  }

  /**
   * Appends a skippable holder's code: `stored` (the normal-state code before it), then the holder.
   * `after`: the `$after` wrapping it, if it is a structure.
   */
  private emitHolder(s: ListState, stored: Instr[], rewritten: Instr[], after: Instr | null): void {
    this.joinOrAppend(s, stored)
    append(s.out, rewritten)
    const last = rewritten[rewritten.length - 1] as Instr
    s.join = after ?? (this.guards.has(last) ? last : null)
  }

  /** Normal-state code without results: it joins the holder before it, or gets a guard of its own. */
  private joinOrAppend(s: ListState, stored: Instr[]): void {
    if (stored.length === 0) return
    const g = this.joinable(s)
    if (g !== null) append(g.body as Instr[], stored)
    else s.out.push(...this.stateIs(0), this.guard(null, stored))
  }

  /**
   * What the normal-state code right after the holder just emitted can join: its call guard or its
   * `$after`, inside which that code runs exactly in normal state. After a call's guard `idx <= N`: idx is
   * 0 in normal state, or a target already resumed, which lies before (a loop resets idx), while a rewind
   * passing here targets a later call. After a structure: a passing rewind has left the `$after`. One branch
   * fewer, and the state global is not read again.
   */
  private joinable(s: ListState): Instr | null {
    const g = s.join
    return g !== null && s.out[s.out.length - 1] === g && g.blockType === null && g.else === undefined
      ? g
      : null
  }

  /**
   * The code between the previous site-holding instruction and the one at `p`: `stored` is normal-state
   * code without results that runs before the instruction's own guard (flat `if`s: nesting the segment
   * inside the call's guard made QuickJS's interpreter 25% slower on the normal path; see joinOrAppend),
   * `pre` pushes its operands. `belowTemps` hold the values
   * below the operands, `consumed` the temps read back here (free once the instruction is generated).
   */
  private segment(
    s: ListState,
    p: number,
    ins: Instr,
    S: ValType[],
    params: ValType[],
    below: ValType[],
    after: Instr | null,
  ): { pre: Instr[]; stored: Instr[]; belowTemps: Operand[]; consumed: Operand[] } {
    const c = params.length
    const pre: Instr[] = []
    const getsHere = (values: Operand[]): Instr[] =>
      after === null ? this.temps.gets(values) : this.temps.getsOrLeave(values, after)
    // Operands that matter while rewinding are kept in locals saved with every call they lead to: the
    // arguments of a call that may reach host code (the host runs again and sees them, as with
    // binaryen's flattened locals), and non-nullable values (no stand-in exists for them).
    const hostArgs = this.fn.hostSites.has(ins)
    const mustKeep = params.map(t => hostArgs || !isDefaultable(t))
    const keepAny = mustKeep.some(Boolean)
    const keepArgs = (values: Operand[]): void => {
      const kept: number[] = []
      values.forEach((v, k) => {
        // A recomputed constant needs nothing; a recomputed local read needs that local.
        if (!mustKeep[k]) return
        if (typeof v === 'number') kept.push(v)
        else if (v.op.name === 'local.get') kept.push(v.local as number)
      })
      if (kept.length === 0) return
      const n = this.fn.siteIndex.get(ins)
      if (n === undefined) this.copy.possible = false
      else {
        // The copy stores the arguments as this rewrite does: temps from the stack, recomputed ones dropped.
        const stores = values.map(v => (typeof v === 'number' ? I.localSet(v) : I.drop())).reverse()
        this.copy.keptArgs.set(n, [...stores, ...this.temps.gets(values)])
      }
      const [lo, hi] = this.rangeOf(ins)
      for (let n = lo; n <= hi; n++) this.forced.set(n, [...(this.forced.get(n) ?? []), ...kept])
    }
    const pending = s.pending
    const code = s.list.slice(s.prevEnd, p)
    if (p === s.prevEnd) {
      // Nothing ran since the last spill: the operands are exactly the pending locals.
      const consumed = pending.slice(pending.length - c)
      pre.push(...getsHere(consumed))
      keepArgs(consumed)
      return { pre, stored: [], belowTemps: pending.slice(0, pending.length - c), consumed }
    }
    if (!keepAny && below.length === 0 && !this.temps.holdsNonNull(pending) && code.every(isPure)) {
      // (Not with non-nullable pending values: unguarded, they would be read while still null.)
      // Reads and arithmetic only: harmless to run while rewinding (the operands it makes are ignored
      // then), so it needs no guard.
      append(pre, getsHere(pending), code)
      return { pre, stored: [], belowTemps: [], consumed: pending }
    }
    // One operand leaves the guard as its result (a default stands in while rewinding); several, or one
    // without a default, are stored to locals inside it, which is also what binaryen's tree IR wants.
    if (keepAny || below.length > 0 || params.length > 1) {
      const { code: stored, temps } = this.spillAtProducers(code, pending, S, (v, at) =>
        this.recomputable(s, v, s.prevEnd + at),
      )
      pre.push(...getsHere(temps.slice(below.length)))
      keepArgs(temps.slice(below.length))
      return {
        pre,
        stored,
        belowTemps: temps.slice(0, below.length),
        consumed: [...pending.filter(v => !temps.includes(v)), ...temps.slice(below.length)],
      }
    }
    const arm: Instr[] = [...this.temps.gets(pending), ...code]
    const g = this.guard(
      this.env.blockType([], params),
      arm,
      this.defaults(params, 'passed to a skipped call'),
    )
    pre.push(...this.stateIs(0), g)
    return { pre, stored: [], belowTemps: [], consumed: pending }
  }

  /**
   * Runs `seg` (after pushing the pending values) and leaves the whole final stack `S` in locals. Each value
   * is stored right where it is produced (or stays in its pending local), so the code keeps the shape of an
   * expression tree; only values from multi-result producers, and those above them, are stored at the end.
   */
  private spillAtProducers(
    seg: Instr[],
    pendingIn: Operand[],
    S: ValType[],
    canRecompute: (ins: Instr, at: number) => boolean,
  ): { code: Instr[]; temps: Operand[] } {
    type Slot = { pending: number } | { at: number; single: boolean }
    const stack: Slot[] = pendingIn.map((_, k) => ({ pending: k }))
    seg.forEach((ins, at) => {
      const t = this.fn.typeOf(ins)
      stack.length -= Math.min(stack.length, t.params.length)
      for (let r = 0; r < t.results.length; r++) stack.push({ at, single: t.results.length === 1 })
    })
    if (stack.length !== S.length) throw new AsyncifyError(`internal: stack mismatch in ${this.fn.name}`)
    // Values kept where they are: a bottom run of untouched pending locals, then single-result producers
    // up to the first value that must be stored at the end.
    let keepPending = 0
    while (keepPending < stack.length && 'pending' in (stack[keepPending] as Slot)) keepPending++
    let endFrom = stack.length
    for (let k = keepPending; k < stack.length; k++) {
      const sl = stack[k] as Slot
      if ('pending' in sl || !sl.single) {
        endFrom = k
        break
      }
    }
    const temps: Operand[] = new Array(S.length)
    const after = new Map<number, Instr>()
    const moved = new Set<number>()
    for (let k = 0; k < S.length; k++) {
      const at = k < endFrom && k >= keepPending ? (stack[k] as { at: number }).at : -1
      if (k < keepPending) temps[k] = pendingIn[k] as Operand
      else if (at >= 0 && canRecompute(seg[at] as Instr, at)) {
        // A constant, or a read of a local nothing writes before the value is used: made again where it
        // is used instead of being stored (no temp, nothing extra to save, often no guard at all).
        temps[k] = seg[at] as Instr
        moved.add(at)
      } else {
        const t = this.temps.take(S[k] as ValType)
        temps[k] = t
        // (Here k >= keepPending: `at` is the producer, or -1 for a value stored at the end.)
        if (at >= 0) after.set(at, I.localSet(t))
        this.storedFrom.set(t, at >= 0 ? (seg[at] as Instr) : null)
      }
    }
    const code: Instr[] = this.temps.gets(pendingIn.slice(keepPending))
    seg.forEach((ins, at) => {
      if (moved.has(at)) return
      code.push(ins)
      const set = after.get(at)
      if (set !== undefined) code.push(set)
    })
    for (let k = S.length - 1; k >= endFrom; k--) code.push(I.localSet(temps[k] as number))
    return { code, temps }
  }
}

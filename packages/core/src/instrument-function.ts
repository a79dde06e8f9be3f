/**
 * Instrumentation of one function (see docs/asyncify.md for the full picture):
 *  - every list that holds an unwinding call is cut into segments; the segments before a call-holding
 *    instruction run only in normal state, so a rewind skips straight to the call it resumes;
 *  - values on the operand stack below such an instruction are spilled to fresh locals and pushed back
 *    after it, so the stack holds only the call's operands when it unwinds;
 *  - after each unwinding call, `if unwinding: idx = N; br $unwind`; the unwind path saves the locals
 *    live across call N (liveness per call site, grouped by identical sets) and returns;
 *  - on entry while rewinding the call index and those locals are restored, and guards plus `if`
 *    conditions steer execution to call N (indices are in program order, so a structure is a range).
 */

import { STATE } from '@unplugin-asyncify/runtime/abi'
import {
  type BlockType,
  type FuncBody,
  type Instr,
  type InstrTypes,
  type Module,
  opByName,
  ref,
  type StackType,
  type TypingContext,
  typeFunctionBody,
  type ValType,
  valTypeText,
} from '@unplugin-asyncify/wasm'
import type { FrameHelpers } from './api.js'
import { byteSize, defaultValue, I, isDefaultable, memOps } from './build.js'
import { AsyncifyError } from './errors.js'
import { liveAfterSites } from './liveness.js'
import { castTo, type Hierarchy, hierarchyOf } from './ref-slots.js'

/** Module-wide facts every instrumented function needs. */
export interface FunctionEnv {
  module: Module
  typing: TypingContext
  stateGlobal: number
  dataGlobal: number
  /** Memory holding the asyncify data structure and buffer. */
  mem: number
  ptr: 'i32' | 'i64'
  /** Returns a block type for [params] → [results], adding a function type when needed. */
  blockType(params: ValType[], results: ValType[]): BlockType
  helpers: FrameHelpers
  /** Function saving a reference of this hierarchy to a slot (ref → i32), and loading it back (i32 → ref). */
  refSlot(h: Hierarchy, dir: 'save' | 'load'): number
  /** An instruction sequence producing some value of type `t`, or null if there is none to make. */
  makeValue(t: ValType): Instr[] | null
}

export interface FunctionResult {
  sites: number
  /** Distinct save/restore blocks (1 when the union of the live sets is saved at every site). */
  saveBlocks: number
  /** Bytes the deepest save of this function writes (largest live set + the call index). */
  maxFrameBytes: number
  savedLocals: number
}

const RETURN_CALL_TO_CALL: Record<string, string> = {
  return_call: 'call',
  return_call_indirect: 'call_indirect',
  return_call_ref: 'call_ref',
}

function concrete(types: StackType[], where: string): ValType[] {
  for (const t of types)
    if (t === 'bot') throw new AsyncifyError(`internal: unreachable stack type at ${where}`)
  return types as ValType[]
}

export function instrumentFunction(
  env: FunctionEnv,
  funcName: string,
  typeIndex: number,
  body: FuncBody,
  isSite: Set<Instr>,
  /** Sites that may call host code: their arguments are saved and passed again on rewind. */
  hostSites: Set<Instr> = new Set(),
): FunctionResult {
  const ft = env.module.types[typeIndex]?.composite
  if (ft?.kind !== 'func') throw new AsyncifyError(`${funcName}: not a function type`)
  // Relaxed first, so saved non-nullable locals are restored with nullable casts (a union save can store one
  // that is still null).
  relaxNonNullableLocals(body, ft.params.length)
  const localTypes: ValType[] = [...ft.params, ...body.locals]
  const addLocal = (t: ValType): number => {
    body.locals.push(t)
    localTypes.push(t)
    return localTypes.length - 1
  }

  // Tail calls that may unwind become call + return: the frame must survive to be saved.
  for (const site of isSite)
    if (site.op.name in RETURN_CALL_TO_CALL) {
      convertReturnCalls(body.body, isSite, hostSites)
      break
    }

  const types = typeFunctionBody(env.typing, typeIndex, body)
  const typeOf = (ins: Instr): InstrTypes => {
    const t = types.get(ins)
    if (t === undefined) throw new AsyncifyError(`internal: untyped ${ins.op.name} in ${funcName}`)
    return t
  }

  // Number the reachable sites in program order; record each call-holding instruction's range.
  const ranges = new Map<Instr, [number, number]>()
  const siteIndex = new Map<Instr, number>()
  let next = 0
  const number = (list: Instr[]): void => {
    for (const ins of list) {
      const lo = next
      if (isSite.has(ins)) siteIndex.set(ins, next++)
      else if (ins.op.control !== 'none') {
        number(ins.body ?? [])
        if (ins.else !== undefined) number(ins.else)
        for (const c of ins.legacyCatches ?? []) number(c.body)
      }
      if (next > lo) ranges.set(ins, [lo, next - 1])
      if (ins.op.terminal) break
    }
  }
  number(body.body)
  const siteCount = next
  if (siteCount === 0) return { sites: 0, saveBlocks: 0, maxFrameBytes: 0, savedLocals: 0 }

  const idx = addLocal('i32')
  const ptrLocal = addLocal(env.ptr)
  // Yields the index of the call that unwound.
  const unwind: Instr = I.block('i32', [])
  /** Each site's `br_if $unwind`, retargeted to its save group's own exit once the groups are known. */
  const unwindBranches: Instr[] = []
  /** Guards that only take their else arm while rewinding (see liveness). */
  const guards = new Set<Instr>()
  /** Locals a call needs on rewind beyond what is live after it (the callee of an indirect call). */
  const forced = new Map<number, number[]>()

  const stateIs = (v: number): Instr[] =>
    v === 0
      ? [I.globalGet(env.stateGlobal), I.plain('i32.eqz')]
      : [I.globalGet(env.stateGlobal), I.i32(v), I.plain('i32.eq')]
  const notRewinding = (): Instr[] => [
    I.globalGet(env.stateGlobal),
    I.i32(STATE.rewinding),
    I.plain('i32.ne'),
  ]
  // While rewinding inside a list, the target is never below the range of the next call-holding
  // instruction (earlier ones would have taken it), so "in range" is just "target <= hi".
  const inRange = ([, hi]: [number, number]): Instr[] => [I.localGet(idx), I.i32(hi), I.plain('i32.le_u')]
  const defaults = (ts: ValType[], why: string): Instr[] =>
    ts.map(t => {
      const d = defaultValue(t)
      if (d === null)
        throw new AsyncifyError(
          `${funcName}: a non-nullable ${valTypeText(t)} value ${why} has no default to stand in for it while rewinding`,
        )
      return d
    })
  /** Locals holding non-nullable values are declared nullable (a local set inside a guard must be
   * defaultable); reading them adds ref.as_non_null. */
  const nonNullTemps = new Set<number>()
  // Temps are reused once their value has been pushed back: operand stacks nest, so few are ever in use at
  // once. Fresh temps per value would all be saved together in union mode, and all look live at every call.
  const tempKind = new Map<number, string>()
  const freeTemps = new Map<string, number[]>()
  const addTemp = (t: ValType): number => {
    const kind = typeof t === 'string' ? t : `${t.nullable ? 'null' : 'nonnull'} ${t.heap}`
    const reused = freeTemps.get(kind)?.pop()
    if (reused !== undefined) return reused
    const l = typeof t === 'string' || t.nullable ? addLocal(t) : addLocal(ref(t.heap, true))
    if (typeof t !== 'string' && !t.nullable) nonNullTemps.add(l)
    tempKind.set(l, kind)
    return l
  }
  /** Returns temps whose values have been consumed (called once the code reading them is generated). */
  const release = (values: Operand[]): void => {
    for (const v of values) {
      if (typeof v !== 'number') continue
      const kind = tempKind.get(v)
      if (kind === undefined) continue
      const free = freeTemps.get(kind)
      if (free === undefined) freeTemps.set(kind, [v])
      else if (!free.includes(v)) free.push(v)
    }
  }
  const spill = (ts: ValType[]): { temps: number[]; code: Instr[] } => {
    const temps = ts.map(t => addTemp(t))
    const code: Instr[] = []
    for (let i = temps.length - 1; i >= 0; i--) code.push(I.localSet(temps[i] as number))
    return { temps, code }
  }
  /** Like gets, but a null in a non-nullable temp (possible only while a rewind passes) leaves for `skip`. */
  const getsOrLeave = (values: Operand[], skip: Instr): Instr[] =>
    values.flatMap(t =>
      typeof t !== 'number'
        ? [{ ...t }]
        : nonNullTemps.has(t)
          ? [I.localGet(t), { op: opByName('br_on_null'), target: skip }]
          : [I.localGet(t)],
    )
  const gets = (values: Operand[]): Instr[] =>
    values.flatMap(t =>
      typeof t !== 'number'
        ? [{ ...t }]
        : nonNullTemps.has(t)
          ? [I.localGet(t), I.plain('ref.as_non_null')]
          : [I.localGet(t)],
    )
  const holdsNonNull = (values: Operand[]): boolean =>
    values.some(t => typeof t === 'number' && nonNullTemps.has(t))
  /** Where each local is written in the original body (read before any list is rewritten). */
  // Only the lists the rewrite visits (the body and those of site-holding structures) are asked about.
  const writes = localWrites(body.body, owner => ranges.has(owner))

  /** `if (state == normal || idx in range)` around a call (its operands are made and results stored inside). */
  let loopDepth = 0
  const rangeGuard = (inner: Instr[], range: [number, number]): Instr[] => {
    const guard = I.ifElse(null, inner)
    guards.add(guard)
    // idx is 0 in normal state (see the reset after calls in loops), so "idx <= hi" alone also means
    // "or running normally".
    return [...inRange(range), guard]
  }

  const transformInstr = (
    ins: Instr,
    skippable: Instr | true | null,
    pre: Instr[],
    postIn: Instr[],
  ): Instr[] => {
    let post = postIn
    const t = typeOf(ins)
    const params = concrete(t.params, ins.op.name)
    const results = concrete(t.results, ins.op.name)
    const range = ranges.get(ins) as [number, number]
    let inner: Instr[]
    const n = siteIndex.get(ins)
    if (n !== undefined) {
      inner = []
      if ((ins.op.name === 'call_indirect' || ins.op.name === 'call_ref') && !hostSites.has(ins)) {
        // The callee operand must be the same on rewind: keep it in a local saved with this call.
        const calleeType = params[params.length - 1] as ValType
        const callee = addTemp(calleeType)
        forced.set(n, [...(forced.get(n) ?? []), callee])
        const select: Instr =
          typeof calleeType === 'string' ? I.select() : I.selectTyped(ref(calleeType.heap, true))
        inner.push(I.localGet(callee), ...notRewinding(), select, I.localTee(callee))
        release([callee]) // read right here; nothing else takes a temp before the call
      }
      // The results are stored (post) before the unwind check, which keeps the code tree-shaped for
      // binaryen's optimizer; on an unwind the stored values are garbage, but the call runs again on rewind
      // and stores its real results. After the call the state is normal or unwinding (binaryen tests
      // == 1; any non-zero state here means an unwind is under way).
      const toUnwind = I.brIf(unwind)
      unwindBranches[n] = toUnwind
      inner.push(ins, ...post, I.i32(n), I.globalGet(env.stateGlobal), toUnwind, I.drop())
      // After a rewind completes here idx still holds this call's number; a loop could take execution back
      // to an earlier call whose guard would then skip it. Restore "idx is 0 in normal state".
      if (loopDepth > 0) inner.push(I.i32(0), I.localSet(idx))
      return skippable !== null ? rangeGuard([...pre, ...inner], range) : [...pre, ...inner]
    }
    const after = skippable === null || skippable === true ? null : skippable
    const inside = (l: Instr[], entry: ValType[]): Instr[] => {
      const loop = ins.op.control === 'loop'
      if (loop) loopDepth++
      const out = transformList(l, entry, results, after === null, after)
      if (loop) loopDepth--
      return out
    }
    if (ins.op.control === 'if') {
      // While rewinding the condition is recomputed from the call index: the arm holding the target, or
      // the else arm when the target lies beyond this if (its lists then skip everything).
      const thenSites = siteRangeOf(ins.body ?? [])
      const blockParams = params.slice(0, -1)
      ins.body = inside(ins.body ?? [], blockParams)
      if (ins.else !== undefined) ins.else = inside(ins.else, blockParams)
      const pick = thenSites === null ? [I.i32(0)] : inRange(thenSites)
      inner = [...pick, ...notRewinding(), I.select(), ins]
    } else if (ins.op.control === 'block' || ins.op.control === 'loop' || ins.op.control === 'try_table') {
      ins.body = inside(ins.body ?? [], params)
      inner = [ins]
    } else if (ins.op.control === 'try') {
      throw new AsyncifyError(
        `${funcName}: a legacy try/catch holds a call that may unwind; translate legacy exceptions to try_table first`,
      )
    } else {
      throw new AsyncifyError(`internal: ${ins.op.name} holds a call site`)
    }
    if (after === null) return [...pre, ...inner, ...post]
    if (post.length > 0) {
      // A rewind passing through never gets here (it leaves for $after), but a tail of pure code may
      // fall through: keep the results' locals as restored then.
      const guard = I.ifElse(
        env.blockType(results, []),
        post,
        results.map(() => I.drop()),
      )
      guards.add(guard)
      post = [...stateIs(0), guard]
    }
    after.body = [...pre, ...inner, ...post]
    return [after]
  }

  /** Sites inside a list (after transformation the original instructions keep their ranges). */
  const siteRangeOf = (list: Instr[]): [number, number] | null => {
    let lo = Number.POSITIVE_INFINITY
    let hi = -1
    const visit = (l: Instr[]): void => {
      for (const ins of l) {
        const r = ranges.get(ins)
        if (r !== undefined) {
          lo = Math.min(lo, r[0])
          hi = Math.max(hi, r[1])
        }
      }
    }
    visit(list)
    return hi < 0 ? null : [lo, hi]
  }

  /**
   * Runs `seg` (after pushing the pending values) and leaves the whole final stack `S` in locals. Each value
   * is stored right where it is produced (or stays in its pending local), so the code keeps the shape of an
   * expression tree; only values from multi-result producers, and those above them, are stored at the end.
   */
  const spillAtProducers = (
    seg: Instr[],
    pendingIn: Operand[],
    S: ValType[],
    canRecompute: (ins: Instr, at: number) => boolean,
  ): { code: Instr[]; temps: Operand[] } => {
    type Slot = { pending: number } | { at: number; single: boolean }
    const stack: Slot[] = pendingIn.map((_, k) => ({ pending: k }))
    seg.forEach((ins, at) => {
      const t = typeOf(ins)
      stack.length -= Math.min(stack.length, t.params.length)
      for (let r = 0; r < t.results.length; r++) stack.push({ at, single: t.results.length === 1 })
    })
    if (stack.length !== S.length) throw new AsyncifyError(`internal: stack mismatch in ${funcName}`)
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
        temps[k] = addTemp(S[k] as ValType)
        if (k < endFrom) after.set((stack[k] as { at: number }).at, I.localSet(temps[k] as number))
      }
    }
    const code: Instr[] = gets(pendingIn.slice(keepPending))
    seg.forEach((ins, at) => {
      if (moved.has(at)) return
      code.push(ins)
      const set = after.get(at)
      if (set !== undefined) code.push(set)
    })
    for (let k = S.length - 1; k >= endFrom; k--) code.push(I.localSet(temps[k] as number))
    return { code, temps }
  }

  /**
   * `guaranteed`: a rewind entering this list has its target inside. Otherwise `skip` is the block a rewind
   * passing through leaves by (the `$after` around the structure holding this list).
   */
  const transformList = (
    list: Instr[],
    entry: ValType[],
    exit: ValType[],
    guaranteed: boolean,
    skip: Instr | null,
  ): Instr[] => {
    const leave = (): Instr[] => (skip === null ? [I.unreachable()] : [I.br(skip)])
    const positions: number[] = []
    const stacks: ValType[][] = []
    const stack: StackType[] = [...entry]
    for (let k = 0; k < list.length; k++) {
      const ins = list[k] as Instr
      if (ranges.has(ins)) {
        positions.push(k)
        stacks.push(concrete([...stack], `${funcName} before ${ins.op.name}`))
      }
      const t = typeOf(ins)
      stack.length -= Math.min(stack.length, t.params.length)
      if (ins.op.terminal) break
      stack.push(...t.results)
    }
    if (positions.length === 0) {
      // An arm without calls, next to one that has them: a rewind passing through must not run it.
      if (guaranteed || list.every(isPure)) return list
      const guard = I.ifElse(env.blockType(entry, exit), list, [...entry.map(() => I.drop()), ...leave()])
      guards.add(guard)
      return [...stateIs(0), guard]
    }
    const out: Instr[] = []
    const listEnd = list.length === 0 ? -1 : writes.lastInside(list[list.length - 1] as Instr)
    /** Whether the value `ins` (at `pos` in this list) can be made again anywhere later in the list. */
    const recomputable = (ins: Instr, pos: number): boolean => {
      if (RECOMPUTABLE.has(ins.op.name)) return true
      if (ins.op.name !== 'local.get') return false
      return !writes.writtenBetween(ins.local as number, writes.first(list[pos] as Instr), listEnd)
    }
    // The frame's stack between call-holding instructions lives in these locals (bottom → top).
    let pending: Operand[] = []
    if (entry.length > 0) {
      // Block parameters: stored only in normal state, so a rewind keeps what the prologue restored.
      const s = spill(entry)
      const guard = I.ifElse(
        env.blockType(entry, []),
        s.code,
        entry.map(() => I.drop()),
      )
      guards.add(guard)
      out.push(...stateIs(0), guard)
      pending = s.temps
    }
    let prevEnd = 0
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i] as number
      const ins = list[p] as Instr
      const t = typeOf(ins)
      const S = stacks[i] as ValType[]
      const c = t.params.length
      const params = S.slice(S.length - c)
      const below = S.slice(0, S.length - c)
      let belowTemps: Operand[]
      /** Values the code before this instruction reads back: their temps are free after it. */
      let consumed: Operand[]
      const pre: Instr[] = []
      // The guarded segment goes before the call's own guard, not inside it: nesting it there made
      // QuickJS's interpreter 25% slower on the normal path (flat `if`s optimize better, in binaryen and V8).
      const preOut: Instr[] = []
      const last = i === positions.length - 1
      const skippable = !(last && guaranteed)
      // A structure a rewind may pass through is wrapped in `$after`: its operands are pushed outside any
      // guard, and a non-nullable one that is null (never produced on this pass) leaves for `$after`.
      const after: Instr | null = skippable && !siteIndex.has(ins) ? I.block(null, []) : null
      const getsHere = (values: Operand[]): Instr[] =>
        after === null ? gets(values) : getsOrLeave(values, after)
      // Operands that matter while rewinding are kept in locals saved with every call they lead to: the
      // arguments of a call that may reach host code (the host runs again and sees them, as with
      // binaryen's flattened locals), and non-nullable values (no stand-in exists for them).
      const hostArgs = hostSites.has(ins)
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
        const [lo, hi] = ranges.get(ins) as [number, number]
        for (let n = lo; n <= hi; n++) forced.set(n, [...(forced.get(n) ?? []), ...kept])
      }
      if (p === prevEnd) {
        // Nothing ran since the last spill: the operands are exactly the pending locals.
        belowTemps = pending.slice(0, pending.length - c)
        consumed = pending.slice(pending.length - c)
        pre.push(...getsHere(consumed))
        keepArgs(consumed)
      } else if (
        !keepAny &&
        below.length === 0 &&
        !holdsNonNull(pending) &&
        list.slice(prevEnd, p).every(isPure)
      ) {
        // (Not with non-nullable pending values: unguarded, they would be read while still null.)
        // Reads and arithmetic only: harmless to run while rewinding (the operands it makes are ignored
        // then), so it needs no guard.
        belowTemps = []
        consumed = pending
        pre.push(...getsHere(pending), ...list.slice(prevEnd, p))
      } else {
        belowTemps = []
        consumed = pending
        // One operand leaves the guard as its result (a default stands in while rewinding); several, or
        // one without a default, are stored to locals inside it, which is also what binaryen's tree IR wants.
        const viaLocals = keepAny || below.length > 0 || params.length > 1
        let guard: Instr
        if (viaLocals) {
          const { code, temps } = spillAtProducers(list.slice(prevEnd, p), pending, S, (v, at) =>
            recomputable(v, prevEnd + at),
          )
          belowTemps = temps.slice(0, below.length)
          consumed = [...pending.filter(v => !temps.includes(v)), ...temps.slice(below.length)]
          guard = I.ifElse(null, code)
          if (code.length > 0) preOut.push(...stateIs(0), guard)
          pre.push(...getsHere(temps.slice(below.length)))
          keepArgs(temps.slice(below.length))
        } else {
          const arm: Instr[] = [...gets(pending), ...list.slice(prevEnd, p)]
          guard = I.ifElse(env.blockType([], params), arm, defaults(params, 'passed to a skipped call'))
          pre.push(...stateIs(0), guard)
        }
        guards.add(guard)
      }
      const results = concrete(t.results, ins.op.name)
      if (!skippable) {
        // The target is in this instruction: nothing after it runs before the rewind completes.
        let post: Instr[] = []
        let afterTarget: Instr[] = []
        let rest = p + 1
        const next = list[p + 1]
        if (belowTemps.length > 0) {
          if (results.length > 0) {
            const r = spill(results)
            post = r.code
            afterTarget = [...gets(belowTemps), ...gets(r.temps)]
          } else afterTarget = gets(belowTemps)
        } else if (
          results.length === 1 &&
          siteIndex.has(ins) &&
          next !== undefined &&
          (next.op.name === 'local.set' || next.op.name === 'drop')
        ) {
          post = [next]
          rest = p + 2
        }
        out.push(...preOut, ...transformInstr(ins, null, pre, post), ...afterTarget, ...list.slice(rest))
        release([...consumed, ...belowTemps])
        return out
      }
      const next = list[p + 1]
      if (
        results.length === 1 &&
        next !== undefined &&
        (next.op.name === 'local.set' || next.op.name === 'drop')
      ) {
        // The result goes where the program puts it, inside the guard: a skipped call leaves the local
        // as restored.
        out.push(...preOut, ...transformInstr(ins, after ?? true, pre, [next]))
        release(consumed)
        pending = belowTemps
        prevEnd = p + 2
        continue
      }
      const r = spill(results)
      out.push(...preOut, ...transformInstr(ins, after ?? true, pre, r.code))
      release(consumed)
      pending = [...belowTemps, ...r.temps]
      prevEnd = p + 1
    }
    // A rewind may pass through this list: the code after its last call-holding instruction runs only in
    // normal state (reads and arithmetic alone are harmless and stay unguarded).
    const tail = list.slice(prevEnd)
    if (tail.every(isPure)) out.push(...(skip === null ? gets(pending) : getsOrLeave(pending, skip)), ...tail)
    else {
      const guard = I.ifElse(env.blockType([], exit), [...gets(pending), ...tail], leave())
      guards.add(guard)
      out.push(...stateIs(0), guard)
    }
    release(pending)
    return out
  }

  const mainList = transformList(body.body, [], ft.results, true, null)
  // block $done (result R) { block $unwind (result i32) { body; br $done } ; save; defaults }: a tree
  // shape binaryen's optimizer handles without scratch locals.
  const done: Instr = I.block(
    ft.results.length === 1 ? (ft.results[0] as ValType) : env.blockType([], ft.results),
    [],
  )
  unwind.body = [...mainList, I.br(done)]

  // Liveness on the rewritten body; the unwind exit saves explicitly, so nothing is live into it.
  const live = liveAfterSites(body, unwind.body, localTypes.length, siteIndex, [unwind, done], guards)
  const groups = new Map<string, { locals: number[]; sites: number[] }>()
  const groupOfSite: number[] = new Array(siteCount)
  const groupList: { locals: number[]; sites: number[] }[] = []
  for (let n = 0; n < siteCount; n++) {
    const set = live.get(n)
    const liveLocals = set === undefined ? [] : set.toArray().filter(l => l !== idx && l !== ptrLocal)
    const extra = (forced.get(n) ?? []).filter(l => !liveLocals.includes(l))
    const locals = [...liveLocals, ...extra].sort((a, b) => a - b)
    const key = locals.join(',')
    let g = groups.get(key)
    if (g === undefined) {
      g = { locals, sites: [] }
      groups.set(key, g)
      groupList.push(g)
    }
    g.sites.push(n)
    groupOfSite[n] = groupList.indexOf(g)
  }

  // One save/restore block per distinct live set keeps unwinds minimal, but each block costs code. When the
  // per-site blocks add up to much more than one block for their union, save the union at every site:
  // still only locals live across some unwinding call, at a fraction of the code.
  const union = new Set<number>()
  let perSiteTotal = 0
  for (const g of groupList) {
    perSiteTotal += g.locals.length
    for (const l of g.locals) union.add(l)
  }
  const unionMode = groupList.length > 1 && perSiteTotal > union.size + 16
  if (unionMode) {
    const merged = { locals: [...union].sort((a, b) => a - b), sites: groupList.flatMap(g => g.sites) }
    groupList.length = 0
    groupList.push(merged)
    groupOfSite.fill(0)
  }

  const layout = (locals: number[]): { offsets: number[]; size: number } => {
    let size = 0
    const offsets = locals.map(l => {
      const o = size
      const lt = localTypes[l] as ValType
      size += typeof lt === 'string' ? byteSize(lt) : 4
      return o
    })
    return { offsets, size }
  }

  /** Dispatch on `idx` to one code block per group, each followed by a branch to the end. */
  const dispatch = (perGroup: Instr[][]): Instr[] => {
    if (perGroup.length === 1) return perGroup[0] as Instr[]
    const done: Instr = I.block(null, [])
    const labels: Instr[] = perGroup.map(() => I.block(null, []))
    // Innermost block holds the br_table; each block's code follows its end.
    let inner: Instr[] = [
      I.localGet(idx),
      I.brTable(
        groupOfSite.map(g => labels[g] as Instr),
        labels[0] as Instr,
      ),
    ]
    for (let g = 0; g < labels.length; g++) {
      const lbl = labels[g] as Instr
      lbl.body = inner
      inner = [lbl, ...(perGroup[g] as Instr[]), I.br(done)]
    }
    done.body = inner
    return [done]
  }

  let maxFrame = 0
  const saves: Instr[][] = []
  const loads: Instr[][] = []
  let savedLocals = 0
  for (const g of groupList) {
    const { offsets, size } = layout(g.locals)
    maxFrame = Math.max(maxFrame, size + 4)
    savedLocals += g.locals.length
    const save: Instr[] = []
    const load: Instr[] = []
    g.locals.forEach((l, k) => {
      const lt = localTypes[l] as ValType
      const off = offsets[k] as number
      if (typeof lt === 'string') {
        const ops = memOps(lt)
        save.push(I.localGet(ptrLocal), I.localGet(l), I.store(ops.store, env.mem, off))
        load.push(I.localGet(ptrLocal), I.load(ops.load, env.mem, off), I.localSet(l))
      } else {
        // References go to a slot of their hierarchy's table; the frame keeps the slot index.
        const h = hierarchyOf(env.module, lt)
        save.push(
          I.localGet(ptrLocal),
          I.localGet(l),
          I.call(env.refSlot(h, 'save')),
          I.store('i32.store', env.mem, off),
        )
        load.push(
          I.localGet(ptrLocal),
          I.load('i32.load', env.mem, off),
          I.call(env.refSlot(h, 'load')),
          ...castTo(lt, h),
          I.localSet(l),
        )
      }
    })
    if (size > 0) {
      save.unshift(I.i32(size), I.call(env.helpers.unwindTake), I.localSet(ptrLocal))
      load.unshift(I.i32(size), I.call(env.helpers.rewindTake), I.localSet(ptrLocal))
    }
    saves.push(save)
    loads.push(load)
  }

  const prologue: Instr[] = [
    ...stateIs(STATE.rewinding),
    I.ifElse(null, [I.call(env.helpers.rewindIndex), I.localSet(idx), ...dispatch(loads)]),
  ]
  // Each group has its own exit block, so a site's unwind branch reaches only the saves of its own live set:
  // with one shared exit (dispatching on idx) every saved local would look live at every call, which keeps
  // hundreds of values alive through hot code and stops binaryen from merging locals.
  let exits: Instr[]
  if (saves.length === 1) exits = [unwind, I.localSet(idx), ...(saves[0] as Instr[]), I.localGet(idx)]
  else {
    const finish = I.block('i32', [])
    const blocks = saves.map((_, g) => (g === 0 ? unwind : I.block('i32', [])))
    for (let n = 0; n < siteCount; n++) (unwindBranches[n] as Instr).target = blocks[groupOfSite[n] as number]
    // blocks[0] (the original $unwind, holding the body) is innermost; each block's saves follow its end.
    let inner: Instr = unwind
    for (let g = 0; g < blocks.length; g++) {
      const save = [inner, I.localSet(idx), ...(saves[g] as Instr[]), I.localGet(idx)]
      const outer = g === blocks.length - 1 ? finish : (blocks[g + 1] as Instr)
      outer.body = g === blocks.length - 1 ? save : [...save, I.br(finish)]
      inner = outer
    }
    exits = [finish]
  }
  const epilogue: Instr[] = [
    ...exits,
    I.call(env.helpers.unwindFinish),
    ...ft.results.flatMap(t => {
      const v = defaultValue(t) ?? env.makeValue(t)
      if (v === null)
        throw new AsyncifyError(
          `${funcName}: cannot be instrumented: it returns a non-nullable ${valTypeText(t)} and no such value can be made to return while unwinding`,
        )
      return Array.isArray(v) ? v : [v]
    }),
  ]
  done.body = epilogue
  body.body = [...prologue, done]
  return { sites: siteCount, saveBlocks: groupList.length, maxFrameBytes: maxFrame, savedLocals }
}

/**
 * A value held across a call: in a local, or as the instruction that makes it again (a constant, or a
 * `local.get` of a local nothing writes until the value is used).
 */
type Operand = number | Instr

/** Single instructions whose value is the same wherever they run. */
const RECOMPUTABLE = new Set([
  'i32.const',
  'i64.const',
  'f32.const',
  'f64.const',
  'v128.const',
  'ref.null',
  'ref.func',
])

/**
 * Local writes of a body by position: instructions are numbered in program order (a structure before its
 * contents), so "written anywhere from this instruction to the end of that one" is a range query.
 */
function localWrites(
  list: Instr[],
  visited: (owner: Instr) => boolean,
): {
  first(ins: Instr): number
  lastInside(ins: Instr): number
  writtenBetween(local: number, from: number, to: number): boolean
} {
  const number = new Map<Instr, number>()
  const last = new Map<Instr, number>()
  const at = new Map<number, number[]>()
  let n = 0
  // Iterative: bodies can nest deeper than the JS stack allows. `after` marks the second visit of a
  // structure, once its contents are numbered.
  type Item = { ins: Instr; keep: boolean; after: boolean }
  const stack: Item[] = []
  const enter = (l: Instr[], keep: boolean): void => {
    for (let k = l.length - 1; k >= 0; k--) stack.push({ ins: l[k] as Instr, keep, after: false })
  }
  enter(list, true)
  while (stack.length > 0) {
    const top = stack.pop() as Item
    const ins = top.ins
    if (top.after) {
      last.set(ins, n - 1)
      continue
    }
    if (top.keep) number.set(ins, n)
    n++
    if (ins.op.name === 'local.set' || ins.op.name === 'local.tee') {
      const l = ins.local as number
      const list = at.get(l)
      if (list === undefined) at.set(l, [n - 1])
      else list.push(n - 1)
    }
    if (ins.op.control === 'none') {
      if (top.keep) last.set(ins, n - 1)
      continue
    }
    if (top.keep) stack.push({ ins, keep: true, after: true })
    const inner = visited(ins)
    for (const c of [...(ins.legacyCatches ?? [])].reverse()) enter(c.body, inner)
    if (ins.else !== undefined) enter(ins.else, inner)
    enter(ins.body ?? [], inner)
  }
  const pos = (m: Map<Instr, number>, ins: Instr): number => {
    const v = m.get(ins)
    if (v === undefined) throw new AsyncifyError(`internal: ${ins.op.name} is not in the original body`)
    return v
  }
  return {
    first: ins => pos(number, ins),
    lastInside: ins => pos(last, ins),
    writtenBetween(local, from, to) {
      const xs = at.get(local)
      if (xs === undefined) return false
      let lo = 0
      let hi = xs.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if ((xs[mid] as number) < from) lo = mid + 1
        else hi = mid
      }
      return lo < xs.length && (xs[lo] as number) <= to
    },
  }
}

/** Instructions that cannot trap, write no local and have no side effect (safe to re-run on rewind). */
const PURE_PREFIXES = ['i32.', 'i64.', 'f32.', 'f64.']
const TRAPPING = /(div|rem|trunc_f|load|store|atomic)/
const PURE_NAMES = new Set([
  'local.get',
  'global.get',
  'nop',
  'drop',
  'select',
  'ref.null',
  'ref.func',
  'ref.is_null',
  'memory.size',
])

function isPure(ins: Instr): boolean {
  const name = ins.op.name
  if (ins.op.control !== 'none' || ins.op.prefix !== 0) return false
  if (PURE_NAMES.has(name)) return true
  return PURE_PREFIXES.some(p => name.startsWith(p)) && !TRAPPING.test(name)
}

/**
 * Non-nullable locals must be set before use in the same block nesting; once the rewrite wraps code in
 * guards and restores locals in the prologue that no longer holds, so such locals become nullable and every
 * read asserts non-null (which cannot fail: the value stored was non-null).
 */
function relaxNonNullableLocals(body: FuncBody, paramCount: number): void {
  const relaxed = new Set<number>()
  body.locals = body.locals.map((t, i) => {
    if (typeof t === 'string' || t.nullable) return t
    relaxed.add(paramCount + i)
    return ref(t.heap, true)
  })
  if (relaxed.size === 0) return
  const asNonNull = opByName('ref.as_non_null')
  const visit = (list: Instr[]): Instr[] => {
    const out: Instr[] = []
    for (const ins of list) {
      if (ins.body !== undefined) ins.body = visit(ins.body)
      if (ins.else !== undefined) ins.else = visit(ins.else)
      if (ins.legacyCatches !== undefined) for (const c of ins.legacyCatches) c.body = visit(c.body)
      out.push(ins)
      if ((ins.op.name === 'local.get' || ins.op.name === 'local.tee') && relaxed.has(ins.local as number))
        out.push({ op: asNonNull })
    }
    return out
  }
  body.body = visit(body.body)
}

function convertReturnCalls(list: Instr[], isSite: Set<Instr>, hostSites: Set<Instr>): void {
  for (let i = 0; i < list.length; i++) {
    const ins = list[i] as Instr
    const plain = RETURN_CALL_TO_CALL[ins.op.name]
    if (plain !== undefined && isSite.has(ins)) {
      const call: Instr = { ...ins, op: opByName(plain) }
      isSite.delete(ins)
      isSite.add(call)
      if (hostSites.delete(ins)) hostSites.add(call)
      list.splice(i, 1, call, I.ret())
      i++
      continue
    }
    if (ins.body !== undefined) convertReturnCalls(ins.body, isSite, hostSites)
    if (ins.else !== undefined) convertReturnCalls(ins.else, isSite, hostSites)
    for (const c of ins.legacyCatches ?? []) convertReturnCalls(c.body, isSite, hostSites)
  }
}

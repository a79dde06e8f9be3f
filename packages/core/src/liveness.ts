/**
 * Which locals are live right after each unwinding call: exactly the ones an unwind must save. A backward
 * dataflow over the structured body; branch targets carry the live set at their label, loops iterate to a
 * fixed point, and anything that may throw inside a try_table also flows into its catch targets.
 */
import type { FuncBody, Instr, Label } from '@unplugin-asyncify/wasm'

/** A set of local indices, 32 to a word. */
export class LocalSet {
  /** A plain array, not a Uint32Array: V8 copies small plain arrays about three times faster, and the
   * analysis copies a set at every list, branch and site. */
  readonly words: number[]

  constructor(size: number, words?: number[]) {
    this.words = words ?? new Array<number>((size + 31) >>> 5).fill(0)
  }

  clone(): LocalSet {
    return new LocalSet(0, this.words.slice())
  }

  /** A copy that holds at least `size` locals. */
  resized(size: number): LocalSet {
    const r = new LocalSet(Math.max(size, this.words.length * 32))
    for (let i = 0; i < this.words.length; i++) r.words[i] = this.words[i] as number
    return r
  }

  /** Equal sets of the same size have equal keys. */
  key(): string {
    return this.words.join(',')
  }

  add(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31))
  }

  remove(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31))
  }

  has(i: number): boolean {
    return ((this.words[i >>> 5] as number) & (1 << (i & 31))) !== 0
  }

  unionWith(o: LocalSet): void {
    const w = this.words
    const ow = o.words
    for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) | (ow[i] as number)
  }

  clear(): void {
    this.words.fill(0)
  }

  equals(o: LocalSet): boolean {
    const w = this.words
    const ow = o.words
    for (let i = 0; i < w.length; i++) if (w[i] !== ow[i]) return false
    return true
  }

  toArray(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.words.length; i++) {
      let word = this.words[i] as number
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word)
        out.push(i * 32 + bit)
        word &= word - 1
      }
    }
    return out
  }
}

/**
 * Live locals after each site call. `root` is the function body; `exits` are labels whose live-in is empty
 * (the unwind block: an unwind saves explicitly what it needs).
 */
export function liveAfterSites(
  root: FuncBody,
  list: Instr[],
  localCount: number,
  sites: Map<Instr, number>,
  exits: Label[],
  /** Guards whose else arm only runs while rewinding, and `br_if`s taken only then: normal execution,
   * which is all an unwind must preserve, never takes them, so they contribute nothing to what is live. */
  guards: Set<Instr> = new Set(),
): Map<number, LocalSet> {
  const a = new Liveness(root, localCount, sites, exits, guards)
  a.run(list)
  return a.out
}

/** Where a structure's analysis stands: which of its lists is being analysed, and what it has so far. */
interface StructureState {
  ins: Instr
  /** The live set after the structure. */
  after: LocalSet
  /** `if`: the then arm's live-in (once known); `try`: the handlers'; `loop`: the current guess. */
  acc: LocalSet | null
  /** `if`: 0 then, 1 else; `try`: 0.. the catch bodies, then the body; `loop`: the iteration. */
  part: number
}

/** A list being analysed backwards: `live` is the set before `instrs[i]`, `owner` the structure it is in. */
interface ListFrame {
  instrs: Instr[]
  i: number
  live: LocalSet
  owner: StructureState | null
}

/**
 * The backward dataflow, on an explicit stack of list frames (real bodies nest deeper than the JS stack
 * allows, and a generator per structure cost a tenth of the analysis). When a list is done, `next` moves
 * its structure on to its next list, or hands the structure's live-in back to the enclosing list.
 */
class Liveness {
  readonly labelLive = new Map<Label, LocalSet>()
  readonly empty: LocalSet
  readonly out = new Map<number, LocalSet>()
  /** Live sets of the handlers an exception thrown here reaches, innermost last. */
  private readonly catchStack: LocalSet[] = []
  /** The innermost of them (the top of catchStack), read at every instruction that may throw. */
  private handlers: LocalSet | undefined = undefined
  /** The last fixed point of each loop (from an earlier pass of an enclosing loop). */
  private readonly loopCache = new Map<Instr, LocalSet>()

  constructor(
    root: FuncBody,
    private readonly localCount: number,
    private readonly sites: Map<Instr, number>,
    exits: Label[],
    private readonly guards: Set<Instr>,
  ) {
    this.empty = new LocalSet(localCount)
    this.labelLive.set(root, this.empty)
    for (const e of exits) this.labelLive.set(e, this.empty)
  }

  private liveAt(l: Label | undefined): LocalSet {
    const s = l === undefined ? undefined : this.labelLive.get(l)
    if (s === undefined) throw new Error('liveness: branch to an unknown label')
    return s
  }

  /** The live set before `list`, a body whose end nothing is live at. */
  run(list: Instr[]): LocalSet {
    const frames: ListFrame[] = [{ instrs: list, i: list.length, live: this.empty.clone(), owner: null }]
    for (;;) {
      const f = frames[frames.length - 1] as ListFrame
      if (f.i > 0) {
        const ins = f.instrs[--f.i] as Instr
        const op = ins.op
        if (op.control === 'none') {
          f.live = this.plain(ins, f.live)
          // Anything that may throw inside a try_table also flows into its catch targets. (A structure
          // never throws itself: only what it holds, checked there.)
          if (op.mayThrow && this.handlers !== undefined) f.live.unionWith(this.handlers)
        } else frames.push(this.enter(ins, f.live))
        continue
      }
      frames.pop()
      const s = f.owner
      if (s === null) return f.live
      const next = this.next(s, f.live)
      if (next instanceof LocalSet) {
        const parent = frames[frames.length - 1] as ListFrame
        parent.live = next
      } else frames.push(next)
    }
  }

  private frame(instrs: Instr[] | undefined, after: LocalSet, owner: StructureState): ListFrame {
    const list = instrs ?? []
    return { instrs: list, i: list.length, live: after.clone(), owner }
  }

  private pushHandlers(h: LocalSet): void {
    this.catchStack.push(h)
    this.handlers = h
  }

  private popHandlers(): void {
    this.catchStack.pop()
    this.handlers = this.catchStack[this.catchStack.length - 1]
  }

  /** The first list of a structure, with `live` after it. */
  private enter(ins: Instr, live: LocalSet): ListFrame {
    const s: StructureState = { ins, after: live, acc: null, part: 0 }
    switch (ins.op.control) {
      case 'block':
      case 'if':
        this.labelLive.set(ins, live)
        return this.frame(ins.body, live, s)
      case 'try_table': {
        this.labelLive.set(ins, live)
        const handlers = new LocalSet(this.localCount)
        for (const c of ins.catches ?? []) handlers.unionWith(this.liveAt(c.target))
        const outer = this.handlers
        if (outer !== undefined) handlers.unionWith(outer)
        this.pushHandlers(handlers)
        return this.frame(ins.body, live, s)
      }
      case 'try':
        // Legacy try: anything thrown in the body may reach any catch body; those come first.
        this.labelLive.set(ins, live)
        s.acc = new LocalSet(this.localCount)
        if ((ins.legacyCatches ?? []).length > 0) return this.frame(ins.legacyCatches?.[0]?.body, live, s)
        return this.tryBody(s)
      case 'loop': {
        // Start from the last fixed point of this loop: it is below the new one, so iterating up from it
        // still reaches the least fixed point, in fewer passes.
        s.acc = this.loopCache.get(ins)?.clone() ?? new LocalSet(this.localCount)
        this.labelLive.set(ins, s.acc)
        return this.frame(ins.body, live, s)
      }
      default:
        throw new Error(`liveness: ${ins.op.name} is not a structure`)
    }
  }

  private tryBody(s: StructureState): ListFrame {
    const handlers = s.acc as LocalSet
    if (s.ins.delegate !== undefined) {
      const outer = this.handlers
      if (outer !== undefined) handlers.unionWith(outer)
    }
    this.pushHandlers(handlers)
    s.part = (s.ins.legacyCatches ?? []).length
    return this.frame(s.ins.body, s.after, s)
  }

  /** A list of `s` is done with live-in `r`: its next list, or the structure's live-in. */
  private next(s: StructureState, r: LocalSet): ListFrame | LocalSet {
    const ins = s.ins
    switch (ins.op.control) {
      case 'block':
        return r
      case 'try_table':
        this.popHandlers()
        return r
      case 'if':
        if (s.part === 1) {
          ;(s.acc as LocalSet).unionWith(r)
          return s.acc as LocalSet
        }
        if (this.guards.has(ins)) return r
        if (ins.else === undefined) {
          r.unionWith(s.after)
          return r
        }
        s.acc = r
        s.part = 1
        return this.frame(ins.else, s.after, s)
      case 'try': {
        const catches = ins.legacyCatches ?? []
        const handlers = s.acc as LocalSet
        if (s.part < catches.length) {
          handlers.unionWith(r)
          s.part++
          return s.part < catches.length ? this.frame(catches[s.part]?.body, s.after, s) : this.tryBody(s)
        }
        this.popHandlers()
        r.unionWith(handlers)
        return r
      }
      case 'loop': {
        const guess = s.acc as LocalSet
        r.unionWith(guess)
        if (r.equals(guess)) {
          this.loopCache.set(ins, r)
          return r.clone()
        }
        if (++s.part > 1000) throw new Error('liveness did not converge')
        s.acc = r
        this.labelLive.set(ins, r)
        return this.frame(ins.body, s.after, s)
      }
      default:
        throw new Error(`liveness: ${ins.op.name} is not a structure`)
    }
  }

  /** An instruction without lists. */
  private plain(ins: Instr, live: LocalSet): LocalSet {
    const op = ins.op
    switch (op.name) {
      case 'local.get':
        live.add(ins.local as number)
        return live
      case 'local.set':
      case 'local.tee':
        live.remove(ins.local as number)
        return live
      case 'br':
        return this.liveAt(ins.target).clone()
      case 'br_if':
        if (!this.guards.has(ins)) live.unionWith(this.liveAt(ins.target))
        return live
      case 'br_on_null':
      case 'br_on_non_null':
      case 'br_on_cast':
      case 'br_on_cast_fail':
        live.unionWith(this.liveAt(ins.target))
        return live
      case 'br_table': {
        const r = this.liveAt(ins.target).clone()
        for (const t of ins.targets ?? []) r.unionWith(this.liveAt(t))
        return r
      }
      default:
        break
    }
    if (op.call !== null && !op.terminal) {
      const n = this.sites.get(ins)
      if (n !== undefined) {
        // A resumed call may still throw: what its catch targets read must survive the unwind too.
        const saved = live.clone()
        const c = this.handlers
        if (c !== undefined) saved.unionWith(c)
        this.out.set(n, saved)
      }
      return live
    }
    if (op.terminal) return new LocalSet(this.localCount)
    return live
  }
}

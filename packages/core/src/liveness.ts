/**
 * Which locals are live right after each unwinding call: exactly the ones an unwind must save. A backward
 * dataflow over the structured body; branch targets carry the live set at their label, loops iterate to a
 * fixed point, and anything that may throw inside a try_table also flows into its catch targets.
 */
import type { FuncBody, Instr, Label } from '@unplugin-asyncify/wasm'
import { runNested, type Step } from './nested.js'

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
  /** Guards whose else arm only runs while rewinding: normal execution, which is all an unwind must
   * preserve, never takes it, so it contributes nothing to what is live. */
  guards: Set<Instr> = new Set(),
): Map<number, LocalSet> {
  const a = new Liveness(root, localCount, sites, exits, guards)
  runNested(a.list(list, a.empty))
  return a.out
}

/** The backward dataflow; each structure is a nested step (see nested.ts), so depth costs no JS stack. */
class Liveness {
  readonly labelLive = new Map<Label, LocalSet>()
  readonly empty: LocalSet
  readonly out = new Map<number, LocalSet>()
  /** Live sets of the handlers an exception thrown here reaches, innermost last. */
  private readonly catchStack: LocalSet[] = []
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

  *list(instrs: Instr[], after: LocalSet): Step<LocalSet> {
    let live = after.clone()
    for (let i = instrs.length - 1; i >= 0; i--) {
      const ins = instrs[i] as Instr
      const control = ins.op.control
      if (control === 'none') live = this.plain(ins, live)
      else if (control === 'block') {
        // The commonest structure, handled here: one generator per block instead of two.
        this.labelLive.set(ins, live)
        live = (yield this.list(ins.body ?? [], live)) as LocalSet
      } else live = (yield this.structure(ins, live)) as LocalSet
      const c = this.catchStack[this.catchStack.length - 1]
      if (c !== undefined && ins.op.mayThrow) live.unionWith(c)
    }
    return live
  }

  /** A structure other than a block (list() handles those itself). */
  private *structure(ins: Instr, live: LocalSet): Step<LocalSet> {
    const body = ins.body ?? []
    switch (ins.op.control) {
      case 'try_table': {
        this.labelLive.set(ins, live)
        const handlers = new LocalSet(this.localCount)
        for (const c of ins.catches ?? []) handlers.unionWith(this.liveAt(c.target))
        const outer = this.catchStack[this.catchStack.length - 1]
        if (outer !== undefined) handlers.unionWith(outer)
        this.catchStack.push(handlers)
        const r = (yield this.list(body, live)) as LocalSet
        this.catchStack.pop()
        return r
      }
      case 'try': {
        // Legacy try: anything thrown in the body may reach any catch body.
        this.labelLive.set(ins, live)
        const handlers = new LocalSet(this.localCount)
        for (const c of ins.legacyCatches ?? [])
          handlers.unionWith((yield this.list(c.body, live)) as LocalSet)
        if (ins.delegate !== undefined) {
          const outer = this.catchStack[this.catchStack.length - 1]
          if (outer !== undefined) handlers.unionWith(outer)
        }
        this.catchStack.push(handlers)
        const r = (yield this.list(body, live)) as LocalSet
        this.catchStack.pop()
        r.unionWith(handlers)
        return r
      }
      case 'loop': {
        // Start from the last fixed point of this loop: it is below the new one, so iterating up from it
        // still reaches the least fixed point, in fewer passes.
        let guess = this.loopCache.get(ins)?.clone() ?? new LocalSet(this.localCount)
        for (let iter = 0; ; iter++) {
          this.labelLive.set(ins, guess)
          const r = (yield this.list(body, live)) as LocalSet
          r.unionWith(guess)
          if (r.equals(guess)) {
            this.loopCache.set(ins, r)
            return r.clone()
          }
          guess = r
          if (iter > 1000) throw new Error('liveness did not converge')
        }
      }
      case 'if': {
        this.labelLive.set(ins, live)
        const t = (yield this.list(body, live)) as LocalSet
        if (this.guards.has(ins)) return t
        const e = ins.else !== undefined ? ((yield this.list(ins.else, live)) as LocalSet) : live.clone()
        t.unionWith(e)
        return t
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
        const c = this.catchStack[this.catchStack.length - 1]
        if (c !== undefined) saved.unionWith(c)
        this.out.set(n, saved)
      }
      return live
    }
    if (op.terminal) return new LocalSet(this.localCount)
    return live
  }
}

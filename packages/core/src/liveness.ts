/**
 * Which locals are live right after each unwinding call: exactly the ones an unwind must save. A backward
 * dataflow over the structured body; branch targets carry the live set at their label, loops iterate to a
 * fixed point, and anything that may throw inside a try_table also flows into its catch targets.
 */
import type { FuncBody, Instr, Label } from '@unplugin-asyncify/wasm'

export class LocalSet {
  readonly words: Uint32Array

  constructor(size: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array((size + 31) >>> 5)
  }

  clone(): LocalSet {
    return new LocalSet(0, this.words.slice())
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

const MAY_THROW = new Set(['call', 'call_indirect', 'call_ref', 'throw', 'throw_ref', 'rethrow'])

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
  const labelLive = new Map<Label, LocalSet>()
  const empty = new LocalSet(localCount)
  labelLive.set(root, empty)
  for (const e of exits) labelLive.set(e, empty)
  const out = new Map<number, LocalSet>()
  const catchStack: LocalSet[] = []
  const loopCache = new Map<Instr, LocalSet>()

  const liveAt = (l: Label | undefined): LocalSet => {
    const s = l === undefined ? undefined : labelLive.get(l)
    if (s === undefined) throw new Error('liveness: branch to an unknown label')
    return s
  }

  const walkList = (instrs: Instr[], after: LocalSet): LocalSet => {
    let live = after.clone()
    for (let i = instrs.length - 1; i >= 0; i--) {
      live = transfer(instrs[i] as Instr, live)
      const c = catchStack[catchStack.length - 1]
      if (c !== undefined && MAY_THROW.has((instrs[i] as Instr).op.name)) live.unionWith(c)
    }
    return live
  }

  const transfer = (ins: Instr, live: LocalSet): LocalSet => {
    const op = ins.op
    switch (op.control) {
      case 'block':
        labelLive.set(ins, live)
        return walkList(ins.body ?? [], live)
      case 'try_table': {
        labelLive.set(ins, live)
        const handlers = new LocalSet(localCount)
        for (const c of ins.catches ?? []) handlers.unionWith(liveAt(c.target))
        const outer = catchStack[catchStack.length - 1]
        if (outer !== undefined) handlers.unionWith(outer)
        catchStack.push(handlers)
        const r = walkList(ins.body ?? [], live)
        catchStack.pop()
        return r
      }
      case 'try': {
        // Legacy try: anything thrown in the body may reach any catch body.
        labelLive.set(ins, live)
        const handlers = new LocalSet(localCount)
        for (const c of ins.legacyCatches ?? []) handlers.unionWith(walkList(c.body, live))
        if (ins.delegate !== undefined) {
          const outer = catchStack[catchStack.length - 1]
          if (outer !== undefined) handlers.unionWith(outer)
        }
        catchStack.push(handlers)
        const r = walkList(ins.body ?? [], live)
        catchStack.pop()
        r.unionWith(handlers)
        return r
      }
      case 'loop': {
        // Start from the last fixed point of this loop (from an earlier pass of an enclosing loop): it is
        // below the new one, so iterating up from it still reaches the least fixed point, in fewer passes.
        let guess = loopCache.get(ins)?.clone() ?? new LocalSet(localCount)
        for (let iter = 0; ; iter++) {
          labelLive.set(ins, guess)
          const r = walkList(ins.body ?? [], live)
          r.unionWith(guess)
          if (r.equals(guess)) {
            loopCache.set(ins, r)
            return r.clone()
          }
          guess = r
          if (iter > 1000) throw new Error('liveness did not converge')
        }
      }
      case 'if': {
        labelLive.set(ins, live)
        const t = walkList(ins.body ?? [], live)
        if (guards.has(ins)) return t
        const e = ins.else !== undefined ? walkList(ins.else, live) : live.clone()
        t.unionWith(e)
        return t
      }
      default:
        break
    }
    switch (op.name) {
      case 'local.get':
        live.add(ins.local as number)
        return live
      case 'local.set':
      case 'local.tee':
        live.remove(ins.local as number)
        return live
      case 'br':
        return liveAt(ins.target).clone()
      case 'br_if':
      case 'br_on_null':
      case 'br_on_non_null':
      case 'br_on_cast':
      case 'br_on_cast_fail':
        live.unionWith(liveAt(ins.target))
        return live
      case 'br_table': {
        const r = liveAt(ins.target).clone()
        for (const t of ins.targets ?? []) r.unionWith(liveAt(t))
        return r
      }
      case 'call':
      case 'call_indirect':
      case 'call_ref': {
        const n = sites.get(ins)
        if (n !== undefined) {
          // A resumed call may still throw: what its catch targets read must survive the unwind too.
          const saved = live.clone()
          const c = catchStack[catchStack.length - 1]
          if (c !== undefined) saved.unionWith(c)
          out.set(n, saved)
        }
        return live
      }
      default:
        if (op.terminal) return new LocalSet(localCount)
        return live
    }
  }

  walkList(list, empty)
  return out
}

/**
 * The one traversal of structured instruction lists that transforms use. Real modules nest blocks
 * thousands deep (C++ switch lowering), deeper than the JS stack allows a recursive walk to go, so
 * both functions here keep their own explicit stack, as the decoder and the encoder do.
 *
 * A structure's lists, in order: `body`, then `else` (an `if`), then each legacy catch body (a `try`).
 */
import type { Instr } from './ir.js'

/** What `enter` may ask of the walk, as bit flags. */
export const Walk = {
  /** Go on (the structure's lists are visited next). */
  Continue: 0,
  /** Do not visit this structure's lists (`leave` is not called for it either). */
  SkipLists: 1,
  /** This is the last instruction of its list to visit (code after a `br` or `return`, say). */
  EndList: 2,
} as const

export interface Visitor {
  /**
   * Each instruction in program order, a structure before its contents. `list` and `index` say where
   * it stands. Returns flags of `Walk` (nothing means `Walk.Continue`).
   */
  enter(ins: Instr, list: Instr[], index: number): number | undefined
  /** Before each list of a structure: part 0 is the body, 1 the else arm, 2.. the legacy catch bodies. */
  startList?(owner: Instr, part: number): void
  /** After the lists of a structure that `enter` let the walk into. */
  leave?(ins: Instr): void
}

/** Whether an instruction holds lists of its own. */
export function hasLists(ins: Instr): boolean {
  return ins.body !== undefined || ins.else !== undefined || ins.legacyCatches !== undefined
}

/** The list `part` of a structure (0 = body, 1 = else, 2.. = legacy catch bodies), or undefined. */
function listAt(ins: Instr, part: number): Instr[] | undefined {
  if (part === 0) return ins.body
  if (part === 1) return ins.else
  return ins.legacyCatches?.[part - 2]?.body
}

function partCount(ins: Instr): number {
  return ins.legacyCatches !== undefined ? 2 + ins.legacyCatches.length : ins.else !== undefined ? 2 : 1
}

/** Visits every instruction under `list` (see Visitor). */
export function walk(list: Instr[], visitor: Visitor | ((ins: Instr) => void)): void {
  const v: Visitor =
    typeof visitor === 'function'
      ? {
          enter: ins => {
            visitor(ins)
            return undefined
          },
        }
      : visitor
  // One frame per open list: the list, the next index, and the structure owning it with the part.
  const lists: Instr[][] = [list]
  const next: number[] = [0]
  const owners: (Instr | null)[] = [null]
  const parts: number[] = [0]
  while (lists.length > 0) {
    const top = lists.length - 1
    const l = lists[top] as Instr[]
    const i = next[top] as number
    if (i < l.length) {
      const ins = l[i] as Instr
      const flags = v.enter(ins, l, i) ?? 0
      next[top] = (flags & Walk.EndList) !== 0 ? l.length : i + 1
      if ((flags & Walk.SkipLists) === 0 && hasLists(ins)) {
        lists.push(ins.body ?? [])
        next.push(0)
        owners.push(ins)
        parts.push(0)
        v.startList?.(ins, 0)
      }
      continue
    }
    const owner = owners[top] as Instr | null
    if (owner === null) {
      lists.pop()
      continue
    }
    // Move on to the structure's next list, or leave it.
    let part = (parts[top] as number) + 1
    const count = partCount(owner)
    while (part < count && listAt(owner, part) === undefined) part++
    if (part < count) {
      lists[top] = listAt(owner, part) as Instr[]
      next[top] = 0
      parts[top] = part
      v.startList?.(owner, part)
      continue
    }
    lists.pop()
    next.pop()
    owners.pop()
    parts.pop()
    v.leave?.(owner)
  }
}

/**
 * Rewrites every list under (and including) `root`, innermost first: `f` receives each list once all
 * the lists nested in it have been rewritten, with the structure that owns it (null for `root`), and
 * returns the list to put in its place. Returns the rewritten root.
 */
export function mapLists(root: Instr[], f: (list: Instr[], owner: Instr | null) => Instr[]): Instr[] {
  walk(root, {
    enter: () => undefined,
    leave(ins) {
      if (ins.body !== undefined) ins.body = f(ins.body, ins)
      if (ins.else !== undefined) ins.else = f(ins.else, ins)
      for (const c of ins.legacyCatches ?? []) c.body = f(c.body, ins)
    },
  })
  return f(root, null)
}

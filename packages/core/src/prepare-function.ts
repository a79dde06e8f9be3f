/**
 * Part 1 of instrumenting one function (see instrument-function.ts): what the flow rewrite needs to know
 * before it changes anything.
 *  - Non-nullable locals become nullable, read through `ref.as_non_null`: the guards and the prologue
 *    break the structural "set before get" rule.
 *  - `return_call*` sites become `call*` + `return`: the frame must survive the call to be saved.
 *  - Sites are numbered in program order, so every structure holds a contiguous range of them.
 *  - The stack types of every instruction, and where each local is written (for recomputed operands).
 */
import {
  type FuncBody,
  type FuncType,
  hasLists,
  type Instr,
  type InstrTypes,
  mapLists,
  opByName,
  ref,
  type StackType,
  type TypingContext,
  typeFunctionBody,
  type ValType,
  Walk,
  walk,
} from '@unplugin-asyncify/wasm'
import { I } from './build.js'
import { AsyncifyError } from './errors.js'

/** The locals of the function being instrumented, parameters first; new ones are declared in the body. */
export class Locals {
  readonly types: ValType[]

  constructor(
    private readonly body: FuncBody,
    params: readonly ValType[],
  ) {
    this.types = [...params, ...body.locals]
  }

  add(t: ValType): number {
    this.body.locals.push(t)
    this.types.push(t)
    return this.types.length - 1
  }

  typeOf(local: number): ValType {
    return this.types[local] as ValType
  }
}

/** A site range: the first and last site number a structure holds. */
export type Range = [number, number]

/** What the flow rewrite reads about the function, computed before it starts. */
export interface PreparedFunction {
  name: string
  type: FuncType
  body: FuncBody
  locals: Locals
  /** Calls that may unwind (tail calls already converted). */
  sites: Set<Instr>
  /** Sites that may call host code: their arguments are saved and passed again on rewind. */
  hostSites: Set<Instr>
  /** Site number of each reachable site. */
  siteIndex: Map<Instr, number>
  /** For each instruction holding reachable sites (a site itself included), its range. */
  ranges: Map<Instr, Range>
  siteCount: number
  typeOf(ins: Instr): InstrTypes
  /** The stack before a site-holding instruction, within its list (its operands on top). */
  stackBefore(ins: Instr): StackType[]
  writes: LocalWrites
}

export function prepareFunction(
  typing: TypingContext,
  name: string,
  typeIndex: number,
  body: FuncBody,
  sites: Set<Instr>,
  hostSites: Set<Instr>,
): PreparedFunction {
  const type = typing.module.types[typeIndex]?.composite
  if (type?.kind !== 'func') throw new AsyncifyError(`${name}: not a function type`)
  // Relaxed first, so saved non-nullable locals are restored with nullable casts (a union save can store one
  // that is still null).
  relaxNonNullableLocals(body, type.params.length)
  if ([...sites].some(s => s.op.call !== null && s.op.terminal)) convertReturnCalls(body, sites, hostSites)
  const { siteIndex, ranges, count } = numberSites(body.body, sites)
  // The rewrite asks about the lists it visits only: the body's and those of site-holding structures.
  const stacks = new Map<Instr, StackType[]>()
  const holdsSites = (ins: Instr): boolean => ranges.has(ins)
  const types = typeFunctionBody(typing, typeIndex, body, {
    descend: holdsSites,
    recordStack: holdsSites,
    stacks,
  })
  return {
    name,
    type,
    body,
    locals: new Locals(body, type.params),
    sites,
    hostSites,
    siteIndex,
    ranges,
    siteCount: count,
    typeOf(ins) {
      const t = types.get(ins)
      if (t === undefined) throw new AsyncifyError(`internal: untyped ${ins.op.name} in ${name}`)
      return t
    },
    stackBefore(ins) {
      const t = stacks.get(ins)
      if (t === undefined)
        throw new AsyncifyError(`internal: no stack recorded before ${ins.op.name} in ${name}`)
      return t
    },
    // Only the lists the rewrite visits (the body and those of site-holding structures) are asked about.
    writes: new LocalWrites(body.body, holdsSites),
  }
}

/**
 * Numbers the reachable sites in program order and records each site-holding instruction's range. Code
 * after a terminal instruction in the same list is unreachable: its calls are left alone.
 */
export function numberSites(
  list: Instr[],
  sites: Set<Instr>,
): { siteIndex: Map<Instr, number>; ranges: Map<Instr, Range>; count: number } {
  const siteIndex = new Map<Instr, number>()
  const ranges = new Map<Instr, Range>()
  const firstOf = new Map<Instr, number>()
  let next = 0
  walk(list, {
    enter(ins) {
      const flags = ins.op.terminal ? Walk.EndList : Walk.Continue
      if (sites.has(ins)) {
        ranges.set(ins, [next, next])
        siteIndex.set(ins, next++)
        return flags | Walk.SkipLists
      }
      if (ins.op.control === 'none') return flags
      firstOf.set(ins, next)
      return flags
    },
    leave(ins) {
      const lo = firstOf.get(ins) as number
      if (next > lo) ranges.set(ins, [lo, next - 1])
    },
  })
  return { siteIndex, ranges, count: next }
}

/**
 * Non-nullable locals must be set before use in the same block nesting; once the rewrite wraps code in
 * guards and restores locals in the prologue that no longer holds, so such locals become nullable and every
 * read asserts non-null (which cannot fail: the value stored was non-null).
 */
export function relaxNonNullableLocals(body: FuncBody, paramCount: number): void {
  const relaxed = new Set<number>()
  body.locals = body.locals.map((t, i) => {
    if (typeof t === 'string' || t.nullable) return t
    relaxed.add(paramCount + i)
    return ref(t.heap, true)
  })
  if (relaxed.size === 0) return
  const asNonNull = opByName('ref.as_non_null')
  body.body = mapLists(body.body, list => {
    const out: Instr[] = []
    for (const ins of list) {
      out.push(ins)
      if ((ins.op.name === 'local.get' || ins.op.name === 'local.tee') && relaxed.has(ins.local as number))
        out.push({ op: asNonNull })
    }
    return out
  })
}

/** `return_call*` sites become the plain call followed by `return`; `sites` and `hostSites` follow. */
export function convertReturnCalls(body: FuncBody, sites: Set<Instr>, hostSites: Set<Instr>): void {
  body.body = mapLists(body.body, list => {
    if (!list.some(ins => sites.has(ins) && ins.op.terminal)) return list
    const out: Instr[] = []
    for (const ins of list) {
      if (!(sites.has(ins) && ins.op.terminal)) {
        out.push(ins)
        continue
      }
      const call: Instr = { ...ins, op: opByName(ins.op.name.slice('return_'.length)) }
      sites.delete(ins)
      sites.add(call)
      if (hostSites.delete(ins)) hostSites.add(call)
      out.push(call, I.ret())
    }
    return out
  })
}

/**
 * Local writes of a body by position: instructions are numbered in program order (a structure before its
 * contents), so "written anywhere from this instruction to the end of that one" is a range query. Only
 * what the rewrite asks about is kept: the position of each `local.get` (a read it may make again) and
 * where the last instruction of each list ends.
 */
export class LocalWrites {
  private readonly number = new Map<Instr, number>()
  private readonly last = new Map<Instr, number>()
  private readonly at = new Map<number, number[]>()

  /** `visited(owner)`: whether positions inside that structure's lists will be asked about. */
  constructor(list: Instr[], visited: (owner: Instr) => boolean) {
    let n = 0
    // Depth of structures whose contents are numbered but not asked about (their writes still count).
    let hidden = 0
    walk(list, {
      enter: (ins, l, i) => {
        const at = n++
        const op = ins.op
        if (op.name === 'local.get') {
          if (hidden === 0) this.number.set(ins, at)
        } else if (op.name === 'local.set' || op.name === 'local.tee') {
          const xs = this.at.get(ins.local as number)
          if (xs === undefined) this.at.set(ins.local as number, [at])
          else xs.push(at)
        }
        if (op.control !== 'none' && hasLists(ins)) {
          if (hidden > 0 || !visited(ins)) hidden++
        } else if (hidden === 0 && i === l.length - 1) this.last.set(ins, at)
        return undefined
      },
      // Every structure a visible list holds ends somewhere a later lastInside may ask about.
      leave: ins => {
        if (hidden > 0 && --hidden > 0) return
        this.last.set(ins, n - 1)
      },
    })
  }

  private pos(m: Map<Instr, number>, ins: Instr): number {
    const v = m.get(ins)
    if (v === undefined) throw new AsyncifyError(`internal: ${ins.op.name} is not in the original body`)
    return v
  }

  first(ins: Instr): number {
    return this.pos(this.number, ins)
  }

  lastInside(ins: Instr): number {
    return this.pos(this.last, ins)
  }

  writtenBetween(local: number, from: number, to: number): boolean {
    const xs = this.at.get(local)
    if (xs === undefined) return false
    let lo = 0
    let hi = xs.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((xs[mid] as number) < from) lo = mid + 1
      else hi = mid
    }
    return lo < xs.length && (xs[lo] as number) <= to
  }
}

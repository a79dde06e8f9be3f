/**
 * The normal-state copy of a function's body (part of the flow rewrite, see instrument-function.ts).
 *
 * The rewritten body (flow-rewrite.ts) serves both states: its guards, temps and `$after` blocks let a
 * rewind skip to the call it resumes, and every normal call pays for them. Most calls run in normal
 * state, so a function may get a second body for it, a copy of its prepared body that differs from the
 * original only after each site:
 *
 *   global.get state; if { <rewritten body>; br $done }      ;; rewinding (the only other state at entry)
 *   <copy: each site followed by `i32.const N; global.get state; br_if $unwind; drop`>; br $done
 *
 * Both share the locals and the `$unwind` exits, so an unwind from the copy saves what an unwind from the
 * rewritten body saves, and the rewind resumes in the rewritten body. That is sound when the rewritten
 * body needs nothing at a site that only it computes:
 *  - no value is held in a temp across a site (the copy has it on the operand stack, which an unwind
 *    drops), nor a block parameter;
 *  - the only local kept for a site beyond the live ones is the callee of an indirect call, which the
 *    copy stores too (`local.tee` before the call): no host sites (their arguments are kept) and no
 *    non-nullable operands;
 *  - no site catches a thrown unwind (unwind-throw.ts).
 * The locals live after a site in the rewritten body include those the copy reads after it: it runs the
 * same code in normal state, where a recomputed read only moves later. So liveness is not run again.
 *
 * The copy costs size (about the original body again), so only some functions get one, within the
 * `normalCopies` budget (chooseNormalCopies).
 */
import type { FuncBody, Instr, Label, Module } from '@unplugin-asyncify/wasm'
import { walk } from '@unplugin-asyncify/wasm'
import { I } from './build.js'
import type { FlowResult } from './flow-rewrite.js'
import type { FunctionEnv } from './function-env.js'
import type { PreparedFunction } from './prepare-function.js'

/**
 * The prepared body as it was before the flow rewrite (which edits its structures in place): a copy of
 * every instruction, and each structure's lists as they were.
 */
export interface BodySnapshot {
  root: Instr[]
  copies: Map<Instr, Instr>
  lists: Map<Instr, { body?: Instr[]; else?: Instr[]; catches?: Instr[][] }>
}

/**
 * The functions that get a copy: those with the most sites inside loops first (a static guess at how
 * often their calls run; a loop's sites run on every iteration, the others once per call), each only if
 * it still fits in `percent` of the module's instructions. Functions without sites in loops get none: the
 * flow rewrite leaves a loop without sites as it is.
 */
export function chooseNormalCopies(
  m: Module,
  candidates: readonly { body: FuncBody; sites: ReadonlySet<Instr> }[],
  percent: number,
): Set<FuncBody> {
  const chosen = new Set<FuncBody>()
  if (percent === 0) return chosen
  let total = 0
  for (const f of m.funcs) if (f.body !== null) walk(f.body.body, () => void total++)
  const weighed = candidates.map(({ body, sites }) => {
    let size = 0
    let inLoops = 0
    let depth = 0
    walk(body.body, {
      enter(ins) {
        size++
        if (depth > 0 && sites.has(ins)) inLoops++
        if (ins.op.control === 'loop') depth++
        return undefined
      },
      leave(ins) {
        if (ins.op.control === 'loop') depth--
      },
    })
    return { body, size, inLoops }
  })
  weighed.sort((a, b) => b.inLoops - a.inLoops || a.size - b.size)
  let budget = (total * percent) / 100
  for (const w of weighed) {
    if (w.inLoops === 0) break
    if (w.size > budget) continue
    chosen.add(w.body)
    budget -= w.size
  }
  return chosen
}

/** The body of a function chosen for a copy as it is before the flow rewrite, or null if it cannot have one. */
export function snapshotForCopy(env: FunctionEnv, fn: PreparedFunction): BodySnapshot | null {
  for (const site of fn.siteIndex.keys()) if (env.throwing.mayThrowUnwind(site)) return null
  const copies = new Map<Instr, Instr>()
  const lists: BodySnapshot['lists'] = new Map()
  walk(fn.body.body, ins => {
    copies.set(ins, { ...ins, depthMark: undefined })
    if (ins.body !== undefined || ins.else !== undefined || ins.legacyCatches !== undefined)
      lists.set(ins, {
        body: ins.body?.slice(),
        else: ins.else?.slice(),
        catches: ins.legacyCatches?.map(c => c.body.slice()),
      })
  })
  return { root: fn.body.body.slice(), copies, lists }
}

/**
 * The copy (iterative: bodies nest thousands deep), with the stores the flow rewrite asks for and an
 * unwind check after each site; null when the rewrite holds a value the copy cannot store. Its unwind
 * branches go into `flow.unwindBranches` (frames.ts retargets them by save group).
 */
export function buildNormalCopy(
  env: FunctionEnv,
  fn: PreparedFunction,
  flow: FlowResult,
  snap: BodySnapshot,
): Instr[] | null {
  const facts = flow.copy
  if (!facts.possible) return null
  const { copies } = snap
  const label = (l: Label): Label => (l.kind === 'func' ? l : (copies.get(l) ?? l))
  const copyList = (list: Instr[]): Instr[] => {
    const out: Instr[] = []
    for (const ins of list) {
      const c = copies.get(ins) as Instr
      const n = fn.siteIndex.get(ins)
      if (n !== undefined) {
        const kept = facts.keptArgs.get(n)
        if (kept !== undefined) for (const k of kept) out.push({ ...k })
        const callee = facts.calleeTemps.get(n)
        if (callee !== undefined) out.push(I.localTee(callee))
      }
      out.push(c)
      const tee = facts.tees.get(ins)
      if (tee !== undefined) out.push(I.localTee(tee))
      if (n === undefined) continue
      const toUnwind = I.brIf(flow.unwind)
      out.push(I.i32(n), I.globalGet(env.stateGlobal), toUnwind, I.drop())
      const branches = flow.unwindBranches[n]
      if (branches === undefined) flow.unwindBranches[n] = [toUnwind]
      else branches.push(toUnwind)
    }
    return out
  }
  for (const [orig, c] of copies) {
    const l = snap.lists.get(orig)
    if (l !== undefined) {
      if (l.body !== undefined) c.body = copyList(l.body)
      if (l.else !== undefined) c.else = copyList(l.else)
      if (l.catches !== undefined)
        c.legacyCatches = l.catches.map((b, k) => ({
          tag: orig.legacyCatches?.[k]?.tag ?? -1,
          body: copyList(b),
        }))
    }
    if (orig.target !== undefined) c.target = label(orig.target)
    if (orig.targets !== undefined) c.targets = orig.targets.map(label)
    if (orig.catches !== undefined) c.catches = orig.catches.map(k => ({ ...k, target: label(k.target) }))
    if (orig.delegate !== undefined) c.delegate = label(orig.delegate)
  }
  return copyList(snap.root)
}

/**
 * Puts the copy beside the rewritten body inside `$unwind` (whose body the caller set to the rewritten
 * body followed by `br $done`): at entry the state is normal, or rewinding.
 */
export function attachNormalCopy(env: FunctionEnv, flow: FlowResult, done: Instr, copy: Instr[]): void {
  const rewinding = I.ifElse(null, flow.unwind.body ?? [])
  flow.unwind.body = [I.globalGet(env.stateGlobal), rewinding, ...copy, I.br(done)]
}

/**
 * The normal-state copy of a function's body (between parts 2 and 3, see instrument-function.ts).
 *
 * The rewritten body (flow-rewrite.ts) serves both states: its guards, temps and `$after` blocks let a
 * rewind skip to the call it resumes, and every normal call pays for them. Most calls run in normal
 * state, so a function may instead run a copy of its prepared body that differs from the original only
 * after each site, and leave the rewritten body to a function of its own:
 *
 *   f:         global.get state; if { local.get 0..; call $f_rewind; return }   ;; rewinding
 *              <copy: each site followed by `i32.const N; global.get state; br_if $unwind; drop`>
 *   $f_rewind: the instrumented f (prologue, rewritten body, exits)
 *
 * Both have the same locals and the same save groups (frames.ts writes the copy's exits as well), so an
 * unwind from the copy saves what an unwind from the rewritten body would, and the rewind, entering f,
 * resumes in $f_rewind. Apart from f, $f_rewind runs only while a rewind completes, so the engine's
 * optimizing tier compiles f about the size of the original (one function holding both bodies was 2.7x
 * the original's size on QuickJS's interpreter loop, and stayed in baseline code much longer).
 *
 * The copy writes every local the rewritten body reads on rewind that a normal run of it would not
 * (CopyFacts in flow-rewrite.ts):
 *  - a value held in a temp across a site is on the copy's operand stack, which an unwind drops: the
 *    copy tees it to that temp where it is produced;
 *  - the callee of an indirect call is kept in a temp: the copy tees it there before the call;
 *  - the arguments of a call that may reach host code (or of non-nullable type) are kept in locals:
 *    the copy stores them there and pushes them back before the call.
 * Where that cannot be done (a block parameter held across a site, a value from a multi-value producer,
 * a site catching a thrown unwind, see unwind-throw.ts) the function gets no copy. The locals live after
 * a site in the rewritten body include those the copy reads after it (it runs the same code in normal
 * state, where a recomputed read only moves later), so liveness is not run again.
 *
 * The copy costs size (about the original body again), so only some functions get one, within the
 * `normalCopies` budget (chooseNormalCopies).
 */
import type { FuncBody, Instr, Label, Module, ValType } from '@unplugin-asyncify/wasm'
import { countImports, walk } from '@unplugin-asyncify/wasm'
import { I } from './build.js'
import type { FlowResult } from './flow-rewrite.js'
import type { CopyExits } from './frames.js'
import type { FunctionEnv } from './function-env.js'
import type { PreparedFunction } from './prepare-function.js'

/**
 * How the function holding a rewritten body is named after its function (always named, so that the
 * optimizer can be told not to inline it back, see optimize.ts).
 */
export const REWIND_SUFFIX = '$asyncify_rewind'

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
 * The functions that get a copy, by a static guess at how often their sites run: a site inside a loop
 * counts once per iteration, and every site of a function counts once more for each call to it from
 * inside a loop (a small helper called from a loop runs its sites as often as the loop's own). Highest
 * first, each only if it still fits in `percent` of the module's instructions; functions whose sites
 * never run in a loop get none. (The guess is rough: on QuickJS, js_poll_interrupts, called from the
 * interpreter loop, ranks far below where its measured cost would put it; see RESULTS.md.)
 */
export function chooseNormalCopies(
  m: Module,
  candidates: readonly { body: FuncBody; sites: ReadonlySet<Instr> }[],
  percent: number,
): Set<FuncBody> {
  const chosen = new Set<FuncBody>()
  if (percent === 0) return chosen
  const { total, size, loopCalls } = weighModule(m)
  const imported = countImports(m, 'func')
  const indexOf = new Map(m.funcs.map((f, d) => [f.body, d + imported]))
  const weighed = candidates.map(({ body, sites }) => {
    const calls = loopCalls.get(indexOf.get(body) ?? -1) ?? 0
    return { body, size: size.get(body) ?? 0, runs: sitesInLoops(body, sites) + sites.size * calls }
  })
  weighed.sort((a, b) => b.runs - a.runs || a.size - b.size)
  let budget = (total * percent) / 100
  for (const w of weighed) {
    if (w.runs === 0) break
    if (w.size > budget) continue
    chosen.add(w.body)
    budget -= w.size
  }
  return chosen
}

/** Instructions in all and per body, and per function index the direct calls to it inside loops. */
function weighModule(m: Module): {
  total: number
  size: Map<FuncBody, number>
  loopCalls: Map<number, number>
} {
  let total = 0
  const size = new Map<FuncBody, number>()
  const loopCalls = new Map<number, number>()
  for (const f of m.funcs) {
    if (f.body === null) continue
    let n = 0
    inLoops(f.body, (ins, looped) => {
      n++
      if (looped && ins.op.call === 'direct')
        loopCalls.set(ins.func as number, (loopCalls.get(ins.func as number) ?? 0) + 1)
    })
    size.set(f.body, n)
    total += n
  }
  return { total, size, loopCalls }
}

function sitesInLoops(body: FuncBody, sites: ReadonlySet<Instr>): number {
  let n = 0
  inLoops(body, (ins, looped) => {
    if (looped && sites.has(ins)) n++
  })
  return n
}

/** Visits every instruction of `body`, telling whether a loop encloses it. */
function inLoops(body: FuncBody, visit: (ins: Instr, looped: boolean) => void): void {
  let depth = 0
  walk(body.body, {
    enter(ins) {
      visit(ins, depth > 0)
      if (ins.op.control === 'loop') depth++
      return undefined
    },
    leave(ins) {
      if (ins.op.control === 'loop') depth--
    },
  })
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
 * The copy inside its own unwind exits (`block $done { block $unwind { copy; br $done }; ... }`, the
 * rest written by frames.ts); null when the rewrite holds a value the copy cannot store.
 */
export function buildNormalCopy(
  env: FunctionEnv,
  fn: PreparedFunction,
  flow: FlowResult,
  snap: BodySnapshot,
): CopyExits | null {
  const facts = flow.copy
  if (!facts.possible) return null
  const { copies } = snap
  const unwind = I.block('i32', [])
  const unwindBranches: Instr[][] = []
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
      const toUnwind = I.brIf(unwind)
      out.push(I.i32(n), I.globalGet(env.stateGlobal), toUnwind, I.drop())
      const branches = unwindBranches[n]
      if (branches === undefined) unwindBranches[n] = [toUnwind]
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
  const results = fn.type.results
  const done = I.block(results.length === 1 ? (results[0] as ValType) : env.blockType([], results), [])
  unwind.body = [...copyList(snap.root), I.br(done)]
  return { unwind, unwindBranches, done }
}

/**
 * Moves the rewritten body `from` a function's body to the function `to` that will hold it: its branches
 * to the function's own label (a `br` to the outermost depth, which returns) go to `to`'s.
 */
export function moveRewrittenBody(from: FuncBody, to: FuncBody): void {
  const moved = (l: Label): Label => (l === from ? to : l)
  walk(to.body, ins => {
    if (ins.target !== undefined) ins.target = moved(ins.target)
    if (ins.targets !== undefined) ins.targets = ins.targets.map(moved)
    if (ins.catches !== undefined) for (const c of ins.catches) c.target = moved(c.target)
    if (ins.delegate !== undefined) ins.delegate = moved(ins.delegate)
  })
}

/**
 * The body of a function with a copy: a rewind (the only other state a function is entered in) goes to
 * the function `rewind` holding the rewritten body, with the same arguments; otherwise the copy runs.
 */
export function bodyWithCopy(
  env: FunctionEnv,
  fn: PreparedFunction,
  rewind: number,
  copy: CopyExits,
): Instr[] {
  const args = fn.type.params.map((_, k) => I.localGet(k))
  return [I.globalGet(env.stateGlobal), I.ifElse(null, [...args, I.call(rewind), I.ret()]), copy.done]
}

/**
 * Part 3 of instrumenting one function (see instrument-function.ts): what an unwind saves and a rewind
 * restores.
 *  - Save groups: sites with the same live set share one save/restore block; when the per-site blocks
 *    would add up to much more code than one block for their union, the union is saved at every site.
 *  - Layout: a frame is `[saved locals][call index: i32]`; numbers take their size, references 4 bytes
 *    (the index of the slot their value went to, see ref-slots.ts). The buffer is a stack of frames: an
 *    unwind pushes the innermost frame first, so a rewind, which starts at the outermost, pops them in
 *    order. A frame is reserved or released with one bump of the buffer's `current` (one helper call
 *    each way; the call index is stored in the frame, not pushed by a second call).
 *  - Exits: each group has its own `$unwind` block, followed by its saves, so a site's unwind branch
 *    reaches only the saves of its own live set (one shared exit would make every saved local look live
 *    at every call, keeping hundreds of values alive through hot code).
 *  - Prologue: while rewinding, pop the frame and restore the locals of its call index's group. Epilogue:
 *    return stand-in results.
 */
import { STATE } from '@unplugin-asyncify/runtime/abi'
import { type Instr, opByName, type ValType, valTypeText } from '@unplugin-asyncify/wasm'
import { byteSize, I, memOps } from './build.js'
import { AsyncifyError } from './errors.js'
import type { FlowResult } from './flow-rewrite.js'
import type { FunctionEnv } from './function-env.js'
import { LocalSet } from './liveness.js'
import type { PreparedFunction } from './prepare-function.js'
import { castTo, hierarchyOf } from './ref-slots.js'

/** Sites that save the same locals. */
export interface SaveGroup {
  locals: number[]
  sites: number[]
}

/** How many more saved locals the per-site blocks may cost than one union block before the union wins. */
const UNION_SLACK = 16

/**
 * The save groups of a function, and the group of each site. `exclude` are locals never saved (the call
 * index and the buffer pointer).
 */
export function saveGroups(
  siteCount: number,
  live: Map<number, LocalSet>,
  forced: Map<number, number[]>,
  exclude: readonly number[],
): { groups: SaveGroup[]; groupOfSite: number[] } {
  const byKey = new Map<string, number>()
  const groups: SaveGroup[] = []
  const groupOfSite: number[] = new Array(siteCount)
  // One size for all, so that equal sets have equal keys.
  let size = Math.max(0, ...exclude.map(l => l + 1))
  for (const set of live.values()) size = Math.max(size, set.words.length * 32)
  for (const ls of forced.values()) for (const l of ls) size = Math.max(size, l + 1)
  for (let n = 0; n < siteCount; n++) {
    // The site's locals as a set (toArray: sorted, no duplicates).
    const set = live.get(n)
    const locals = set === undefined ? new LocalSet(size) : set.resized(size)
    for (const l of exclude) locals.remove(l)
    for (const l of forced.get(n) ?? []) locals.add(l)
    const key = locals.key()
    let g = byKey.get(key)
    if (g === undefined) {
      g = groups.length
      byKey.set(key, g)
      groups.push({ locals: locals.toArray(), sites: [] })
    }
    ;(groups[g] as SaveGroup).sites.push(n)
    groupOfSite[n] = g
  }
  const union = new Set<number>()
  let perSiteTotal = 0
  for (const g of groups) {
    perSiteTotal += g.locals.length
    for (const l of g.locals) union.add(l)
  }
  if (groups.length > 1 && perSiteTotal > union.size + UNION_SLACK) {
    const merged = { locals: [...union].sort((a, b) => a - b), sites: groups.flatMap(g => g.sites) }
    return { groups: [merged], groupOfSite: groupOfSite.fill(0) }
  }
  return { groups, groupOfSite }
}

/** Byte offsets of the saved locals in a frame, and its size without the call index. */
export function frameLayout(
  types: readonly ValType[],
  locals: readonly number[],
): { offsets: number[]; size: number } {
  let size = 0
  const offsets = locals.map(l => {
    const o = size
    const t = types[l] as ValType
    size += typeof t === 'string' ? byteSize(t) : 4
    return o
  })
  return { offsets, size }
}

export interface FramesResult {
  /** The whole new body. */
  body: Instr[]
  saveBlocks: number
  maxFrameBytes: number
  savedLocals: number
}

/**
 * The unwind exits of a function's normal-state copy (normal-copy.ts): its own `$unwind` block and
 * branches, and its `$done`, whose body buildFrames writes as it writes the rewritten body's.
 */
export type CopyExits = Pick<FlowResult, 'unwind' | 'unwindBranches'> & { done: Instr }

/**
 * Builds the final body: prologue, then `block $done { <$unwind exits around the rewritten body>;
 * epilogue }`. `done` is the block the rewritten body branches to when it completes normally. A
 * normal-state copy gets the same exits (the same saves, so the rewind restores what it saved).
 */
export function buildFrames(
  env: FunctionEnv,
  fn: PreparedFunction,
  flow: FlowResult,
  live: Map<number, LocalSet>,
  done: Instr,
  locals: { idx: number; ptr: number },
  /** The function leaves by throwing the unwind tag (see unwind-throw.ts) instead of returning. */
  throws: boolean,
  copy: CopyExits | null = null,
): FramesResult {
  const { groups, groupOfSite } = saveGroups(fn.siteCount, live, flow.forced, [locals.idx, locals.ptr])
  const types = fn.locals.types
  let maxFrame = 0
  let savedLocals = 0
  const loads: Instr[][] = []
  const layouts = groups.map(g => frameLayout(types, g.locals))
  // (A function: the copy's exits need saves of their own, instructions are not shared between lists.)
  const saves = (): Instr[][] =>
    groups.map((g, k) => {
      const { offsets, size } = layouts[k] as { offsets: number[]; size: number }
      return [
        ...bump(env, 'unwind', size + 4, locals.ptr),
        ...saveAndLoad(env, types, g.locals, offsets, locals.ptr).save,
        I.localGet(locals.ptr),
        I.localGet(locals.idx),
        I.store('i32.store', env.mem, size),
      ]
    })
  for (const [k, g] of groups.entries()) {
    const { offsets, size } = layouts[k] as { offsets: number[]; size: number }
    maxFrame = Math.max(maxFrame, size + 4)
    savedLocals += g.locals.length
    const { load } = saveAndLoad(env, types, g.locals, offsets, locals.ptr)
    const popped = bump(env, 'rewind', size + 4, locals.ptr)
    // With one group the call index is read from the popped frame; with more it picks the group first.
    loads.push(
      groups.length === 1 ? [...popped, ...readIndex(env, locals, size), ...load] : [...popped, ...load],
    )
  }
  const prologue: Instr[] = [
    I.globalGet(env.stateGlobal),
    I.i32(STATE.rewinding),
    I.plain('i32.eq'),
    I.ifElse(
      null,
      groups.length === 1
        ? (loads[0] as Instr[])
        : [...peekIndex(env, locals.idx), ...dispatch(loads, groupOfSite, locals.idx)],
    ),
  ]
  const epilogue = (): Instr[] =>
    throws ? [{ op: opByName('throw'), tag: env.throwing.tag as number }] : standInResults(env, fn)
  done.body = [...exits(flow, saves(), groupOfSite, locals.idx), ...epilogue()]
  if (copy !== null) copy.done.body = [...exits(copy, saves(), groupOfSite, locals.idx), ...epilogue()]
  return { body: [...prologue, done], saveBlocks: groups.length, maxFrameBytes: maxFrame, savedLocals }
}

/**
 * Reserves (unwind) or releases (rewind) `bytes` at the top of the buffer and leaves the frame's start in
 * `ptr` (a call to the frame helper; see FrameHelpers for why not inline).
 */
function bump(env: FunctionEnv, dir: 'unwind' | 'rewind', bytes: number, ptr: number): Instr[] {
  const helper = dir === 'unwind' ? env.helpers.unwindTake : env.helpers.rewindTake
  return [I.i32(bytes), I.call(helper), I.localSet(ptr)]
}

/** `idx` = the call index of the frame at `ptr` whose locals take `size` bytes. */
function readIndex(env: FunctionEnv, locals: { idx: number; ptr: number }, size: number): Instr[] {
  return [I.localGet(locals.ptr), I.load('i32.load', env.mem, size), I.localSet(locals.idx)]
}

/** `idx` = the call index of the top frame, before its size (its group's) is known: the last 4 bytes. */
function peekIndex(env: FunctionEnv, idx: number): Instr[] {
  const p = env.ptr
  return [
    I.globalGet(env.dataGlobal),
    I.load(`${p}.load`, env.mem, 0),
    p === 'i64' ? I.i64(4n) : I.i32(4),
    I.plain(`${p}.sub`),
    I.load('i32.load', env.mem, 0),
    I.localSet(idx),
  ]
}

/** The stores of one group's locals into the frame at `ptr`, and the loads back. */
function saveAndLoad(
  env: FunctionEnv,
  types: readonly ValType[],
  locals: readonly number[],
  offsets: readonly number[],
  ptr: number,
): { save: Instr[]; load: Instr[] } {
  const save: Instr[] = []
  const load: Instr[] = []
  locals.forEach((l, k) => {
    const t = types[l] as ValType
    const off = offsets[k] as number
    if (typeof t === 'string') {
      const ops = memOps(t)
      save.push(I.localGet(ptr), I.localGet(l), I.store(ops.store, env.mem, off))
      load.push(I.localGet(ptr), I.load(ops.load, env.mem, off), I.localSet(l))
      return
    }
    // References go to a slot of their hierarchy's table; the frame keeps the slot index.
    const h = hierarchyOf(env.module, t)
    save.push(
      I.localGet(ptr),
      I.localGet(l),
      I.call(env.refSlot(h, 'save')),
      I.store('i32.store', env.mem, off),
    )
    load.push(
      I.localGet(ptr),
      I.load('i32.load', env.mem, off),
      I.call(env.refSlot(h, 'load')),
      ...castTo(t, h),
      I.localSet(l),
    )
  })
  return { save, load }
}

/** Dispatch on `idx` to one code block per group, each followed by a branch to the end. */
function dispatch(perGroup: Instr[][], groupOfSite: number[], idx: number): Instr[] {
  if (perGroup.length === 1) return perGroup[0] as Instr[]
  const end: Instr = I.block(null, [])
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
    inner = [lbl, ...(perGroup[g] as Instr[]), I.br(end)]
  }
  end.body = inner
  return [end]
}

/**
 * The unwind exits: `flow.unwind` (holding the body) is the first group's; each further group gets a block
 * around the previous ones, and every site's branch is retargeted to its group's block. Each block's
 * saves follow its end (each group's saves include its frame's call index).
 */
function exits(
  flow: Pick<FlowResult, 'unwind' | 'unwindBranches'>,
  saves: Instr[][],
  groupOfSite: number[],
  idx: number,
): Instr[] {
  if (saves.length === 1) return [flow.unwind, I.localSet(idx), ...(saves[0] as Instr[])]
  const finish = I.block(null, [])
  const blocks = saves.map((_, g) => (g === 0 ? flow.unwind : I.block('i32', [])))
  flow.unwindBranches.forEach((branches, n) => {
    for (const br of branches) br.target = blocks[groupOfSite[n] as number]
  })
  let inner: Instr = flow.unwind
  for (let g = 0; g < blocks.length; g++) {
    const save = [inner, I.localSet(idx), ...(saves[g] as Instr[])]
    const outer = g === blocks.length - 1 ? finish : (blocks[g + 1] as Instr)
    outer.body = g === blocks.length - 1 ? save : [...save, I.br(finish)]
    inner = outer
  }
  return [finish]
}

/** What an unwinding function returns: its callers are unwinding too and ignore it. */
function standInResults(env: FunctionEnv, fn: PreparedFunction): Instr[] {
  return fn.type.results.flatMap(t => {
    const v = env.standIns.of(t)
    if (v === null)
      throw new AsyncifyError(
        `internal: ${fn.name} returns a non-nullable ${valTypeText(t)} that has no stand-in, and does not leave by throwing`,
      )
    return v
  })
}

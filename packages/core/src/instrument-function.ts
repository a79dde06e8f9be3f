/**
 * Instrumentation of one function, in three parts along the seam between control flow and locals (see
 * docs/asyncify.md for the full picture):
 *  1. preparation (prepare-function.ts): non-nullable locals relaxed, tail-call sites turned into call +
 *     return, sites numbered in program order, stack types and local writes recorded;
 *  2. the flow rewrite (flow-rewrite.ts): segments, guards, `$after` blocks and temps, so that a rewind
 *     skips straight to the call it resumes and an unwind leaves through `$unwind` after any site;
 *  3. frames (frames.ts): liveness per site decides the save groups; their saves and restores, the
 *     prologue and the epilogue.
 * Between 2 and 3, a function chosen for it gets an uninstrumented copy of its body for normal state,
 * and its rewritten body moves to a function of its own (normal-copy.ts).
 * What every function needs to know about the module is in function-env.ts.
 */
export type { FunctionEnv } from './function-env.js'

import type { FuncBody, Instr, ValType } from '@unplugin-asyncify/wasm'
import { I } from './build.js'
import { type FlowResult, FlowRewrite } from './flow-rewrite.js'
import { buildFrames } from './frames.js'
import type { FunctionEnv } from './function-env.js'
import { type LocalSet, liveAfterSites } from './liveness.js'
import { bodyWithCopy, buildNormalCopy, moveRewrittenBody, snapshotForCopy } from './normal-copy.js'
import { type PreparedFunction, prepareFunction } from './prepare-function.js'

/** The function to instrument. */
export interface FunctionToInstrument {
  /** Its index in the module as it is now. */
  index: number
  name: string
  typeIndex: number
  body: FuncBody
  /** Calls in it that may unwind. */
  sites: Set<Instr>
  /** Sites that may call host code: their arguments are saved and passed again on rewind. */
  hostSites: Set<Instr>
  /** Give it a copy of its body for normal state if it can have one (normal-copy.ts). */
  normalCopy: boolean
}

export interface FunctionResult {
  sites: number
  /** Distinct save/restore blocks (1 when the union of the live sets is saved at every site). */
  saveBlocks: number
  /** Bytes the deepest save of this function writes (largest live set + the call index). */
  maxFrameBytes: number
  savedLocals: number
  /** It got a normal-state copy of its body. */
  normalCopy: boolean
}

export function instrumentFunction(env: FunctionEnv, f: FunctionToInstrument): FunctionResult {
  const { body } = f
  const fn = prepareFunction(env.typing, f.name, f.typeIndex, body, f.sites, f.hostSites)
  if (fn.siteCount === 0)
    return { sites: 0, saveBlocks: 0, maxFrameBytes: 0, savedLocals: 0, normalCopy: false }
  const idx = fn.locals.add('i32')
  const ptr = fn.locals.add(env.ptr)
  // Taken before the flow rewrite, which edits the body's structures in place.
  const snapshot = f.normalCopy ? snapshotForCopy(env, fn) : null
  const { flow, done, live } = rewriteFlow(env, fn, idx)
  const copy = snapshot === null ? null : buildNormalCopy(env, fn, flow, snapshot)
  const throws = env.throwing.isThrower(f.index)
  const frames = buildFrames(env, fn, flow, live, done, { idx, ptr }, throws, copy)
  if (copy === null) body.body = frames.body
  else {
    const rewound: FuncBody = { kind: 'func', locals: body.locals.slice(), body: frames.body }
    moveRewrittenBody(body, rewound)
    body.body = bodyWithCopy(env, fn, env.rewindFunction(f.name, f.typeIndex, rewound), copy)
  }
  return {
    sites: fn.siteCount,
    saveBlocks: frames.saveBlocks,
    maxFrameBytes: frames.maxFrameBytes,
    savedLocals: frames.savedLocals,
    normalCopy: copy !== null,
  }
}

/**
 * The flow rewrite, and the liveness it feeds: the rewritten body inside `$unwind`, inside `$done` (the
 * block a normal completion branches to: `block $done (result R) { block $unwind (result i32) { body;
 * br $done }; saves; stand-ins }`, a tree shape binaryen's optimizer handles without scratch locals),
 * and the locals live after each site.
 */
export function rewriteFlow(
  env: FunctionEnv,
  fn: PreparedFunction,
  idx: number,
): { flow: FlowResult; done: Instr; live: Map<number, LocalSet> } {
  const flow = new FlowRewrite(env, fn, idx).run()
  const results = fn.type.results
  const done = I.block(results.length === 1 ? (results[0] as ValType) : env.blockType([], results), [])
  flow.unwind.body = [...flow.list, I.br(done)]
  // Liveness on the rewritten body; the unwind exit saves explicitly, so nothing is live into it.
  const live = liveAfterSites(
    fn.body,
    flow.unwind.body,
    fn.locals.types.length,
    fn.siteIndex,
    [flow.unwind, done],
    flow.guards,
  )
  return { flow, done, live }
}

/**
 * binaryen's optimizer as the options ask for it. binaryen.js keeps its settings (levels, the
 * optimization assumptions, inlining limits, pass arguments, skipped passes) in process-wide globals,
 * so each run sets them from the resolved options and puts the previous values back afterwards.
 */
import type { BinaryenApi, BinaryenModule } from './binaryen.js'
import type { ResolvedOptions } from './options.js'

/** The rows of the resolved options that configure binaryen. */
export type BinaryenSettings = Pick<
  ResolvedOptions,
  | 'optimizeLevel'
  | 'shrinkLevel'
  | 'converge'
  | 'lowMemoryUnused'
  | 'zeroFilledMemory'
  | 'trapsNeverHappen'
  | 'fastMath'
  | 'closedWorld'
  | 'alwaysInlineMaxSize'
  | 'flexibleInlineMaxSize'
  | 'oneCallerInlineMaxSize'
  | 'inlineFunctionsWithLoops'
  | 'skipPasses'
  | 'passArgs'
>

/** Runs `fn` with binaryen's globals set from `s`, restoring them afterwards. */
export function withBinaryenSettings<T>(b: BinaryenApi, s: BinaryenSettings, fn: () => T): T {
  const restore: (() => void)[] = []
  const set = <V>(get: () => V, put: (v: V) => unknown, value: V): void => {
    const previous = get()
    put(value)
    restore.push(() => put(previous))
  }
  set(b.getOptimizeLevel, b.setOptimizeLevel, s.optimizeLevel)
  set(b.getShrinkLevel, b.setShrinkLevel, s.shrinkLevel)
  set(b.getLowMemoryUnused, b.setLowMemoryUnused, s.lowMemoryUnused)
  set(b.getZeroFilledMemory, b.setZeroFilledMemory, s.zeroFilledMemory)
  set(b.getTrapsNeverHappen, b.setTrapsNeverHappen, s.trapsNeverHappen)
  set(b.getFastMath, b.setFastMath, s.fastMath)
  set(b.getClosedWorld, b.setClosedWorld, s.closedWorld)
  set(b.getAllowInliningFunctionsWithLoops, b.setAllowInliningFunctionsWithLoops, s.inlineFunctionsWithLoops)
  if (s.alwaysInlineMaxSize !== null)
    set(b.getAlwaysInlineMaxSize, b.setAlwaysInlineMaxSize, s.alwaysInlineMaxSize)
  if (s.flexibleInlineMaxSize !== null)
    set(b.getFlexibleInlineMaxSize, b.setFlexibleInlineMaxSize, s.flexibleInlineMaxSize)
  if (s.oneCallerInlineMaxSize !== null)
    set(b.getOneCallerInlineMaxSize, b.setOneCallerInlineMaxSize, s.oneCallerInlineMaxSize)
  for (const [key, value] of Object.entries(s.passArgs))
    set(
      () => b.getPassArgument(key),
      v => b.setPassArgument(key, v),
      value,
    )
  // binaryen.js can add skipped passes and clear them all, not remove one: clear only what we added.
  const added = s.skipPasses.filter(p => !b.hasPassToSkip(p))
  for (const p of added) b.addPassToSkip(p)
  if (added.length > 0) restore.push(() => b.clearPassesToSkip())
  try {
    return fn()
  } finally {
    for (const undo of restore.reverse()) undo()
  }
}

/**
 * binaryen's default pipeline at the configured levels; with `converge`, again while the output shrinks.
 * Functions whose names match `outOfLine` (wildcard patterns) are never inlined: binaryen inlines a
 * function with one caller at -O2 and above, which would put a rewritten body back into the function
 * whose normal-state copy it was moved out of (normal-copy.ts).
 */
export function optimizeModule(
  b: BinaryenApi,
  mod: BinaryenModule,
  s: BinaryenSettings,
  outOfLine: readonly string[] = [],
): void {
  withBinaryenSettings(b, s, () => {
    const previous = b.getPassArgument('no-inline')
    for (const pattern of outOfLine) {
      b.setPassArgument('no-inline', pattern)
      mod.runPasses(['no-inline'])
    }
    b.setPassArgument('no-inline', previous)
    mod.optimize()
    if (!s.converge) return
    let size = mod.emitBinary().length
    for (;;) {
      mod.optimize()
      const next = mod.emitBinary().length
      if (next >= size) break
      size = next
    }
  })
}

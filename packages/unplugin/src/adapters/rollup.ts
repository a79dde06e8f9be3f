/**
 * Rollup and Rolldown (and Vite's build, which reuses `emitSink`): binaries are emitted as assets, which
 * the bundler names with a content hash, and referenced through `import.meta.ROLLUP_FILE_URL_<ref>`,
 * which it replaces with the asset's URL relative to the chunk (`new URL(..., import.meta.url)`).
 */
import { type AssetSink, type AsyncifyContext, parseId, QUERY_RE } from '../context.js'

interface EmitContext {
  emitFile(file: { type: 'asset'; name: string; source: Uint8Array }): string
  addWatchFile(file: string): void
}

export function emitSink(pc: EmitContext): AssetSink {
  return {
    reference(asset) {
      const ref = pc.emitFile({ type: 'asset', name: asset.name, source: asset.bytes })
      return { kind: 'expression', code: `import.meta.ROLLUP_FILE_URL_${ref}` }
    },
  }
}

/** Loads a glue module in a Rollup-like build; the imported file is watched (watch mode rebuilds on change). */
export function loadWithEmit(
  ctx: AsyncifyContext,
  pc: EmitContext,
  id: string,
  sink: AssetSink = emitSink(pc),
): Promise<string | null> {
  const parsed = parseId(id)
  if (parsed === null || !ctx.handles(id)) return Promise.resolve(null)
  pc.addWatchFile(parsed.file)
  return ctx.load(id, sink)
}

/** Hooks for Rollup and Rolldown, whose plugin contexts agree on everything used here. */
export function rollupHooks(ctx: AsyncifyContext) {
  return {
    buildStart(this: { meta: { watchMode: boolean } }) {
      ctx.configure({ root: process.cwd(), production: !this.meta.watchMode })
    },
    load: {
      filter: { id: QUERY_RE },
      handler(this: EmitContext, id: string) {
        return loadWithEmit(ctx, this, id)
      },
    },
  }
}

// The playground's panels in Node: each wasm module of playground/src/wasm instrumented by the core with
// the settings the plugin gives it in the dev server (the playground's `modules` option, resolved by the
// plugin's own option code), behind an `init` like the glue's default export, and a `fetch` that serves
// playground/public/ as the dev server would.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Mode } from '@unplugin-asyncify/runtime'
import { ResolvedOptions } from '../../packages/unplugin/src/options.js'
import type { Init } from '../../playground/src/panels/host.js'
import { PLUGIN_MODULES } from '../../playground/src/wasm/modules.js'
import { fixture, run } from '../runtime/helpers.js'

export const playground = fileURLToPath(new URL('../../playground', import.meta.url))

/** `init` of one playground module, in the module's default mode unless `options.mode` says otherwise. */
export async function playgroundInit<E extends object>(file: string): Promise<Init<E>> {
  const path = join(playground, 'src/wasm', file)
  const plugin = new ResolvedOptions({ modules: PLUGIN_MODULES }, { root: playground, production: false })
  const { core, mode } = plugin.settingsFor(path, new URLSearchParams())
  const source = file.endsWith('.wat') ? readFileSync(path, 'utf8') : new Uint8Array(readFileSync(path))
  const f = await fixture(source, core)
  return (imports = {}, init = {}) => {
    const chosen = init.mode ?? mode
    return run<E>(
      f,
      chosen === 'auto' ? (hasJspi() ? 'jspi' : 'asyncify') : (chosen as Mode),
      imports as never,
      init,
    )
  }
}

const hasJspi = (): boolean => 'Suspending' in WebAssembly

/** fetch() against playground/public/, resolved like the page's relative URLs; 404 for a missing file. */
export async function publicFetch(url: string): Promise<Response> {
  try {
    return new Response(readFileSync(join(playground, 'public', url)))
  } catch {
    return new Response('not found', { status: 404 })
  }
}

// The playground's panels in Node: each wasm module of playground/src/wasm instrumented by the core with
// the settings vite.config.ts gives the plugin (WASM_MODULES), behind an `init` like the glue's default
// export, and a `fetch` that serves playground/public/ as the dev server would.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Mode } from '@unplugin-asyncify/runtime'
import type { Init } from '../../playground/src/panels/host.js'
import { WASM_MODULES } from '../../playground/src/wasm/modules.js'
import { fixture, run } from '../runtime/helpers.js'

export const playground = fileURLToPath(new URL('../../playground', import.meta.url))

/** `init` of one playground module, in the module's default mode unless `options.mode` says otherwise. */
export async function playgroundInit<E extends object>(file: string): Promise<Init<E>> {
  const settings = WASM_MODULES[file]
  if (settings === undefined) throw new Error(`${file} is not in WASM_MODULES`)
  const { mode = 'asyncify', ...options } = settings
  const path = join(playground, 'src/wasm', file)
  const source = file.endsWith('.wat') ? readFileSync(path, 'utf8') : new Uint8Array(readFileSync(path))
  const f = await fixture(source, options)
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

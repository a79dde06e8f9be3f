/**
 * webpack/Rspack loader for `x.wasm?asyncify-asset=<role>.<key>`: the bytes of one binary, from the
 * transform cache of the plugin instance that wrote the glue (passed as the loader's option).
 *
 * Self-contained (type imports only), so that a checkout can run it from `src` as well as from `dist`.
 */
import type { AsyncifyContext } from '../context.js'

interface LoaderThis {
  resourcePath: string
  resourceQuery: string
  getOptions(): { context: Pick<AsyncifyContext, 'assetRequest'> }
}

export const raw = true

export default function assetLoader(this: LoaderThis, _source: Uint8Array): Uint8Array {
  const bytes = this.getOptions().context.assetRequest(this.resourcePath, this.resourceQuery)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

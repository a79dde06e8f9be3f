/**
 * Loading a `WasmSource`: bytes stay bytes; a Response is compiled while it streams when the server
 * says `application/wasm` (bytes otherwise: `compileStreaming` refuses other MIME types); a URL is
 * fetched, except in Node, where a path or a `file:` URL is read from disk.
 */
import { AsyncifyError } from './errors.js'
import type { WasmSource } from './types.js'

export interface Loaded {
  module: WebAssembly.Module | null
  bytes: Uint8Array | null
}

interface ReadFile {
  readFile(path: string | URL): Promise<Uint8Array>
}

export async function load(src: WasmSource): Promise<Loaded> {
  if (src instanceof WebAssembly.Module) return { module: src, bytes: null }
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
    const v = ArrayBuffer.isView(src) ? src : new Uint8Array(src)
    return { module: null, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) }
  }
  if (typeof src === 'string' || src instanceof URL) {
    const fs = (
      globalThis as { process?: { getBuiltinModule?(id: string): unknown } }
    ).process?.getBuiltinModule?.('node:fs/promises') as ReadFile | undefined
    const url = String(src)
    if (fs !== undefined && !/^(https?|data|blob):/.test(url))
      return { module: null, bytes: await fs.readFile(url.startsWith('file:') ? new URL(url) : url) }
    src = fetch(src)
  }
  const response = await (src as PromiseLike<Response>)
  if (typeof response?.arrayBuffer !== 'function')
    throw new AsyncifyError('instantiate: the source is no bytes, Module, Response or URL')
  if (!response.ok) throw new AsyncifyError(`fetching ${response.url}: HTTP ${response.status}`)
  if (response.headers.get('content-type')?.startsWith('application/wasm'))
    return { module: await WebAssembly.compileStreaming(response), bytes: null }
  return { module: null, bytes: new Uint8Array(await response.arrayBuffer()) }
}

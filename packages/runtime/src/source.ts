/**
 * Loading a `WasmSource`: bytes stay bytes; a Response is compiled while it streams when the server
 * says `application/wasm` (bytes otherwise: `compileStreaming` refuses other MIME types); a URL is
 * fetched, except in Node, where a path or a `file:` URL is read from disk.
 */
import { AsyncifyError } from './errors.js'
import type { WasmSource } from './types.js'

export const isBytes = (s: unknown): s is BufferSource => s instanceof ArrayBuffer || ArrayBuffer.isView(s)

/** The bytes of a BufferSource, as a Uint8Array over the same memory. */
export const bytesOf = (s: BufferSource): Uint8Array =>
  ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s)

interface NodeProcess {
  getBuiltinModule?(id: string): { readFile(path: string | URL): Promise<Uint8Array> } | undefined
}

/** The compiled module (streamed, or given), else the bytes. */
export async function load(src: WasmSource): Promise<[WebAssembly.Module | null, Uint8Array | null]> {
  if (src instanceof WebAssembly.Module) return [src, null]
  if (isBytes(src)) return [null, bytesOf(src)]
  if (typeof src === 'string' || src instanceof URL) {
    const fs = (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.('node:fs/promises')
    const url = String(src)
    if (fs && !/^(https?|data|blob):/.test(url))
      return [null, await fs.readFile(url.startsWith('file:') ? new URL(url) : url)]
    src = fetch(src)
  }
  const r = await (src as PromiseLike<Response>)
  if (typeof r?.arrayBuffer !== 'function')
    throw new AsyncifyError('instantiate: the source is no bytes, Module, Response or URL')
  if (!r.ok) throw new AsyncifyError(`fetching ${r.url}: HTTP ${r.status}`)
  return r.headers.get('content-type')?.startsWith('application/wasm')
    ? [await WebAssembly.compileStreaming(r), null]
    : [null, new Uint8Array(await r.arrayBuffer())]
}

/** Whether a binary has a start section (id 8): a walk over the section headers. */
export function hasStart(b: Uint8Array): boolean {
  for (let p = 8; p < b.length; ) {
    const id = b[p++]
    let [size, scale, x] = [0, 1, 128]
    while (x & 128) {
      x = b[p++] as number
      size += (x & 127) * scale
      scale *= 128
    }
    if (id === 8) return true
    p += size
  }
  return false
}

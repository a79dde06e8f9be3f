/**
 * The transform, in a worker thread: the rewrite is synchronous CPU work (seconds for large modules), so
 * running it here keeps the bundler's thread free to serve other requests and to report progress.
 *
 * This file imports only packages, never sibling files, so that a checkout can run it from `src` under
 * Node's type stripping as well as from `dist`.
 */
import { parentPort } from 'node:worker_threads'
import type { AsyncifyOptions, AsyncifyReport } from '@unplugin-asyncify/core'
import { asyncify, watToWasm } from '@unplugin-asyncify/core'

export interface TransformJob {
  id: number
  file: string
  input: Uint8Array
  /** The input is WebAssembly text. */
  text: boolean
  options: AsyncifyOptions
}

export type TransformReply =
  | { id: number; ok: true; binary: Uint8Array; compiled: Uint8Array | null; report: AsyncifyReport }
  | { id: number; ok: false; name: string; message: string; option: string | null }

async function run(job: TransformJob): Promise<TransformReply> {
  try {
    const compiled = job.text ? await watToWasm(new TextDecoder().decode(job.input), job.file) : null
    const { binary, report } = await asyncify(compiled ?? job.input, job.options)
    return { id: job.id, ok: true, binary, compiled, report }
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e))
    const option = (error as { option?: unknown }).option
    return {
      id: job.id,
      ok: false,
      name: error.name,
      message: error.message,
      option: typeof option === 'string' ? option : null,
    }
  }
}

parentPort?.on('message', (job: TransformJob) => {
  void run(job).then(reply => {
    const transfer = reply.ok ? [reply.binary.buffer, ...(reply.compiled ? [reply.compiled.buffer] : [])] : []
    parentPort?.postMessage(reply, transfer as ArrayBuffer[])
  })
})

/**
 * Runs transforms in one worker thread per process, shared by every plugin instance (started on first use, stopped when idle so it never keeps a
 * process alive), one job at a time in arrival order; logs progress for transforms that take long.
 * A worker that dies fails its jobs with a message naming the file; the next job starts a new one.
 */
import { Worker } from 'node:worker_threads'
import type { AsyncifyOptions, AsyncifyReport } from '@unplugin-asyncify/core'
import type { TransformJob, TransformReply } from './transform-worker.js'

export interface TransformOutput {
  binary: Uint8Array
  compiled: Uint8Array | null
  report: AsyncifyReport
}

/**
 * A transform failed: the input or the options are at fault (the message says which). `id` and `plugin`
 * are the fields bundlers show beside the message (Vite's error overlay, Rollup's and webpack's logs).
 */
export class TransformError extends Error {
  readonly id: string
  readonly plugin = 'unplugin-asyncify'
  constructor(
    readonly file: string,
    message: string,
    readonly option: string | null = null,
  ) {
    super(message)
    this.name = 'AsyncifyError'
    this.id = file
  }
}

interface Pending {
  job: TransformJob
  resolve: (out: TransformOutput) => void
  reject: (e: Error) => void
}

/** Seconds between "still transforming" lines. */
const PROGRESS_EVERY = 5

// From `src` (a checkout under Node's type stripping) the worker is the .ts file, from `dist` the .js one.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './transform-worker.ts' : './transform-worker.js',
  import.meta.url,
)

/**
 * The parent's flags minus its export conditions: a host that resolves packages to their sources (a test
 * runner with a `source` condition) must not make the worker load the core's TypeScript.
 */
function workerExecArgv(): string[] {
  const out: string[] = []
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--conditions' || a === '-C') i++
    else if (!a.startsWith('--conditions=')) out.push(a)
  }
  return out
}

export class Transformer {
  private worker: Worker | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 0

  /** `progress` hears a line every `everyMs` (default 5 s) while this job runs. */
  run(
    file: string,
    input: Uint8Array,
    text: boolean,
    options: AsyncifyOptions,
    progress: (line: string) => void,
    everyMs = PROGRESS_EVERY * 1000,
  ): Promise<TransformOutput> {
    const job: TransformJob = { id: this.nextId++, file, input, text, options }
    const started = performance.now()
    const timer = setInterval(() => {
      progress(`${file}: still transforming (${((performance.now() - started) / 1000).toFixed(1)} s)`)
    }, everyMs)
    timer.unref()
    return new Promise<TransformOutput>((resolve, reject) => {
      this.pending.set(job.id, { job, resolve, reject })
      const worker = this.ensureWorker()
      worker.ref()
      worker.postMessage(job)
    }).finally(() => clearInterval(timer))
  }

  /** Stops the worker; pending jobs fail. */
  async close(): Promise<void> {
    const w = this.worker
    this.worker = null
    if (w !== null) await w.terminate()
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker
    const worker = new Worker(WORKER_URL, { execArgv: workerExecArgv() })
    worker.on('message', (reply: TransformReply) => this.settle(reply))
    worker.on('error', (e: Error) => this.failAll(worker, e))
    worker.on('exit', code =>
      this.failAll(worker, new Error(`the transform worker exited with code ${code}`)),
    )
    this.worker = worker
    return worker
  }

  private settle(reply: TransformReply): void {
    const p = this.pending.get(reply.id)
    if (p === undefined) return
    this.pending.delete(reply.id)
    if (this.pending.size === 0) this.worker?.unref()
    if (reply.ok) p.resolve({ binary: reply.binary, compiled: reply.compiled, report: reply.report })
    else p.reject(new TransformError(p.job.file, reply.message, reply.option))
  }

  private failAll(worker: Worker, e: Error): void {
    if (this.worker === worker) this.worker = null
    for (const [id, p] of this.pending) {
      this.pending.delete(id)
      p.reject(new TransformError(p.job.file, `transform crashed: ${e.message}`))
    }
  }
}

/** The process's transformer: Vite alone may create several plugin instances (client, SSR, workers). */
export const transformer = new Transformer()

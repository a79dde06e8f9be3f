/**
 * JSPI mode: the original module, with `WebAssembly.Suspending` on the imports that may suspend and
 * `WebAssembly.promising` on the exports that may (and on every other entry: the moved start function,
 * fiber entries), behind the same API as asyncify mode.
 *
 * JSPI switches wasm stacks, not the C shadow stack in linear memory, so concurrent calls need the care
 * they need in asyncify mode: each task (`JTask`) runs on a C stack of its own, and the stack pointer
 * must hold the task's value whenever its wasm runs. JSPI resumes a stack in a job of its own once the
 * promise it waits on settles, and other jobs may run in between, so the runtime decides when a stack
 * resumes: a suspending import always returns a promise of the runtime's (`park`); when the import's own
 * result settles, the task goes on the `ready` list; one task at a time is *armed* — the stack pointer
 * set to its value, its promise resolved — and the next only once the armed one has run (parked again,
 * or its call settled). Arming happens in a job of its own, never while wasm is running.
 *
 * Emscripten fibers and JS fibers (`fibers-jspi.ts`) are tasks too: each is a promising call of its
 * own; a switch parks the current task and puts the other on the ready list.
 */
import { BaseTask, Driver, isMemory, isMemory64 } from './driver.js'
import { AsyncifyError } from './errors.js'
import type { Fn } from './memory.js'

/** JS promise integration, which TypeScript's lib does not declare yet. */
export interface JspiApi {
  Suspending: new (fn: Fn) => object
  promising(fn: Fn): Fn
}
export const jspiApi = (): JspiApi => WebAssembly as unknown as JspiApi

/** Settles a promise: with `v`, or rejecting with it. */
type Settle = (v: unknown, failed: boolean) => void

const noop = (): void => {}

export class JTask extends BaseTask {
  parked = false
  /** Not started yet: arming starts it instead of settling `resume`. */
  fresh = false
  /** Settles the promise the parked stack waits on. */
  resume: Settle = noop
  /** The call or JS fiber this task works for: itself, or, for an emscripten fiber, whoever switched to it. */
  owner: JTask = this
  /** Settles the owner's promise: a call's result, a JS fiber's resume. */
  settle: Settle = noop
}

export class JspiDriver extends Driver {
  /** The task whose wasm is running (or armed to run next). */
  running: JTask | null = null
  #armed: JTask | null = null
  #ready: JTask[] = []
  /** > 0 while JS runs inside wasm the runtime sees (a first run, a suspending import): calls then are nested. */
  #depth = 0
  readonly #drain = (): void => this.#drainNow()

  setup(ex: WebAssembly.Exports): WebAssembly.Memory {
    const main = (ex.memory ?? Object.values(ex).find(isMemory)) as WebAssembly.Memory
    this.provide(ex, main, null, false, !!main && isMemory64(main))
    return main
  }

  /** A suspending import: the calling task parks until the import's result settles. */
  wrapImport(fn: Fn): object {
    const self = this
    return new (jspiApi().Suspending)(function (this: unknown, ...args: unknown[]) {
      const t = self.running
      self.#depth++
      let r: unknown
      try {
        r = fn.apply(this, args)
      } finally {
        self.#depth--
      }
      if (!t) return r
      const p = self.park(t)
      Promise.resolve(r).then(
        v => self.wake(t, v, false, true),
        e => self.wake(t, e, true, true),
      )
      return p
    })
  }

  wrapExport(name: string, fn: Fn): Fn {
    const p = jspiApi().promising(fn)
    const label = `export "${name}"`
    return (...args: unknown[]) =>
      this.call(
        this.#depth > 0,
        slot =>
          new Promise((res, rej) => {
            const t = new JTask(p, args, label, slot)
            t.settle = (v, failed) => {
              this.end(slot)
              ;(failed ? rej : res)(v)
            }
            this.start(t)
          }),
      )
  }

  /**
   * Parks the running task `t` from inside its import, just before JSPI suspends it: saves its stack
   * pointer and puts back the caller's. The promise (for JSPI to wait on) settles when `t` is armed.
   */
  park(t: JTask): Promise<unknown> {
    t.parked = true
    this.leaveSp(t)
    this.running = null
    if (this.#armed === t) {
      this.#armed = null
      if (this.#ready.length) queueMicrotask(this.#drain)
    }
    return new Promise((res, rej) => {
      t.resume = (v, failed) => (failed ? rej : res)(v)
    })
  }

  /**
   * Puts `t` on the ready list with the value (or rejection) its suspending import returns. `clean`: the
   * caller runs in a job of its own (a promise reaction), so `t` may be armed at once.
   */
  wake(t: JTask, v: unknown, failed: boolean, clean = false): void {
    t.value = v
    t.failed = failed
    this.#ready.push(t)
    if (clean) this.#drainNow()
    else queueMicrotask(this.#drain)
  }

  #drainNow(): void {
    while (!this.#armed) {
      const t = this.#ready.shift()
      if (!t) return
      t.parked = false
      if (t.fresh) {
        t.fresh = false
        this.start(t)
        continue
      }
      this.#armed = t
      this.enterSp(t)
      this.running = t
      const v = t.value
      t.value = undefined
      t.resume(v, t.failed)
    }
  }

  /** Runs a task's first call, synchronously until it parks or ends. */
  start(t: JTask): void {
    const prev = this.running
    this.enterSp(t)
    this.running = t
    this.#depth++
    let p: Promise<unknown>
    try {
      p = t.fn.apply(undefined, t.args) as Promise<unknown>
    } finally {
      this.#depth--
      this.running = prev
      if (!t.parked) this.leaveSp(t)
    }
    p.then(
      v => this.#end(t, v, false),
      e => this.#end(t, e, true),
    )
  }

  #end(t: JTask, v: unknown, failed: boolean): void {
    if (this.#armed === t) {
      this.leaveSp(t)
      this.#armed = null
      this.running = null
    }
    if (t.owner === t) t.settle(v, failed)
    else
      t.owner.settle(
        failed ? v : new AsyncifyError(`${t.name}: an emscripten fiber's entry function returned`),
        true,
      )
    this.#drainNow()
  }
}

/**
 * Asyncify mode: drives a binary instrumented by `wasm-asyncify` (binaryen's ABI, see `abi.ts`).
 *
 * Each call of an export that may suspend is a `Task` with its own slot (asyncify buffer and C stack,
 * `memory.ts`). A suspending import that returns a promise starts an unwind into the task's buffer and
 * returns a stand-in of its result type; the export returns; the task awaits the promise, starts a
 * rewind and calls the same export again with the same arguments. The rewind re-enters the import,
 * which now stops the rewind and returns the settled value — or throws the rejection, so that wasm sees
 * the same JS value at the call site (`catch_all`, a `JSTag` catch) as it would a synchronous throw.
 *
 * The task whose wasm is running is `current`, kept by `enter` around every call into wasm, so an import
 * knows whose stack it is on. A call of a wrapped export made from inside an import (reentrancy) is a
 * task of its own: if it suspends, its promise goes back to the import, which may then suspend the outer
 * task too. A raw export called from an import belongs to the task it runs in: if it suspends, the whole
 * stack unwinds through the import, and the rewind calls that import again (binaryen's ABI). So the
 * rewind may meet imports that are JS frames to run again before it reaches the one that suspended: a
 * task counts the import frames it is in (`depth`), and the import met at the depth of the one that
 * suspended (`at`) is that one — even when the same import is both (it called a raw export that reached
 * it again).
 *
 * C stacks: an unwind skips the epilogues that restore the stack pointer, so a suspended task's frames
 * stay in linear memory below the pointer. A task with a stack of its own enters with its pointer and
 * gives the caller's back on the way out; without per-task stacks, calls are queued (`Driver.call`).
 *
 * Fibers (`fibers-asyncify.ts`) reuse the loop: their imports unwind with a step as `next` instead of a
 * promise, and the step either readies the next bottom function to call (a swap) or pauses (a yield).
 */
import { API_NAMES, type ControlFunctions, DATA_HEADER, EXPORTS, STATE } from './abi.js'
import { BaseTask, Driver, isMemory, isMemory64, memoryOf } from './driver.js'
import { AsyncifyError, BufferOverflowError, noExport } from './errors.js'
import { type Fn, type MemoryView, pointer, word } from './memory.js'
import { NO_STAND_IN } from './plan.js'

/** What an unwind waits for: an async import's promise, or a fiber import's step (false: pause the task). */
type Next = PromiseLike<unknown> | ((t: Task) => boolean)

export class Task extends BaseTask {
  /** Data pointer of the last unwind (the task's buffer, or an emscripten fiber's). */
  data = 0
  /** The option that raises this task's buffer size. */
  option = 'options.asyncifyStackSize'
  /** How an overflow of the buffer of the last unwind is reported, when that is not the task's own. */
  overflow: Overflow | null = null
  unwound = false
  rewinding = false
  /** Import frames of this task on the stack now; `at`: how many were below the one that suspended. */
  depth = 0
  at = 0
  /** The import that suspended (checked when the rewind re-enters an import). */
  from: unknown = null
  next: Next | null = null
}

/** Owner, size and option for a `BufferOverflowError`. */
export type Overflow = [string, number, string]

/** What `drive` returns when a fiber yielded instead of returning. */
export const PAUSED: unique symbol = Symbol()

const ignore = (): void => {}

export class AsyncifyDriver extends Driver {
  current: Task | null = null
  wide = false
  /** The data memory. */
  heap!: MemoryView
  #ctl!: ControlFunctions
  #release: unknown

  setup(ex: WebAssembly.Exports): WebAssembly.Memory {
    const ctl: Record<string, unknown> = {}
    for (const n of API_NAMES) {
      ctl[n] = ex[EXPORTS[n]]
      if (typeof ctl[n] !== 'function') throw noExport(EXPORTS[n], 'asyncify mode: ')
    }
    const meta = this.plan.meta
    const data = memoryOf(ex, meta?.memory ?? this.options.memory)
    const mems = Object.values(ex).filter(isMemory)
    const secondary = meta?.secondaryMemory ?? (ex[EXPORTS.memory] === data && mems.length > 1)
    const main = secondary ? (mems.find(m => m !== data) ?? data) : data
    this.wide = (meta?.pointer ?? (isMemory64(data) ? 'i64' : 'i32')) === 'i64'
    this.provide(ex, main, data, secondary, this.wide)
    this.#ctl = ctl as unknown as ControlFunctions
    this.heap = { memory: data }
    this.#release = ex[EXPORTS.releaseRefs]
    return main
  }

  ptr(n: number): number | bigint {
    return pointer(n, this.wide)
  }

  /** Frees the reference slots of the stack saved at `data` (`asyncify_release_refs`, when exported). */
  releaseRefs(data: number): void {
    if (typeof this.#release === 'function') this.#release(this.ptr(data))
  }

  /** Reads or writes field `current`/`end` of the data header at `data`. */
  field(data: number, f: 'current' | 'end', v?: number): number {
    return word(this.heap, data + DATA_HEADER[this.wide ? 'i64' : 'i32'][f], v, this.wide)
  }

  /**
   * Unwinds `t` into its own buffer (header reset), or into `data` (an emscripten fiber's), whose overflow
   * is then reported as `overflow` names it.
   */
  unwind(t: Task, from: unknown, next: Next, data = t.slot.data, overflow: Overflow | null = null): void {
    if (!overflow) {
      this.field(data, 'current', data + this.slots.header)
      this.field(data, 'end', data + this.slots.header + t.slot.size)
    }
    t.overflow = overflow
    t.data = data
    t.from = from
    t.next = next
    t.at = t.depth
    t.unwound = true
    this.#ctl.start_unwind(this.ptr(data))
  }

  rewind(t: Task, data = t.data): void {
    t.data = data
    t.rewinding = true
    this.#ctl.start_rewind(this.ptr(data))
  }

  /** Whether an import entered now is the one `t` suspended in, which the rewind is reaching. */
  resuming(t: Task | null): boolean {
    return t?.rewinding === true && t.depth === t.at
  }

  /** Called by the import that suspended when the rewind reaches it: its value, or its rejection thrown. */
  handBack(t: Task, from: unknown): unknown {
    t.rewinding = false
    this.#ctl.stop_rewind()
    if (t.from !== from)
      throw new AsyncifyError(`${t.name}: rewound into another import than the one that suspended`)
    const v = t.value
    t.value = undefined
    if (t.failed) throw v
    return v
  }

  /** A suspending import: a promise it returns suspends the task that called it. */
  wrapImport(fn: Fn, label: string, module: string, name: string): Fn {
    const stand = this.plan.standIn(module, name)
    const self = this
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const t = self.current
      if (self.resuming(t)) return self.handBack(t as Task, wrapped)
      let r: unknown
      if (t) t.depth++
      try {
        r = fn.apply(this, args)
      } finally {
        if (t) t.depth--
      }
      if (typeof (r as PromiseLike<unknown> | null)?.then !== 'function') return r
      const fail = (why: string): never => {
        throw new AsyncifyError(`import ${label} returned a promise ${why}`)
      }
      if (!t) fail('outside a call that may suspend')
      if (stand === NO_STAND_IN) fail('but cannot suspend: no JS value converts to its result type')
      // A raw export it called suspended: the stack is unwinding already, and the rewind will run this
      // import again, so this promise (of a run that saw stand-ins) goes unused.
      if (t?.unwound) (r as PromiseLike<unknown>).then(ignore, ignore)
      // Run again by the rewind, it returned before calling back into the module, where the rewind waits.
      else if (t?.rewinding) fail('before calling again the raw export the rewind waits in')
      else self.unwind(t as Task, wrapped, r as PromiseLike<unknown>)
      return stand
    }
    return wrapped
  }

  /** An export that may suspend: every call is a task and returns a promise. */
  wrapExport(name: string, fn: Fn): Fn {
    const label = `export "${name}"`
    return (...args: unknown[]) =>
      this.call(this.current !== null, slot => {
        const p = this.drive(new Task(fn, args, label, slot))
        const end = (): void => this.end(slot)
        p.then(end, end)
        return p
      })
  }

  /** Runs `t` (its first call, or a rewind already started) until it returns or pauses. */
  async drive(t: Task): Promise<unknown> {
    let r = this.enter(t)
    while (t.unwound) {
      this.#stopUnwind(t)
      const next = t.next as Next
      t.next = null
      if (typeof next === 'function') {
        if (!next(t)) return PAUSED
      } else {
        try {
          t.value = await next
          t.failed = false
        } catch (e) {
          t.value = e
          t.failed = true
        }
        this.rewind(t)
      }
      r = this.enter(t)
    }
    return r
  }

  /**
   * One call into wasm for `t`, keeping `current`; repairs the state if it throws. A task with a C stack
   * of its own enters with its stack pointer and puts the caller's back on the way out; one without
   * (queued) leaves the pointer below its frames while it is suspended, so nothing overwrites them.
   */
  enter(t: Task): unknown {
    const prev = this.current
    this.enterSp(t)
    this.current = t
    try {
      const r = t.fn.apply(undefined, t.args)
      if (t.rewinding)
        throw new AsyncifyError(
          `${t.name} returned while rewinding: the rewind missed the import that suspended`,
        )
      return r
    } catch (e) {
      this.#recover(t)
      throw e
    } finally {
      this.current = prev
      this.leaveSp(t)
    }
  }

  #stopUnwind(t: Task): void {
    t.unwound = false
    try {
      this.#ctl.stop_unwind()
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e
      this.#recover(t)
      throw new BufferOverflowError(...(t.overflow ?? [t.name, t.slot.size, t.option]))
    }
  }

  /** Back to the normal state after a trap or throw mid-unwind or mid-rewind; frees the reference slots it held. */
  #recover(t: Task): void {
    t.unwound = t.rewinding = false
    t.next = null
    const state = this.#ctl.get_state()
    if (state === STATE.unwinding) {
      // An overflow (current > end) traps stop_unwind: call the buffer full instead.
      this.field(t.data, 'current', this.field(t.data, 'end'))
      this.#ctl.stop_unwind()
    } else if (state === STATE.rewinding) this.#ctl.stop_rewind()
    if (state !== STATE.normal) this.releaseRefs(t.data)
  }
}

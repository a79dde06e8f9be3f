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
 * stack unwinds through the import, and the rewind calls that import again (binaryen's ABI).
 *
 * C stacks: an unwind skips the epilogues that restore the stack pointer, so a suspended task's frames
 * stay in linear memory below the pointer. A task with a stack of its own enters with its pointer and
 * gives the caller's back on the way out; without per-task stacks, calls are queued (`Gate`).
 *
 * Fibers (`fibers-asyncify.ts`) reuse the loop: their imports unwind with `task.after` set instead of a
 * promise, and `after` either prepares the next bottom function to call (a swap) or pauses (a yield).
 */
import { API_NAMES, type ControlFunctions, DATA_HEADER, EXPORTS, STATE } from './abi.js'
import { Driver, isMemory64 } from './driver.js'
import { AsyncifyError, BufferOverflowError } from './errors.js'
import type { Fn, Slot } from './memory.js'
import { NO_STAND_IN, standIn } from './plan.js'

export class Task {
  /** Data pointer of the last unwind (the task's buffer, or an emscripten fiber's). */
  data = 0
  /** How an overflow of the buffer of the last unwind is reported, when that is not the task's own. */
  overflow: Overflow | null = null
  sp: number
  unwound = false
  rewinding = false
  /** The import that suspended (checked when the rewind re-enters an import). */
  from: unknown = null
  pending: PromiseLike<unknown> | null = null
  value: unknown = undefined
  failed = false
  /** Set by a fiber import that unwound: runs once the unwind is over; false pauses the task. */
  after: ((t: Task) => boolean) | null = null
  /** The JS fiber this task runs, if any (`fibers.current`). */
  fiber: unknown = null
  constructor(
    /** The function at the bottom of the running context, called again to rewind it. */
    public fn: Fn,
    public args: unknown[],
    /** For messages: `export "main"`, `fiber 3`. */
    readonly name: string,
    readonly slot: Slot,
    /** The option that raises this task's buffer size. */
    readonly option: string,
  ) {
    this.sp = slot.top
  }
}

/** Owner, size and option for a `BufferOverflowError`. */
export type Overflow = [string, number, string]

/** What `drive` returns when a fiber yielded instead of returning. */
export const PAUSED: unique symbol = Symbol('paused')

export class AsyncifyDriver extends Driver {
  current: Task | null = null
  wide = false
  releaseRefs: Fn | null = null
  #ctl!: ControlFunctions
  #memory!: WebAssembly.Memory
  #u32 = new Uint32Array(0)
  #u64 = new BigUint64Array(0)

  setup(ex: WebAssembly.Exports): WebAssembly.Memory {
    const ctl: Record<string, unknown> = {}
    for (const n of API_NAMES) {
      ctl[n] = ex[EXPORTS[n]]
      if (typeof ctl[n] !== 'function')
        throw new AsyncifyError(`asyncify mode: the module does not export ${EXPORTS[n]}`)
    }
    const [data, main, secondary] = this.memories(ex)
    this.wide = (this.plan.meta?.pointer ?? (isMemory64(data) ? 'i64' : 'i32')) === 'i64'
    this.provide(ex, main, data, secondary, this.wide)
    this.#ctl = ctl as unknown as ControlFunctions
    this.#memory = data
    const release = ex[EXPORTS.releaseRefs]
    this.releaseRefs = typeof release === 'function' ? (release as Fn) : null
    return main
  }

  ptr(n: number): number | bigint {
    return this.wide ? BigInt(n) : n
  }

  /** Reads or writes field `current`/`end` of the data header at `data`. */
  field(data: number, f: 'current' | 'end', v?: number): number {
    const buffer = this.#memory.buffer
    if (this.#u32.buffer !== buffer)
      [this.#u32, this.#u64] = [new Uint32Array(buffer), new BigUint64Array(buffer)]
    const at = data + DATA_HEADER[this.wide ? 'i64' : 'i32'][f]
    if (this.wide) {
      if (v !== undefined) this.#u64[at / 8] = BigInt(v)
      return Number(this.#u64[at / 8])
    }
    if (v !== undefined) this.#u32[at >> 2] = v
    return this.#u32[at >> 2] as number
  }

  /**
   * Unwinds `t` into its own buffer (header reset), or into `data` (an emscripten fiber's), whose overflow
   * is then reported as `overflow` names it.
   */
  unwind(t: Task, from: unknown, data = t.slot.data, overflow: Overflow | null = null): void {
    if (overflow === null) {
      this.field(data, 'current', data + this.slots.header)
      this.field(data, 'end', data + this.slots.header + t.slot.size)
    }
    t.overflow = overflow
    t.data = data
    t.from = from
    t.unwound = true
    this.#ctl.start_unwind(this.ptr(data))
  }

  rewind(t: Task, data = t.data): void {
    t.data = data
    t.rewinding = true
    this.#ctl.start_rewind(this.ptr(data))
  }

  /** Called by the import that suspended when the rewind re-enters it: its value, or its rejection thrown. */
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
  wrapImport(fn: Fn, module: string, name: string, label: string): Fn {
    const stand = standIn(this.plan.results(module, name))
    const self = this
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const t = self.current
      if (t?.rewinding && t.from === wrapped) return self.handBack(t, wrapped)
      const r = fn.apply(this, args)
      if (typeof (r as PromiseLike<unknown> | null)?.then !== 'function') return r
      // Another import met while rewinding is a JS frame between two wasm frames of the task (it called a
      // raw export, which suspended): the rewind runs it again, and it calls back into the same export.
      if (t?.rewinding) throw new AsyncifyError(`import ${label} returned a promise while rewinding`)
      if (t === null)
        throw new AsyncifyError(`import ${label} returned a promise outside a call that may suspend`)
      if (stand === NO_STAND_IN)
        throw new AsyncifyError(`import ${label} cannot suspend: no JS value converts to its result type`)
      t.pending = r as PromiseLike<unknown>
      self.unwind(t, wrapped)
      return stand
    }
    return wrapped
  }

  /** An export that may suspend: every call is a task and returns a promise. */
  wrapExport(name: string, fn: Fn): Fn {
    const label = `export "${name}"`
    return (...args: unknown[]) => this.#call(fn, args, label)
  }

  async #call(fn: Fn, args: unknown[], name: string): Promise<unknown> {
    const wait = this.gate.enter(this.current !== null)
    if (wait !== null) await wait
    let t: Task | null = null
    try {
      t = new Task(fn, args, name, this.slots.acquire(), 'options.asyncifyStackSize')
      return await this.drive(t)
    } finally {
      if (t !== null) this.slots.release(t.slot)
      this.gate.leave()
    }
  }

  /** Runs `t` (its first call, or a rewind already started) until it returns or pauses. */
  async drive(t: Task): Promise<unknown> {
    let r = this.enter(t)
    while (t.unwound) {
      this.#stopUnwind(t)
      const p = t.pending
      if (p !== null) {
        t.pending = null
        try {
          t.value = await p
          t.failed = false
        } catch (e) {
          t.value = e
          t.failed = true
        }
        this.rewind(t)
      } else {
        const after = t.after as (t: Task) => boolean
        t.after = null
        if (!after(t)) return PAUSED
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
    const sp = t.slot.top !== 0 ? this.sp : null
    const outer = sp?.get() ?? 0
    sp?.set(t.sp)
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
      if (sp !== null) {
        t.sp = sp.get()
        sp.set(outer)
      }
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
    t.pending = null
    t.after = null
    const state = this.#ctl.get_state()
    if (state === STATE.unwinding) {
      // An overflow (current > end) traps stop_unwind: call the buffer full instead.
      this.field(t.data, 'current', this.field(t.data, 'end'))
      this.#ctl.stop_unwind()
    } else if (state === STATE.rewinding) this.#ctl.stop_rewind()
    if (state !== STATE.normal) this.releaseRefs?.(this.ptr(t.data))
  }
}

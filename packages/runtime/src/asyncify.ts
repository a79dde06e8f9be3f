/**
 * Asyncify mode: drives a binary instrumented by `wasm-asyncify` (binaryen's ABI, `abi.ts`).
 *
 * Each call of an export that may suspend is a `Task` with its own slot (asyncify buffer and C stack,
 * `memory.ts`). A suspending import that returns a promise starts an unwind into the task's buffer and
 * returns a stand-in of its result type; the export returns; the task awaits the promise, starts a
 * rewind and calls the same export again with the same arguments. The rewind re-enters the import,
 * which now stops the rewind and returns the settled value — or throws the rejection, so that wasm sees
 * the same JS value at the call site (`catch_all`, a `JSTag` catch) as with a synchronous throw.
 *
 * The task that is running is `engine.current`, kept by `enter` around every call into wasm, so an
 * import knows whose stack it is on. A call made from inside an import (reentrancy) is a task of its
 * own: if it suspends, its promise goes back to the import, which may suspend the outer task in turn.
 *
 * C stacks: an unwind skips the epilogues that restore the stack pointer, so a suspended task's frames
 * stay in linear memory below the pointer. `enter` therefore sets the pointer to the task's own region
 * on every entry and resume, saves it on the way out and puts the caller's value back. With no stack
 * pointer known (or no memory for stacks), tasks are queued: one runs at a time, in call order.
 *
 * Fibers (`fibers-asyncify.ts`) reuse the loop: their imports unwind with `task.after` set instead of a
 * promise, and `after` either prepares the next bottom function to call (a swap) or pauses (a yield).
 */
import { DATA_HEADER, EXPORTS, STATE } from './abi.js'
import { AsyncifyError, BufferOverflowError } from './errors.js'
import type { Gate, Slot, Slots, StackPointer } from './memory.js'

export type Fn = (...args: unknown[]) => unknown

/** A stand-in that no JS value converts to (a non-nullable function or GC reference). */
export const NO_STAND_IN: unique symbol = Symbol('no stand-in')

export interface Control {
  start_unwind(data: number | bigint): void
  stop_unwind(): void
  start_rewind(data: number | bigint): void
  stop_rewind(): void
  get_state(): number
}

export class Task {
  data = 0
  sp: number
  unwound = false
  rewinding = false
  /** The import that suspended (checked when the rewind re-enters an import). */
  from: unknown = null
  pending: PromiseLike<unknown> | null = null
  value: unknown = undefined
  failed = false
  /** Set by a fiber import that unwound: run once the unwind is over; false pauses the task. */
  after: ((t: Task) => boolean) | null = null
  /** The JS fiber this task runs, if any (fibers.current). */
  fiber: unknown = null
  /** Whether the running context is the task's own (not an emscripten fiber it switched to). */
  main = true
  constructor(
    /** The function at the bottom of the running context, called again to rewind it. */
    public fn: Fn,
    public args: unknown[],
    /** For messages: `export "main"`, `fiber 3`. */
    public name: string,
    readonly slot: Slot,
    /** The option that raises this task's buffer size. */
    readonly option: string,
  ) {
    this.sp = slot.top
  }
}

/** The task paused (a fiber yielded) instead of returning. */
export const PAUSED: unique symbol = Symbol('paused')

export class Asyncify {
  current: Task | null = null
  // Set by attach, once the instance exists (the imports are wrapped before).
  ctl!: Control
  memory!: WebAssembly.Memory
  wide = false
  slots!: Slots
  /** The C stack pointer, when known. */
  sp: StackPointer | null = null
  gate!: Gate
  releaseRefs: Fn | null = null
  private view!: DataView

  attach(
    ctl: Control,
    memory: WebAssembly.Memory,
    wide: boolean,
    slots: Slots,
    sp: StackPointer | null,
    gate: Gate,
    releaseRefs: Fn | null,
  ): void {
    Object.assign(this, {
      ctl,
      memory,
      wide,
      slots,
      sp,
      gate,
      releaseRefs,
      view: new DataView(memory.buffer),
    })
  }

  ptr(n: number): number | bigint {
    return this.wide ? BigInt(n) : n
  }

  dv(): DataView {
    if (this.view.buffer !== this.memory.buffer) this.view = new DataView(this.memory.buffer)
    return this.view
  }

  /** Writes the `{ current, end }` header of an empty buffer of `size` bytes at `data`. */
  private header(data: number, size: number): void {
    const h = DATA_HEADER[this.wide ? 'i64' : 'i32']
    const v = this.dv()
    const first = data + h.size
    if (this.wide) {
      v.setBigUint64(data + h.current, BigInt(first), true)
      v.setBigUint64(data + h.end, BigInt(first + size), true)
    } else {
      v.setUint32(data + h.current, first, true)
      v.setUint32(data + h.end, first + size, true)
    }
  }

  /** Unwinds `t` into `data` (its own buffer unless a fiber switch names a C-owned one). */
  unwind(t: Task, from: unknown, data = t.slot.data): void {
    if (data === t.slot.data) this.header(data, t.slot.size)
    t.data = data
    t.from = from
    t.unwound = true
    this.ctl.start_unwind(this.ptr(data))
  }

  rewind(t: Task, data = t.data): void {
    t.data = data
    t.rewinding = true
    this.ctl.start_rewind(this.ptr(data))
  }

  /** Called by the import that suspended when the rewind re-enters it: its value, or its rejection thrown. */
  handBack(t: Task, from: unknown): unknown {
    t.rewinding = false
    this.ctl.stop_rewind()
    if (t.from !== from)
      throw new AsyncifyError(`${t.name}: the rewind reached another import than the one that suspended`)
    const v = t.value
    t.value = undefined
    if (t.failed) throw v
    return v
  }

  /** A suspending import: a promise it returns suspends the task that called it. */
  wrapImport(fn: Fn, stand: unknown, label: string): Fn {
    const self = this
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const t = self.current
      if (t?.rewinding) return self.handBack(t, wrapped)
      const r = fn.apply(this, args)
      if (typeof (r as PromiseLike<unknown> | null)?.then !== 'function') return r
      if (t === null)
        throw new AsyncifyError(
          `import ${label} returned a promise outside a call that may suspend (raw export, or the start function of a compiled Module)`,
        )
      if (stand === NO_STAND_IN)
        throw new AsyncifyError(
          `import ${label} returns a type no JS value converts to, so it cannot suspend`,
        )
      t.pending = r as PromiseLike<unknown>
      self.unwind(t, wrapped)
      return stand
    }
    return wrapped
  }

  /** An export that may suspend: every call is a task and returns a promise. */
  wrapExport(name: string, fn: Fn, option: string): Fn {
    const label = `export "${name}"`
    return (...args: unknown[]) => this.call(fn, args, label, option)
  }

  async call(fn: Fn, args: unknown[], name: string, option: string): Promise<unknown> {
    const wait = this.gate.enter(this.current !== null)
    if (wait !== null) await wait
    let t: Task | null = null
    try {
      t = new Task(fn, args, name, this.slots.acquire(), option)
      const r = await this.drive(t)
      if (!t.main) throw new AsyncifyError(`${t.name}: an emscripten fiber's entry function returned`)
      return r
    } finally {
      if (t !== null) this.slots.release(t.slot)
      this.gate.leave()
    }
  }

  /** Runs `t` (its first call, or a rewind already started) until it returns or pauses. */
  async drive(t: Task): Promise<unknown> {
    let r = this.enter(t)
    while (t.unwound) {
      this.stopUnwind(t)
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
   * One call into wasm for `t`: `current` kept, the state repaired if it throws. A task with a C stack
   * of its own enters with its stack pointer and gives the caller's back on the way out; one without
   * (queued) leaves the pointer below its frames while it is suspended, so that nothing overwrites them.
   */
  enter(t: Task): unknown {
    const prev = this.current
    const sp = t.slot.top !== 0 ? this.sp : null
    const outer = sp === null ? 0 : sp.get()
    sp?.set(t.sp)
    this.current = t
    try {
      const r = t.fn.apply(undefined, t.args)
      if (t.rewinding) {
        this.ctl.stop_rewind()
        t.rewinding = false
        throw new AsyncifyError(
          `${t.name} returned while rewinding: the rewind never reached the import that suspended`,
        )
      }
      return r
    } catch (e) {
      this.recover(t)
      throw e
    } finally {
      this.current = prev
      if (sp !== null) {
        t.sp = sp.get()
        sp.set(outer)
      }
    }
  }

  private stopUnwind(t: Task): void {
    t.unwound = false
    try {
      this.ctl.stop_unwind()
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e
      this.recover(t)
      throw new BufferOverflowError(
        t.name,
        t.data === t.slot.data ? t.slot.size : this.size(t.data),
        t.option,
      )
    }
  }

  private size(data: number): number {
    const h = DATA_HEADER[this.wide ? 'i64' : 'i32']
    const v = this.dv()
    return this.wide
      ? Number(v.getBigUint64(data + h.end, true)) - data - h.size
      : v.getUint32(data + h.end, true) - data - h.size
  }

  /** Back to the normal state after a trap or throw mid-unwind or mid-rewind; frees the slots it held. */
  private recover(t: Task): void {
    t.unwound = t.rewinding = false
    t.pending = null
    t.after = null
    const state = this.ctl.get_state()
    if (state === STATE.unwinding) {
      // current > end traps stop_unwind: mark the buffer full instead.
      const h = DATA_HEADER[this.wide ? 'i64' : 'i32']
      const v = this.dv()
      if (this.wide) v.setBigUint64(t.data + h.current, v.getBigUint64(t.data + h.end, true), true)
      else v.setUint32(t.data + h.current, v.getUint32(t.data + h.end, true), true)
      this.ctl.stop_unwind()
    } else if (state === STATE.rewinding) this.ctl.stop_rewind()
    if (state !== STATE.normal) this.releaseRefs?.(this.ptr(t.data))
  }
}

/** The control exports, or an error naming the first one missing. */
export function control(ex: WebAssembly.Exports): Control {
  const names = ['start_unwind', 'stop_unwind', 'start_rewind', 'stop_rewind', 'get_state'] as const
  const out = {} as Record<(typeof names)[number], Fn>
  for (const n of names) {
    const f = ex[EXPORTS[n]]
    if (typeof f !== 'function')
      throw new AsyncifyError(
        `asyncify mode: the module does not export ${EXPORTS[n]} (run wasm-asyncify on it)`,
      )
    out[n] = f as Fn
  }
  return out as unknown as Control
}

/**
 * Fibers in JSPI mode: every context is a promising call of its own (`JTask`). A JS fiber's first
 * resume starts its entry; `fiber.yield` parks it and settles the resumer's promise; a later resume
 * puts it back on the driver's ready list. `emscripten_fiber_swap(old, new)` parks the running context
 * (remembered by `old`'s address, its stack pointer in `old->stack_ptr`) and puts `new` on the ready
 * list: a fresh promising call of `new->entry(new->user_data)` (clearing `entry`), or the context parked
 * there; it runs on `new->stack_ptr`.
 */
import { EMSCRIPTEN_FIBER as F } from './abi.js'
import { type FiberHooks, NO_SLOT } from './driver.js'
import { AsyncifyError } from './errors.js'
import { BaseFiber, Common, EM } from './fibers-common.js'
import { type JspiDriver, JTask, jspiApi } from './jspi.js'
import type { FiberResult } from './types.js'

type Settle = JTask['settle']

class JspiFiber extends BaseFiber<JTask, JspiDriver> {
  /** The context parked in `fiber.yield`. */
  at: JTask | null = null
  /** Settles the pending `resume`. */
  #waiter: Settle | null = null

  protected go(value: unknown, first: boolean): Promise<FiberResult> {
    return new Promise((res, rej) => {
      this.#waiter = (v, failed) => (failed ? rej(v) : res(v as FiberResult))
      const t = this.task
      if (first) {
        t.fresh = true
        t.settle = (v, failed) => {
          this.end()
          this.#settle(failed ? v : { done: true, value: v }, failed)
        }
      }
      this.common.d.wake(first ? t : (this.at as JTask), value, false)
    })
  }

  yielded(at: JTask, value: unknown): void {
    this.at = at
    this.state = 'suspended'
    this.#settle({ done: false, value }, false)
  }

  #settle(v: unknown, failed: boolean): void {
    const w = this.#waiter
    this.#waiter = null
    w?.(v, failed)
  }

  /** A parked JSPI stack holds its references itself: dropping it frees them. */
  protected releaseRefs(): void {}
}

export function fibers(d: JspiDriver): FiberHooks {
  const c = new Common(d)
  /** Parked contexts, by the address of the emscripten fiber they were switched out to. */
  const parked = new Map<number, JTask>()
  const { Suspending, promising } = jspiApi()

  const swap = new Suspending((from, to) => {
    const x = d.running
    if (x === null) throw new AsyncifyError(`${EM.swap} called outside a call that may suspend`)
    const [o, n] = [Number(from), Number(to)]
    const entry = c.u32(n + F.entry)
    let y = parked.get(n)
    if (entry === 0 && y === undefined)
      throw new AsyncifyError(`${EM.swap}: fiber ${n} has no entry and was never switched away from`)
    c.set(o + F.stackPtr, c.sp().get())
    parked.set(o, x)
    const p = d.park(x)
    if (entry !== 0) {
      c.set(n + F.entry, 0)
      y = new JTask(
        promising(c.entry(entry, EM.swap)),
        [c.u32(n + F.userData)],
        `${x.owner.name}: fiber ${n}`,
        NO_SLOT,
      )
      y.fresh = true
    } else parked.delete(n)
    const next = y as JTask
    Object.assign(next, { owner: x.owner, sp: c.u32(n + F.stackPtr), own: true })
    d.wake(next, undefined, false)
    return p
  })

  const yieldFn = new Suspending(value => {
    const x = d.running
    const fiber = x?.owner.fiber
    if (!(fiber instanceof JspiFiber)) throw new AsyncifyError('fiber.yield called outside a fiber')
    const p = d.park(x as JTask)
    fiber.yielded(x as JTask, value)
    return p
  })

  return c.hooks(
    swap,
    yieldFn,
    (id, fn, arg, slot) => new JspiFiber(id, new JTask(promising(fn), [arg], `fiber ${id}`, slot), c),
    () => d.running?.owner.fiber,
  )
}

/**
 * Fibers in asyncify mode. A JS fiber is a `Task` of its own (own buffer and C stack) that `resume`
 * drives; `fiber.yield` unwinds it and pauses the loop. `emscripten_fiber_swap(old, new)` unwinds the
 * running context into `old->asyncify_data`, remembers the function at the bottom of that context
 * (keyed by the data address) and the stack pointer (in `old->stack_ptr`); then, in the same loop and
 * without awaiting, it calls `new->entry(new->user_data)` through the function table (clearing `entry`)
 * or rewinds the function at the bottom of `new`'s stack, on the stack pointer `new->stack_ptr`.
 */
import { EMSCRIPTEN_FIBER as F, RUNTIME_IMPORTS } from './abi.js'
import { type AsyncifyDriver, PAUSED, Task } from './asyncify.js'
import type { FiberHooks } from './driver.js'
import { AsyncifyError } from './errors.js'
import { BaseFiber, Common, EM } from './fibers-common.js'
import type { Fn } from './memory.js'
import { NO_STAND_IN } from './plan.js'
import type { FiberResult } from './types.js'

class AsyncifyFiber extends BaseFiber<Task, AsyncifyDriver> {
  yielded: unknown = undefined

  protected async go(value: unknown, first: boolean): Promise<FiberResult> {
    const [t, d] = [this.task, this.common.d]
    if (!first) {
      t.value = value
      t.failed = false
      d.rewind(t)
    }
    let r: unknown
    try {
      r = await d.drive(t)
    } catch (e) {
      this.end()
      throw e
    }
    if (r !== PAUSED) {
      this.end()
      return { done: true, value: r }
    }
    this.state = 'suspended'
    const v = this.yielded
    this.yielded = undefined
    return { done: false, value: v }
  }

  protected releaseRefs(): void {
    this.common.d.releaseRefs(this.slot.data)
  }
}

interface Bottom {
  fn: Fn
  args: unknown[]
}

export function fibers(d: AsyncifyDriver): FiberHooks {
  /** The function at the bottom of each switched-out emscripten context, by its asyncify_data address. */
  const bottoms = new Map<number, Bottom>()
  const { module, name } = RUNTIME_IMPORTS.fiberYield
  const stand = d.plan.standIn(module, name)
  const c = new Common(d)

  const swap = (from: unknown, to: unknown): void => {
    const t = d.current
    if (d.resuming(t)) return void d.handBack(t as Task, swap)
    if (!t) throw new AsyncifyError(`${EM.swap} called outside a call that may suspend`)
    const [o, n] = [Number(from), Number(to)]
    c.set(o + F.stackPtr, c.sp().get())
    bottoms.set(o + F.asyncifyData, { fn: t.fn, args: t.args })
    const data = o + F.asyncifyData
    const room = d.field(data, 'end') - d.field(data, 'current')
    d.unwind(t, swap, t => switchTo(t, n), data, [
      `${t.name} (emscripten fiber ${o})`,
      room,
      'the asyncify stack size passed to emscripten_fiber_init',
    ])
  }

  const switchTo = (t: Task, n: number): boolean => {
    const sp = c.u32(n + F.stackPtr)
    if (t.own) t.sp = sp
    else c.sp().set(sp)
    const entry = c.u32(n + F.entry)
    if (entry !== 0) {
      c.set(n + F.entry, 0)
      const fn = c.entry(entry, EM.swap)
      // The entry must not return (it swaps away instead); this function is the context's bottom, rewinds included.
      t.fn = (...args) => {
        const r = fn(...args)
        if (!t.unwound)
          throw new AsyncifyError(`${t.name}: the entry function of emscripten fiber ${n} returned`)
        return r
      }
      t.args = [c.u32(n + F.userData)]
      return true
    }
    const b = bottoms.get(n + F.asyncifyData)
    if (b === undefined)
      throw new AsyncifyError(`${EM.swap}: fiber ${n} has no entry and was never switched away from`)
    bottoms.delete(n + F.asyncifyData)
    Object.assign(t, b, { value: undefined, failed: false })
    d.rewind(t, n + F.asyncifyData)
    return true
  }

  const yieldFn = (value: unknown): unknown => {
    const t = d.current
    if (d.resuming(t)) return d.handBack(t as Task, yieldFn)
    const fiber = t?.fiber
    if (!(fiber instanceof AsyncifyFiber)) throw new AsyncifyError('fiber.yield called outside a fiber')
    if (stand === NO_STAND_IN) throw new AsyncifyError('fiber.yield returns a type no JS value converts to')
    fiber.yielded = value
    d.unwind(fiber.task, yieldFn, () => false)
    return stand
  }

  return c.hooks(
    swap,
    yieldFn,
    (id, fn, arg, slot) => {
      const t = new Task(fn, [arg], `fiber ${id}`, slot)
      t.option = 'asyncifyStackSize in the fibers.create options'
      return new AsyncifyFiber(id, t, c)
    },
    () => d.current?.fiber,
  )
}

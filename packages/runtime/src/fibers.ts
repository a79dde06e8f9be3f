/**
 * Fibers, from JS (`fibers.create`, `fiber.resume`, the `fiber.yield` import) and from C (emscripten's
 * Fibers API: `emscripten_fiber_init`, `_init_from_current_context`, `_swap`, served by the runtime
 * when the module imports them; layout in `abi.ts` and `include/emscripten/fiber.h`).
 *
 * Asyncify mode: a JS fiber is a `Task` of its own (own buffer and C stack) driven by `resume`; its
 * yield unwinds it and pauses the loop. An emscripten swap unwinds the running context into the old
 * fiber's `asyncify_data`, remembers the function at the bottom of that context (keyed by the data
 * address), and then, in the same loop and without awaiting, calls the new fiber's entry through the
 * function table (clearing `entry`) or rewinds the function at the bottom of its stack. The stack
 * pointer goes to `old->stack_ptr` and comes from `new->stack_ptr`.
 *
 * JSPI mode: every context is a promising call of its own (`JTask`); a swap parks the current one and
 * puts the other on the engine's ready list (a fresh one is started there), a yield parks the fiber and
 * settles its resumer's promise.
 */
import { ASYNCIFY_DATA_T, EMSCRIPTEN_FIBER as F, RUNTIME_IMPORTS } from './abi.js'
import { type Asyncify, type Fn, NO_STAND_IN, PAUSED, Task } from './asyncify.js'
import { AsyncifyError } from './errors.js'
import type { Env, FiberHooks, FiberSupport } from './instantiate.js'
import { type Jspi, JTask, jspiApi } from './jspi.js'
import type { Slot, SlotSizes, StackPointer } from './memory.js'
import { type Plan, standIn } from './plan.js'
import type { Fiber, FiberOptions, FiberResult, FiberState } from './types.js'

const EM = RUNTIME_IMPORTS.emscripten

/** The parts both modes share: emscripten's structs in memory, entries, sizes, the JS API's checks. */
class Common {
  env!: Env
  private view: DataView | null = null
  next = 1

  u32(addr: number): number {
    return this.dv().getUint32(addr, true)
  }

  set(addr: number, v: number): void {
    this.dv().setUint32(addr, v, true)
  }

  private dv(): DataView {
    const buf = this.env.memory.buffer
    if (this.view?.buffer !== buf) this.view = new DataView(buf)
    return this.view
  }

  sp(what: string): StackPointer {
    if (this.env.sp === null)
      throw new AsyncifyError(
        `${what} needs the C stack pointer: export __stack_pointer (-Wl,--export=__stack_pointer)`,
      )
    return this.env.sp
  }

  /** A function-table index or an export name → the function. */
  entry(e: number | string, what: string): Fn {
    const ex = this.env.exports
    const tables = Object.values(ex).filter(v => v instanceof WebAssembly.Table)
    const table = (ex.__indirect_function_table ?? tables[0]) as WebAssembly.Table | undefined
    const f = typeof e === 'string' ? ex[e] : e > 0 && e < (table?.length ?? 0) ? table?.get(e) : undefined
    if (typeof f !== 'function')
      throw new AsyncifyError(
        typeof e === 'string'
          ? `${what}: the module exports no function ${e}`
          : `${what}: entry ${e} is no function of the exported table (link with -Wl,--export-table)`,
      )
    return f as Fn
  }

  /** `emscripten_fiber_init` and `_init_from_current_context` (emscripten implements them in C). */
  init(name: string): Fn | undefined {
    const field = (fiber: number, off: number, v: number): void => this.set(fiber + off, v)
    const data = (fiber: number, stack: number, size: number): void => {
      field(fiber, F.asyncifyData + ASYNCIFY_DATA_T.stackPtr, stack)
      field(fiber, F.asyncifyData + ASYNCIFY_DATA_T.stackLimit, stack + size)
      field(fiber, F.asyncifyData + ASYNCIFY_DATA_T.rewindId, 0)
    }
    if (name === EM.init)
      return (fiber, entry, arg, cStack, cSize, aStack, aSize) => {
        const [f, base] = [fiber as number, (cStack as number) + (cSize as number)]
        for (const [off, v] of [
          [F.stackBase, base],
          [F.stackLimit, cStack],
          [F.stackPtr, base],
          [F.entry, entry],
          [F.userData, arg],
        ] as const)
          field(f, off, v as number)
        data(f, aStack as number, aSize as number)
      }
    if (name === EM.initFromCurrent)
      return (fiber, aStack, aSize) => {
        const f = fiber as number
        field(f, F.stackBase, this.env.sp?.get() ?? 0)
        field(f, F.stackLimit, 0)
        field(f, F.entry, 0)
        data(f, aStack as number, aSize as number)
      }
    return undefined
  }

  sizes(o: FiberOptions | undefined): SlotSizes {
    const d = this.env.defaults
    const s = {
      asyncifyStackSize: o?.asyncifyStackSize ?? d.asyncifyStackSize,
      stackSize: o?.stackSize ?? d.stackSize,
    }
    for (const [k, v] of Object.entries(s))
      if (!(Number.isInteger(v) && v > 0))
        throw new AsyncifyError(`fibers.create: ${k} must be a positive integer`)
    if (this.env.sp !== null && this.env.slots.stacks === null)
      throw new AsyncifyError(
        'fibers.create: each fiber needs a C stack of its own: export malloc and free (or name them in options.allocator), or pass options.region',
      )
    return s
  }
}

/** The JS API's states and checks; `go` runs the fiber in the mode's way. */
abstract class BaseFiber implements Fiber {
  state: FiberState = 'created'
  constructor(
    readonly id: number,
    readonly slot: Slot,
    protected readonly common: Common,
  ) {}

  protected abstract go(value: unknown, first: boolean): Promise<FiberResult>
  protected abstract releaseRefs(): void

  resume(value?: unknown): Promise<FiberResult> {
    const s = this.state
    if (s !== 'created' && s !== 'suspended')
      return Promise.reject(new AsyncifyError(`fiber ${this.id} cannot be resumed: it is ${s}`))
    this.state = 'running'
    return this.go(value, s === 'created')
  }

  /** The entry returned or threw: the fiber is done and its memory freed. */
  protected end(): void {
    if (this.state !== 'destroyed') this.common.env.slots.free(this.slot)
    this.state = 'done'
  }

  destroy(): void {
    if (this.state === 'running')
      throw new AsyncifyError(`fiber ${this.id} is running: it cannot be destroyed`)
    if (this.state === 'suspended') this.releaseRefs()
    if (this.state !== 'done' && this.state !== 'destroyed') this.common.env.slots.free(this.slot)
    this.state = 'destroyed'
  }
}

class AsyncifyFiber extends BaseFiber {
  yielded: unknown = undefined
  task!: Task
  constructor(
    id: number,
    slot: Slot,
    common: Common,
    private readonly engine: Asyncify,
  ) {
    super(id, slot, common)
  }

  protected async go(value: unknown, first: boolean): Promise<FiberResult> {
    const t = this.task
    if (!first) {
      t.value = value
      t.failed = false
      this.engine.rewind(t)
    }
    let r: unknown
    try {
      r = await this.engine.drive(t)
      if (r !== PAUSED && !t.main)
        throw new AsyncifyError(`fiber ${this.id}: an emscripten fiber's entry function returned`)
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
    this.engine.releaseRefs?.(this.engine.ptr(this.slot.data))
  }
}

interface Bottom {
  fn: Fn
  args: unknown[]
  main: boolean
}

function asyncifyFibers(engine: Asyncify, plan: Plan): FiberHooks {
  const c = new Common()
  /** The function at the bottom of each switched-out emscripten context, by its asyncify_data address. */
  const bottoms = new Map<number, Bottom>()
  const yieldStand = standIn(plan.results(RUNTIME_IMPORTS.fiberYield.module, RUNTIME_IMPORTS.fiberYield.name))

  const swap = (from: unknown, to: unknown): void => {
    const t = engine.current
    if (t?.rewinding) return void engine.handBack(t, swap)
    if (t === null) throw new AsyncifyError(`${EM.swap} called outside a call that may suspend`)
    const [o, n] = [Number(from), Number(to)]
    c.set(o + F.stackPtr, c.sp(EM.swap).get())
    bottoms.set(o + F.asyncifyData, { fn: t.fn, args: t.args, main: t.main })
    t.after = t => switchTo(t, n)
    engine.unwind(t, swap, o + F.asyncifyData)
  }

  /** After the unwind: the next bottom function to call (fresh, or rewinding), on the new C stack. */
  const switchTo = (t: Task, n: number): boolean => {
    const sp = c.u32(n + F.stackPtr)
    if (t.slot.top !== 0) t.sp = sp
    else c.sp(EM.swap).set(sp)
    const entry = c.u32(n + F.entry)
    if (entry !== 0) {
      c.set(n + F.entry, 0)
      Object.assign(t, { fn: c.entry(entry, EM.swap), args: [c.u32(n + F.userData)], main: false })
      return true
    }
    const b = bottoms.get(n + F.asyncifyData)
    if (b === undefined)
      throw new AsyncifyError(`${EM.swap}: fiber ${n} has no entry and was never switched away from`)
    bottoms.delete(n + F.asyncifyData)
    Object.assign(t, b, { value: undefined, failed: false })
    engine.rewind(t, n + F.asyncifyData)
    return true
  }

  const yieldFn = (value: unknown): unknown => {
    const t = engine.current
    if (t?.rewinding) return engine.handBack(t, yieldFn)
    const fiber = t?.fiber
    if (!(fiber instanceof AsyncifyFiber)) throw new AsyncifyError('fiber.yield called outside a fiber')
    if (yieldStand === NO_STAND_IN)
      throw new AsyncifyError('fiber.yield returns a type no JS value converts to')
    fiber.yielded = value
    ;(t as Task).after = () => false
    engine.unwind(t as Task, yieldFn)
    return yieldStand
  }

  return {
    serve: (_module, name) =>
      name === EM.swap ? swap : name === RUNTIME_IMPORTS.fiberYield.name ? yieldFn : c.init(name),
    attach: env => {
      c.env = env
    },
    api: {
      create(entry, arg, options) {
        const fn = c.entry(entry, 'fibers.create')
        const slot = c.env.slots.acquire(c.sizes(options))
        const f = new AsyncifyFiber(c.next++, slot, c, engine)
        f.task = new Task(fn, [arg], `fiber ${f.id}`, slot, 'asyncifyStackSize in the fibers.create options')
        f.task.fiber = f
        return f
      },
      get current() {
        return (engine.current?.fiber as Fiber | undefined) ?? null
      },
    },
  }
}

class JspiFiber extends BaseFiber {
  task!: JTask
  /** The context parked in `fiber.yield`. */
  at: JTask | null = null
  waiter: { res: (r: FiberResult) => void; rej: (e: unknown) => void } | null = null
  constructor(
    id: number,
    slot: Slot,
    common: Common,
    private readonly engine: Jspi,
  ) {
    super(id, slot, common)
  }

  protected go(value: unknown, first: boolean): Promise<FiberResult> {
    return new Promise((res, rej) => {
      this.waiter = { res, rej }
      if (first) this.task.fresh = true
      this.engine.wake(first ? this.task : (this.at as JTask), value, false)
    })
  }

  /** The task settled (its entry returned or threw). */
  settle(v: unknown, failed: boolean): void {
    this.end()
    const w = this.waiter
    this.waiter = null
    if (failed) w?.rej(v)
    else w?.res({ done: true, value: v })
  }

  yielded(at: JTask, value: unknown): void {
    this.at = at
    this.state = 'suspended'
    const w = this.waiter
    this.waiter = null
    w?.res({ done: false, value })
  }

  protected releaseRefs(): void {}
}

function jspiFibers(engine: Jspi): FiberHooks {
  const c = new Common()
  /** Parked contexts, by the address of the emscripten fiber they were switched out to. */
  const parked = new Map<number, JTask>()
  const { Suspending, promising } = jspiApi()

  const swap = new Suspending((from: unknown, to: unknown) => {
    const x = engine.running
    if (x === null) throw new AsyncifyError(`${EM.swap} called outside a call that may suspend`)
    const [o, n] = [Number(from), Number(to)]
    const entry = c.u32(n + F.entry)
    let y = parked.get(n)
    if (entry === 0 && y === undefined)
      throw new AsyncifyError(`${EM.swap}: fiber ${n} has no entry and was never switched away from`)
    c.set(o + F.stackPtr, c.sp(EM.swap).get())
    parked.set(o, x)
    const p = engine.park(x)
    if (entry !== 0) {
      c.set(n + F.entry, 0)
      y = new JTask(
        promising(c.entry(entry, EM.swap)),
        [c.u32(n + F.userData)],
        `${x.owner.name}: fiber ${n}`,
        null,
      )
      y.fresh = true
    } else parked.delete(n)
    const next = y as JTask
    Object.assign(next, { owner: x.owner, sp: c.u32(n + F.stackPtr), own: true })
    engine.wake(next, undefined, false)
    return p
  })

  const yieldFn = new Suspending((value: unknown) => {
    const x = engine.running
    const fiber = x?.owner.fiber
    if (!(fiber instanceof JspiFiber)) throw new AsyncifyError('fiber.yield called outside a fiber')
    const p = engine.park(x as JTask)
    fiber.yielded(x as JTask, value)
    return p
  })

  return {
    serve: (_module, name) =>
      name === EM.swap ? swap : name === RUNTIME_IMPORTS.fiberYield.name ? yieldFn : c.init(name),
    attach: env => {
      c.env = env
    },
    api: {
      create(entry, arg, options) {
        const fn = promising(c.entry(entry, 'fibers.create'))
        const slot = c.env.slots.acquire(c.sizes(options))
        const f = new JspiFiber(c.next++, slot, c, engine)
        f.task = new JTask(fn, [arg], `fiber ${f.id}`, slot)
        f.task.fiber = f
        f.task.settle = (v, failed) => f.settle(v, failed)
        return f
      },
      get current() {
        return (engine.running?.owner.fiber as Fiber | undefined) ?? null
      },
    },
  }
}

export const FIBERS: FiberSupport = { asyncify: asyncifyFibers, jspi: jspiFibers }

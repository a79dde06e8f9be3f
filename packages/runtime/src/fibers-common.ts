/**
 * What the fiber support of both modes shares: emscripten's structs in memory (layout in `abi.ts`),
 * its two init functions (emscripten implements them in C; the runtime serves them when imported),
 * fiber entries (a function-table index or an export name), sizes, and the JS API's states.
 */
import { ASYNCIFY_DATA_T as A, EMSCRIPTEN_FIBER as F, RUNTIME_IMPORTS } from './abi.js'
import type { BaseTask, Driver, Env, FiberHooks } from './driver.js'
import { AsyncifyError } from './errors.js'
import {
  checkSizes,
  type Fn,
  type MemoryView,
  type Slot,
  type SlotSizes,
  type StackPointer,
  word,
} from './memory.js'
import type { Fiber, FiberOptions, FiberResult, FiberState } from './types.js'

export const EM = RUNTIME_IMPORTS.emscripten
const YIELD = RUNTIME_IMPORTS.fiberYield

/** A mode's JS fiber `id`, whose body is `fn(arg)` on `slot`. */
export type MakeFiber = (id: number, fn: Fn, arg: unknown, slot: Slot) => Fiber

export class Common<D extends Driver = Driver> {
  env!: Env
  /** The main memory. */
  heap!: MemoryView
  next = 1
  #served: Record<string, unknown> = {}

  constructor(readonly d: D) {}

  u32(addr: number): number {
    return word(this.heap, addr)
  }

  set(addr: number, v: number): void {
    word(this.heap, addr, v)
  }

  sp(): StackPointer {
    if (!this.env.sp)
      throw new AsyncifyError(
        `${EM.swap} needs the C stack pointer: export __stack_pointer (-Wl,--export=__stack_pointer)`,
      )
    return this.env.sp
  }

  /** A function-table index or an export name → the function. */
  entry(e: number | string, what: string): Fn {
    const ex = this.env.exports
    const table = (ex.__indirect_function_table ??
      Object.values(ex).find(v => v instanceof WebAssembly.Table)) as WebAssembly.Table | undefined
    const f = typeof e === 'string' ? ex[e] : e > 0 && e < (table?.length ?? 0) ? table?.get(e) : undefined
    if (typeof f === 'function') return f as Fn
    throw new AsyncifyError(
      typeof e === 'string'
        ? `${what}: the module exports no function ${e}`
        : `${what}: entry ${e} is no function of the exported table (link with -Wl,--export-table)`,
    )
  }

  /**
   * The runtime's implementation of import `module.name` when it is a fiber import, else undefined. `swap`
   * and `fiber.yield` must be among the rewrite's suspending imports.
   */
  serve(module: string, name: string): unknown {
    const v = this.#served[`${module}.${name}`]
    if (v && (name === EM.swap || name === YIELD.name) && !this.d.plan.suspends(module, name))
      throw new AsyncifyError(
        `import ${module}.${name} suspends, but wasm-asyncify was told it does not: add it to its imports option`,
      )
    return v
  }

  /** The runtime's fiber imports, by `module.name`: `swap` and `yield` (the mode's), and the two init functions. */
  #imports(swap: unknown, yieldFn: unknown): Record<string, unknown> {
    const init = (fiber: number, fields: [number, number][], aStack: number, aSize: number): void => {
      for (const [off, v] of [
        ...fields,
        [F.asyncifyData + A.stackPtr, aStack],
        [F.asyncifyData + A.stackLimit, aStack + aSize],
        [F.asyncifyData + A.rewindId, 0],
      ])
        this.set(fiber + off, v)
    }
    const env = `${EM.module}.`
    return {
      [env + EM.swap]: swap,
      [`${YIELD.module}.${YIELD.name}`]: yieldFn,
      [env + EM.init]: (...a: unknown[]) => {
        const [fiber, entry, arg, stack, stackSize, aStack, aSize] = a.map(Number)
        const base = stack + stackSize
        init(
          fiber,
          [
            [F.stackBase, base],
            [F.stackLimit, stack],
            [F.stackPtr, base],
            [F.entry, entry],
            [F.userData, arg],
          ],
          aStack,
          aSize,
        )
      },
      [env + EM.initFromCurrent]: (...a: unknown[]) => {
        const [fiber, aStack, aSize] = a.map(Number)
        init(
          fiber,
          [
            [F.stackBase, this.env.sp?.get() ?? 0],
            [F.stackLimit, 0],
            [F.entry, 0],
          ],
          aStack,
          aSize,
        )
      },
    }
  }

  /**
   * The hooks a driver installs: `swap` and `yieldFn` (the mode's) among the served imports, and the JS
   * API, whose fibers `make` builds the mode's way; `current` reads the running one.
   */
  hooks(swap: unknown, yieldFn: unknown, make: MakeFiber, current: () => unknown): FiberHooks {
    this.#served = this.#imports(swap, yieldFn)
    return {
      serve: (m, n) => this.serve(m, n),
      attach: env => {
        this.env = env
        this.heap = { memory: env.memory }
      },
      api: {
        create: (entry, arg, options) => {
          const fn = this.entry(entry, 'fibers.create')
          return make(this.next++, fn, arg, this.env.slots.acquire(this.sizes(options)))
        },
        get current() {
          return (current() as Fiber | null | undefined) ?? null
        },
      },
    }
  }

  /** A fiber's slot sizes (defaults from the instantiate options), checked. */
  sizes(o: FiberOptions = {}): SlotSizes {
    const d = this.env.slots.defaults
    const s = checkSizes(
      {
        asyncifyStackSize: o.asyncifyStackSize ?? d.asyncifyStackSize,
        stackSize: o.stackSize ?? d.stackSize,
      },
      'fibers.create: ',
    )
    if (this.env.sp && !this.env.slots.stacks)
      throw new AsyncifyError(
        'fibers.create: each fiber needs a C stack of its own: export malloc and free (or name them in options.allocator), or pass options.region',
      )
    return s
  }
}

/** The JS API's states and checks; `go` runs the fiber's task the mode's way. */
export abstract class BaseFiber<T extends BaseTask, D extends Driver> implements Fiber {
  state: FiberState = 'created'
  readonly slot: Slot
  constructor(
    readonly id: number,
    readonly task: T,
    protected readonly common: Common<D>,
  ) {
    this.slot = task.slot
    task.fiber = this
  }

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
    this.common.env.slots.free(this.slot)
    this.state = 'done'
  }

  destroy(): void {
    const s = this.state
    if (s === 'running') throw new AsyncifyError(`fiber ${this.id} is running: it cannot be destroyed`)
    if (s === 'suspended') this.releaseRefs()
    if (s === 'created' || s === 'suspended') this.common.env.slots.free(this.slot)
    this.state = 'destroyed'
  }
}

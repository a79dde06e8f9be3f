/**
 * What the fiber support of both modes shares: emscripten's structs in memory (layout in `abi.ts`),
 * its two init functions (emscripten implements them in C; the runtime serves them when imported),
 * fiber entries (a function-table index or an export name), sizes, and the JS API's states.
 */
import { ASYNCIFY_DATA_T, EMSCRIPTEN_FIBER as F, RUNTIME_IMPORTS } from './abi.js'
import type { Env, FiberHooks } from './driver.js'
import { AsyncifyError } from './errors.js'
import type { Fn, Slot, SlotSizes, StackPointer } from './memory.js'
import type { Plan } from './plan.js'
import type { Fiber, FiberOptions, FiberResult, FiberState } from './types.js'

export const EM = RUNTIME_IMPORTS.emscripten
const YIELD = RUNTIME_IMPORTS.fiberYield

/**
 * The runtime's implementation of import `module.name` when it is a fiber import (`ours`, keyed by
 * `module.name`), else undefined. `swap` and `fiber.yield` must be among the rewrite's suspending imports.
 */
export function serve(plan: Plan, module: string, name: string, ours: Record<string, unknown>): unknown {
  const v = ours[`${module}.${name}`]
  if (v !== undefined && (name === EM.swap || name === YIELD.name) && !plan.suspends(module, name))
    throw new AsyncifyError(
      `import ${module}.${name} suspends, but wasm-asyncify was told it does not: add it to its imports option`,
    )
  return v
}

export class Common {
  env!: Env
  next = 1
  #view: DataView | null = null

  u32(addr: number): number {
    return this.#dv().getUint32(addr, true)
  }

  set(addr: number, v: number): void {
    this.#dv().setUint32(addr, v, true)
  }

  #dv(): DataView {
    const buffer = this.env.memory.buffer
    if (this.#view?.buffer !== buffer) this.#view = new DataView(buffer)
    return this.#view
  }

  sp(): StackPointer {
    if (this.env.sp === null)
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

  /** The runtime's fiber imports: `swap` and `yield` (the mode's), and the two init functions. */
  imports(swap: unknown, yieldFn: unknown): Record<string, unknown> {
    const asyncifyData = (fiber: number, stack: number, size: number): void => {
      this.set(fiber + F.asyncifyData + ASYNCIFY_DATA_T.stackPtr, stack)
      this.set(fiber + F.asyncifyData + ASYNCIFY_DATA_T.stackLimit, stack + size)
      this.set(fiber + F.asyncifyData + ASYNCIFY_DATA_T.rewindId, 0)
    }
    const fields = (fiber: number, values: [number, number][]): void => {
      for (const [off, v] of values) this.set(fiber + off, v)
    }
    const env = (n: string): string => `${EM.module}.${n}`
    return {
      [env(EM.swap)]: swap,
      [`${YIELD.module}.${YIELD.name}`]: yieldFn,
      [env(EM.init)]: (...a: unknown[]) => {
        const [fiber, entry, arg, stack, stackSize, aStack, aSize] = a.map(Number)
        const base = stack + stackSize
        fields(fiber, [
          [F.stackBase, base],
          [F.stackLimit, stack],
          [F.stackPtr, base],
          [F.entry, entry],
          [F.userData, arg],
        ])
        asyncifyData(fiber, aStack, aSize)
      },
      [env(EM.initFromCurrent)]: (...a: unknown[]) => {
        const [fiber, aStack, aSize] = a.map(Number)
        fields(fiber, [
          [F.stackBase, this.env.sp?.get() ?? 0],
          [F.stackLimit, 0],
          [F.entry, 0],
        ])
        asyncifyData(fiber, aStack, aSize)
      },
    }
  }

  /**
   * The hooks a driver installs: `swap` and `yieldFn` (the mode's) among the served imports, and the JS
   * API, whose fibers `make` builds from an entry function and a slot; `current` reads the running one.
   */
  hooks(
    plan: Plan,
    swap: unknown,
    yieldFn: unknown,
    make: (id: number, slot: Slot, fn: Fn, arg: unknown) => Fiber,
    current: () => unknown,
  ): FiberHooks {
    const ours = this.imports(swap, yieldFn)
    return {
      serve: (m, n) => serve(plan, m, n, ours),
      attach: env => {
        this.env = env
      },
      api: {
        create: (entry, arg, options) => {
          const fn = this.entry(entry, 'fibers.create')
          return make(this.next++, this.env.slots.acquire(this.sizes(options)), fn, arg)
        },
        get current() {
          return (current() as Fiber | null | undefined) ?? null
        },
      },
    }
  }

  /** A fiber's slot sizes (defaults from the instantiate options), checked. */
  sizes(o: FiberOptions | undefined): SlotSizes {
    const d = this.env.slots.defaults
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

/** The JS API's states and checks; `go` runs the fiber the mode's way. */
export abstract class BaseFiber implements Fiber {
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

/**
 * What both modes share: wrapping the imports that may suspend (fiber support serves its own), handing
 * out exports (the raw function unless it may suspend), and finding, once the instance exists, the data
 * memory, the C stack pointer and the allocator that `memory.ts` takes slots from. Without fiber support
 * a module importing fiber functions fails to link, naming the import.
 */
import { EXPORTS } from './abi.js'
import { AsyncifyError } from './errors.js'
import {
  type Arena,
  type Fn,
  Gate,
  mallocArena,
  regionArena,
  type SlotSizes,
  Slots,
  type StackPointer,
  stackPointer,
} from './memory.js'
import type { Plan } from './plan.js'
import type { Fibers, Imports, InstantiateOptions } from './types.js'

/** What a driver gives its fiber support once the instance exists. */
export interface Env {
  exports: WebAssembly.Exports
  /** The memory the C stack pointer and emscripten's fiber structs point into. */
  memory: WebAssembly.Memory
  /** The C stack pointer, whether or not each call runs on a stack of its own. */
  sp: StackPointer | null
  slots: Slots
}

export interface FiberHooks {
  /** The runtime's own implementation of an import the caller did not give (a fiber import), or undefined. */
  serve(module: string, name: string): unknown
  attach(env: Env): void
  api: Fibers
}

/** Export name under which the runtime exposes a start function it moved out of the start section. */
export const START_EXPORT = 'unplugin_asyncify_start'

const NO_FIBERS: Fibers = {
  create() {
    throw new AsyncifyError('fibers are not in the no-fibers build')
  },
  current: null,
}

export abstract class Driver {
  fibers = NO_FIBERS
  hooks: FiberHooks | null = null
  sp: StackPointer | null = null
  slots!: Slots
  gate!: Gate

  constructor(
    readonly plan: Plan,
    readonly options: InstantiateOptions,
    readonly sizes: SlotSizes,
  ) {}

  abstract wrapImport(fn: Fn, module: string, name: string, label: string): unknown
  abstract wrapExport(name: string, fn: Fn): Fn
  /** Sets up slots, gate and stack pointer for the instance's exports; returns the main memory. */
  abstract setup(ex: WebAssembly.Exports): WebAssembly.Memory

  install(hooks: FiberHooks): void {
    this.hooks = hooks
    this.fibers = hooks.api
  }

  imports(module: WebAssembly.Module, given: Imports): WebAssembly.Imports {
    const out: Record<string, Record<string, unknown>> = {}
    for (const { module: m, name, kind } of WebAssembly.Module.imports(module)) {
      let v: unknown = given[m]?.[name]
      if (kind === 'function')
        v =
          v === undefined
            ? this.hooks?.serve(m, name)
            : this.plan.suspends(m, name)
              ? this.wrapImport(v as Fn, m, name, `${m}.${name}`)
              : v
      out[m] ??= {}
      out[m][name] = v
    }
    return out as WebAssembly.Imports
  }

  attach(instance: WebAssembly.Instance): Record<string, unknown> {
    const ex = instance.exports
    const memory = this.setup(ex)
    const out: Record<string, unknown> = {}
    for (const [name, v] of Object.entries(ex))
      out[name] =
        typeof v === 'function' && (this.plan.exportSuspends(name) || name === START_EXPORT)
          ? this.wrapExport(name, v as Fn)
          : v
    this.hooks?.attach({ exports: ex, memory, sp: this.sp, slots: this.slots })
    return out
  }

  /** [data memory, main memory (C stacks, fiber structs), whether the data memory is a secondary one]. */
  memories(ex: WebAssembly.Exports): [WebAssembly.Memory, WebAssembly.Memory, boolean] {
    const mems = Object.values(ex).filter(v => v instanceof WebAssembly.Memory)
    const named = this.plan.meta?.memory ?? this.options.memory
    const data = named === undefined ? (ex[EXPORTS.memory] ?? ex.memory ?? mems[0]) : ex[named]
    if (!(data instanceof WebAssembly.Memory))
      throw new AsyncifyError(`the module exports no memory ${named ?? ''}`)
    const secondary = this.plan.meta?.secondaryMemory ?? (ex[EXPORTS.memory] === data && mems.length > 1)
    return [data, secondary ? (mems.find(m => m !== data) ?? data) : data, secondary]
  }

  /**
   * Sets `sp`, `slots` and `gate`. Buffers (asyncify mode: `data` given) come from options.region, else the
   * secondary memory, else the allocator; C stacks (in `main`) from the region when it is in `main`, else
   * the allocator. Without C stacks of their own, calls are queued unless options.stackPointer is false.
   */
  provide(
    ex: WebAssembly.Exports,
    main: WebAssembly.Memory | undefined,
    data: WebAssembly.Memory | null,
    secondary: boolean,
    wide: boolean,
  ): void {
    const sp = main === undefined ? null : this.stackPointer(ex)
    const alloc = this.allocator(ex, wide)
    const region = this.region(data ?? main)
    const buffers =
      data &&
      (region ?? (secondary ? regionArena(16, data.buffer.byteLength - 16, 'the secondary memory') : alloc))
    const stacks = sp && (secondary ? alloc : (region ?? alloc))
    this.slots = new Slots(buffers, stacks, this.sizes, wide, data ? MISSING : '')
    this.gate = new Gate(this.options.stackPointer !== false && stacks === null)
    this.sp = sp
  }

  /** options.stackPointer, else the metadata's, else an exported `__stack_pointer` or emscripten's accessors. */
  stackPointer(ex: WebAssembly.Exports): StackPointer | null {
    const o = this.options.stackPointer
    if (o === false) return null
    const access =
      typeof o === 'string' ? { kind: 'global' as const, export: o } : this.plan.meta?.stackPointer
    const g = ex[access?.kind === 'global' ? access.export : '__stack_pointer']
    if (g instanceof WebAssembly.Global)
      return stackPointer(
        () => g.value,
        v => {
          g.value = v
        },
      )
    if (typeof o === 'string')
      throw new AsyncifyError(`options.stackPointer: the module exports no global ${o}`)
    const [get, set] = (
      access?.kind === 'functions'
        ? [access.get, access.set]
        : ['emscripten_stack_get_current', '_emscripten_stack_restore']
    ).map(n => ex[n])
    return typeof get === 'function' && typeof set === 'function' ? stackPointer(get as Fn, set as Fn) : null
  }

  /** The module's allocator: options.allocator, else malloc/free, else emscripten's builtin names. */
  allocator(ex: WebAssembly.Exports, wide: boolean): Arena | null {
    const a = this.options.allocator
    for (const [m, f] of a
      ? [[a.malloc, a.free]]
      : [
          ['malloc', 'free'],
          ['emscripten_builtin_malloc', 'emscripten_builtin_free'],
        ]) {
      const [malloc, free] = [ex[m as string], ex[f as string]]
      if (typeof malloc === 'function' && typeof free === 'function')
        return mallocArena(malloc as Fn, free as Fn, wide)
    }
    if (a) throw new AsyncifyError(`options.allocator: the module does not export ${a.malloc} and ${a.free}`)
    return null
  }

  /** options.region as an arena, checked against the memory it is in. */
  region(memory: WebAssembly.Memory | undefined): Arena | null {
    const r = this.options.region
    if (r === undefined) return null
    const size = memory?.buffer.byteLength ?? 0
    if (!(r.start >= 0 && r.size > 0 && r.start + r.size <= size))
      throw new AsyncifyError(
        `options.region ${r.start}+${r.size} is not inside the ${size}-byte data memory`,
      )
    return regionArena(r.start, r.size, 'options.region')
  }
}

const MISSING =
  'asyncify mode needs memory for its buffers: the module exports no malloc/free (or options.allocator); pass options.region, or rebuild with inSecondaryMemory'

/** Whether a memory is 64-bit: its grow() takes a bigint (a number throws a TypeError). */
export function isMemory64(memory: WebAssembly.Memory): boolean {
  try {
    ;(memory.grow as (delta: number) => number)(0)
    return false
  } catch {
    return true
  }
}

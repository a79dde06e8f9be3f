/**
 * What both modes share: wrapping the imports that may suspend (fiber support serves its own), handing
 * out exports (the raw function unless it may suspend), admitting calls, and finding, once the instance
 * exists, the C stack pointer and the allocator that `memory.ts` takes slots from. Without fiber support
 * a module importing fiber functions fails to link, naming the import.
 *
 * Admission: with no C stack per call, calls are queued — a call made from outside wasm while another is
 * in flight waits, in call order; a call made from inside wasm (an import calling back) never waits,
 * since the outer call may be waiting for it.
 */
import { ALLOCATORS, DATA_HEADER, EMSCRIPTEN_STACK_ACCESSORS, EXPORTS, STACK_POINTER_GLOBAL } from './abi.js'
import { AsyncifyError, noExport } from './errors.js'
import {
  type Fn,
  growBy,
  mallocArena,
  regionArena,
  type Slot,
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

/** What runs on a stack of its own in either mode: a call of an export, a fiber. */
export class BaseTask {
  /** Saved C stack pointer: the one to enter with (the slot's top at first), updated when the task leaves. */
  sp: number
  /** The caller's stack pointer, given back when the task leaves. */
  outer = 0
  /**
   * Whether the task has a C stack of its own (a slot's, or an emscripten fiber's). One without runs on
   * its caller's and leaves the pointer below its frames while suspended, so that nothing overwrites them.
   */
  own: boolean
  /** What the import it suspended in returns (or throws, `failed`) when it goes on. */
  value: unknown = undefined
  failed = false
  /** The JS fiber it runs, if any (`fibers.current`). */
  fiber: unknown = null
  constructor(
    /** The function at the bottom of the task's stack (in asyncify mode, called again to rewind it). */
    public fn: Fn,
    public args: unknown[],
    /** For messages: `export "main"`, `fiber 3`. */
    readonly name: string,
    readonly slot: Slot,
  ) {
    this.sp = slot.top
    this.own = !!this.sp
  }
}

/** The slot of a task whose memory is not the runtime's (an emscripten fiber's: its C code owns it). */
export const NO_SLOT: Slot = { data: 0, size: 0, stack: 0, top: 0, pooled: false }

export abstract class Driver {
  hooks: FiberHooks | null = null
  sp: StackPointer | null = null
  slots!: Slots
  /** Whether calls from outside wasm wait for the one in flight; how many are in flight; who waits. */
  #queued = false
  #busy = 0
  #waiting: (() => void)[] = []

  constructor(
    readonly plan: Plan,
    readonly options: InstantiateOptions,
    readonly sizes: SlotSizes,
  ) {}

  abstract wrapImport(fn: Fn, label: string, module: string, name: string): unknown
  abstract wrapExport(name: string, fn: Fn): Fn
  /** Finds what the mode needs in the instance's exports and calls `provide`; returns the main memory. */
  abstract setup(ex: WebAssembly.Exports): WebAssembly.Memory

  get fibers(): Fibers {
    return this.hooks?.api ?? NO_FIBERS
  }

  /**
   * A call of an export that may suspend: once admitted, on a slot of its own, run the mode's way. `run`
   * calls `end(slot)` as the call settles, before its promise does. `nested`: made from inside wasm.
   */
  call(nested: boolean, run: (slot: Slot) => Promise<unknown>): Promise<unknown> {
    if (this.#queued && !nested && this.#busy)
      return new Promise<void>(r => this.#waiting.push(r)).then(() => this.#start(run))
    this.#busy++
    return this.#start(run)
  }

  #start(run: (slot: Slot) => Promise<unknown>): Promise<unknown> {
    let slot: Slot
    try {
      slot = this.slots.acquire()
    } catch (e) {
      this.#leave()
      return Promise.reject(e)
    }
    return run(slot)
  }

  /** Gives a call's slot and place back; the next waiting call takes the place (counted before it wakes, so none overtakes it). */
  end(slot: Slot): void {
    this.slots.release(slot)
    this.#leave()
  }

  #leave(): void {
    if (--this.#busy || !this.#waiting.length) return
    this.#busy++
    ;(this.#waiting.shift() as () => void)()
  }

  /** Sets the stack pointer to `t`'s, when it has a stack of its own, keeping the caller's. */
  enterSp(t: BaseTask): void {
    if (this.sp && t.own) {
      t.outer = this.sp.get()
      this.sp.set(t.sp)
    }
  }

  /** Saves `t`'s stack pointer and gives the caller's back. */
  leaveSp(t: BaseTask): void {
    if (this.sp && t.own) {
      t.sp = this.sp.get()
      this.sp.set(t.outer)
    }
  }

  imports(module: WebAssembly.Module, given: Imports): WebAssembly.Imports {
    const out: Imports = {}
    for (const { module: m, name, kind } of WebAssembly.Module.imports(module)) {
      let v = given[m]?.[name]
      if (kind === 'function')
        v =
          v === undefined
            ? this.hooks?.serve(m, name)
            : this.plan.suspends(m, name)
              ? this.wrapImport(v as Fn, `${m}.${name}`, m, name)
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

  /**
   * Sets `sp` and `slots`, and whether calls are queued. Buffers (asyncify mode: `data` given) come from
   * the secondary memory, else options.region, else the allocator (options.allocator, else malloc/free,
   * else emscripten's builtin names); C stacks (in `main`) from the region, else the allocator. Without C stacks of their own, calls are queued unless options.stackPointer is false.
   */
  provide(
    ex: WebAssembly.Exports,
    main: WebAssembly.Memory | undefined,
    data: WebAssembly.Memory | null,
    secondary: boolean,
    wide: boolean,
  ): void {
    const { region: r, stackPointer: o, allocator: a } = this.options
    const sp = main ? this.stackPointer(ex) : null
    const f = (a ? [[a.malloc, a.free]] : ALLOCATORS).map(names => functions(ex, names)).find(Boolean)
    if (a && !f) throw noExport(`${a.malloc} and ${a.free}`, 'options.allocator: ')
    const alloc = f ? mallocArena(f[0] as Fn, f[1] as Fn, wide) : null
    // The region is of the module's own memory (where its C stack is); the secondary memory, which holds
    // nothing but buffers, is the runtime's alone and grows when full (up to its maximum, if it has one).
    const size = main?.buffer.byteLength ?? 0
    if (r && !(r.start >= 0 && r.size > 0 && r.start + r.size <= size))
      throw new AsyncifyError(`options.region ${r.start}+${r.size} is not inside the ${size}-byte memory`)
    const region = r ? regionArena(r.start, r.size, 'options.region') : null
    const own =
      data && secondary
        ? regionArena(16, data.buffer.byteLength - 16, 'the secondary memory', n => growBy(data, 16, n))
        : null
    const buffers = data && (own ?? region ?? alloc)
    const stacks = sp && (region ?? alloc)
    this.slots = new Slots(
      buffers,
      stacks,
      this.sizes,
      DATA_HEADER[wide ? 'i64' : 'i32'].size,
      data ? MISSING : '',
    )
    this.#queued = o !== false && !stacks
    this.sp = sp
  }

  /** options.stackPointer, else the metadata's, else an exported `__stack_pointer` or emscripten's accessors. */
  stackPointer(ex: WebAssembly.Exports): StackPointer | null {
    const o = this.options.stackPointer
    const a = this.plan.meta?.stackPointer
    if (o === false) return null
    const g = ex[o || (a?.kind === 'global' ? a.export : STACK_POINTER_GLOBAL)]
    if (g instanceof WebAssembly.Global)
      return stackPointer(
        () => g.value,
        v => {
          g.value = v
        },
      )
    if (o) throw noExport(`global ${o}`, 'options.stackPointer: ')
    const pairs = a?.kind === 'functions' ? [[a.get, a.set]] : EMSCRIPTEN_STACK_ACCESSORS
    const f = pairs.map(names => functions(ex, names)).find(Boolean)
    return f ? stackPointer(f[0] as Fn, f[1] as Fn) : null
  }
}

/** The exports `names` when they are all functions, else null. */
function functions(ex: WebAssembly.Exports, names: readonly string[]): unknown[] | null {
  const f = names.map(n => ex[n])
  return f.every(v => typeof v === 'function') ? f : null
}

/** The exported memory `named`, else `asyncify_memory`, else `memory`, else the first one. */
export function memoryOf(ex: WebAssembly.Exports, named?: string): WebAssembly.Memory {
  const m = named ? ex[named] : (ex[EXPORTS.memory] ?? ex.memory ?? Object.values(ex).find(isMemory))
  if (isMemory(m)) return m
  throw noExport(`memory ${named ?? ''}`)
}

export const isMemory = (v: unknown): v is WebAssembly.Memory => v instanceof WebAssembly.Memory

const MISSING =
  'asyncify mode needs memory for its buffers: export malloc/free (or name them in options.allocator), pass options.region, or rebuild with inSecondaryMemory'

/** Whether a memory is 64-bit: its grow() takes a bigint (a number throws a TypeError). */
export function isMemory64(memory: WebAssembly.Memory): boolean {
  try {
    ;(memory.grow as (delta: number) => number)(0)
    return false
  } catch {
    return true
  }
}

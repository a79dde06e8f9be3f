/**
 * Where buffers and C stacks live. Every call in flight (and every fiber) owns a slot: an asyncify
 * buffer (the `{ current, end }` header, then the space saved frames grow into) and, when the module
 * has a C stack pointer, a C stack region. When both live in the same memory a slot is one block,
 * `[header][buffer][C stack ↓]`, so an overflowing unwind runs into the slot's own stack bottom first.
 *
 * Blocks come from an `Arena`: the module's own allocator (exported `malloc`/`free`), a region the
 * caller hands over, or the secondary memory the rewrite made for the data (`inSecondaryMemory`),
 * which is the runtime's alone. Never from pages grown behind the module's allocator.
 *
 * Slots of the default sizes are pooled: a call that suspends costs no allocation once the pool is warm.
 */
import { DATA_HEADER, type PointerWidth } from './abi.js'
import { AsyncifyError } from './errors.js'

type Fn = (...args: unknown[]) => unknown

export interface Arena {
  alloc(size: number): number
  free(addr: number): void
}

const align = (n: number): number => (n + 15) & ~15

/** Blocks from the module's `malloc`/`free`. */
export function mallocArena(malloc: Fn, free: Fn, wide: boolean): Arena {
  return {
    alloc(size) {
      const at = Number(malloc(wide ? BigInt(size) : size))
      if (at === 0) throw new AsyncifyError(`the module's malloc(${size}) returned NULL`)
      return at
    },
    free: addr => void free(wide ? BigInt(addr) : addr),
  }
}

/** Blocks carved from `[start, start + size)`: a bump pointer, and freed blocks kept for their size. */
export function regionArena(start: number, size: number, what: string): Arena {
  let next = align(start)
  const end = start + size
  const freed = new Map<number, number[]>()
  const sizes = new Map<number, number>()
  return {
    alloc(n) {
      n = align(n)
      const reuse = freed.get(n)?.pop()
      if (reuse !== undefined) return reuse
      if (next + n > end)
        throw new AsyncifyError(
          `${what} (${size} bytes) has no room for another ${n}-byte block: give more room or smaller sizes`,
        )
      sizes.set(next, n)
      next += n
      return next - n
    },
    free(addr) {
      const n = sizes.get(addr) as number
      const list = freed.get(n)
      if (list === undefined) freed.set(n, [addr])
      else list.push(addr)
    },
  }
}

/** The C stack pointer: an exported global or emscripten's get/set functions. Values as numbers. */
export interface StackPointer {
  get(): number
  set(value: number): void
}

export function globalStackPointer(g: WebAssembly.Global): StackPointer {
  const wide = typeof g.value === 'bigint'
  return {
    get: () => Number(g.value),
    set: v => {
      g.value = wide ? BigInt(v) : v
    },
  }
}

export function functionStackPointer(get: Fn, set: Fn): StackPointer {
  let wide: boolean | undefined
  return {
    get: () => {
      const v = get()
      wide = typeof v === 'bigint'
      return Number(v)
    },
    set: v => void set(wide ? BigInt(v) : v),
  }
}

export class Slot {
  constructor(
    /** Address of the `{ current, end }` header (0 without a buffer). */
    readonly data: number,
    /** Bytes of the buffer after the header. */
    readonly size: number,
    /** Initial C stack pointer (0 without a C stack). */
    readonly top: number,
    readonly blocks: number[],
    readonly pooled: boolean,
  ) {}
}

export interface SlotSizes {
  asyncifyStackSize: number
  stackSize: number
}

/**
 * Hands out slots. `data` is the arena of the data memory (null in JSPI mode), `stacks` that of the
 * memory the C stack pointer points into (null without C stacks); `shared` when they are the same.
 */
export class Slots {
  private pool: Slot[] = []
  readonly header: number
  constructor(
    private readonly data: Arena | null,
    readonly stacks: Arena | null,
    private readonly shared: boolean,
    private readonly defaults: SlotSizes,
    readonly width: PointerWidth,
    private readonly missing: string,
  ) {
    this.header = DATA_HEADER[width].size
  }

  acquire(sizes?: SlotSizes): Slot {
    const pooled = sizes === undefined
    if (pooled) {
      const s = this.pool.pop()
      if (s !== undefined) return s
    }
    const { asyncifyStackSize: buffer, stackSize } = sizes ?? this.defaults
    const bufferBytes = this.data === null ? 0 : align(this.header + buffer)
    const stackBytes = this.stacks === null ? 0 : align(stackSize)
    if (this.data === null && this.missing !== '') throw new AsyncifyError(this.missing)
    if (this.shared && this.data !== null) {
      const at = this.data.alloc(bufferBytes + stackBytes)
      return new Slot(at, buffer, stackBytes === 0 ? 0 : at + bufferBytes + stackBytes, [at], pooled)
    }
    const at = this.data === null ? 0 : this.data.alloc(bufferBytes)
    const stack = this.stacks === null ? 0 : this.stacks.alloc(stackBytes)
    const blocks = [at, stack].filter(b => b !== 0)
    return new Slot(at, buffer, stack === 0 ? 0 : stack + stackBytes, blocks, pooled)
  }

  release(s: Slot): void {
    if (s.pooled && this.pool.length < 16) this.pool.push(s)
    else this.free(s)
  }

  free(s: Slot): void {
    for (const b of s.blocks) (this.shared || b === s.data ? this.data : this.stacks)?.free(b)
  }
}

/**
 * Admission of calls. Queued (no C stack per call): a call made from outside wasm while another is in
 * flight waits, in call order; a call made from inside wasm (an import calling back) never waits.
 */
export class Gate {
  private busy = 0
  private waiting: (() => void)[] = []
  constructor(readonly queued: boolean) {}

  /** Null when the call may start now (synchronously, as a call that suspends later); else when it may. */
  enter(nested: boolean): Promise<void> | null {
    if (this.queued && !nested && this.busy > 0) return new Promise<void>(r => this.waiting.push(r))
    this.busy++
    return null
  }

  /** The next waiting call takes over this one's place (counted before it wakes, so none overtakes it). */
  leave(): void {
    if (--this.busy > 0 || this.waiting.length === 0) return
    this.busy++
    ;(this.waiting.shift() as () => void)()
  }
}

/**
 * Where buffers and C stacks live. Every call in flight (and every fiber) owns a `Slot`: an asyncify
 * buffer (the `{ current, end }` header, then the room saved frames grow into) and, when the module has
 * a C stack pointer, a C stack region.
 *
 * Blocks come from an `Arena`: the module's allocator (exported `malloc`/`free`), a region the caller
 * hands over, or the secondary memory the rewrite made for the data (`inSecondaryMemory`), which is the
 * runtime's alone — never from pages grown behind the module's allocator. Slots of the default sizes
 * are pooled, so a call that suspends costs no allocation once the pool is warm.
 */
import { DATA_HEADER } from './abi.js'
import { AsyncifyError } from './errors.js'

export type Fn = (...args: unknown[]) => unknown

export interface Arena {
  alloc(size: number): number
  free(addr: number): void
}

const align = (n: number): number => (n + 15) & ~15

/** Blocks from the module's `malloc`/`free` (addresses as bigints for a 64-bit memory). */
export function mallocArena(malloc: Fn, free: Fn, wide: boolean): Arena {
  const arg = (n: number): number | bigint => (wide ? BigInt(n) : n)
  return {
    alloc(n) {
      const at = Number(malloc(arg(n)))
      if (at === 0) throw new AsyncifyError(`the module's malloc(${n}) returned NULL`)
      return at
    },
    free: at => void free(arg(at)),
  }
}

/** Blocks carved from `[start, start + size)`: a bump pointer, and freed blocks kept by size for reuse. */
export function regionArena(start: number, size: number, what: string): Arena {
  let next = align(start)
  const freed = new Map<number, number[]>()
  const sizes = new Map<number, number>()
  return {
    alloc(n) {
      n = align(n)
      const reused = freed.get(n)?.pop()
      if (reused !== undefined) return reused
      if (next + n > start + size)
        throw new AsyncifyError(
          `${what} (${size} bytes) has no room for another ${n}-byte block: enlarge it or lower the sizes`,
        )
      sizes.set(next, n)
      next += n
      return next - n
    },
    free(at) {
      const n = sizes.get(at) as number
      freed.set(n, [...(freed.get(n) ?? []), at])
    },
  }
}

/** The C stack pointer as a number, whether the module keeps it as i32 or i64. */
export interface StackPointer {
  get(): number
  set(value: number): void
}

export function stackPointer(read: () => unknown, write: (v: number | bigint) => void): StackPointer {
  const wide = typeof read() === 'bigint'
  return { get: () => Number(read()), set: v => write(wide ? BigInt(v) : v) }
}

export class Slot {
  constructor(
    /** Address of the `{ current, end }` header (0 without a buffer). */
    readonly data: number,
    /** Bytes of the buffer after the header. */
    readonly size: number,
    /** Address of the C stack block (0 without one); the stack pointer starts at its top. */
    readonly stack: number,
    readonly top: number,
    readonly pooled: boolean,
  ) {}
}

export interface SlotSizes {
  asyncifyStackSize: number
  stackSize: number
}

/**
 * Hands out slots: buffers from `data` (null in JSPI mode), C stacks from `stacks` (null without them).
 * `missing` is the error when asyncify mode has nowhere to put buffers.
 */
export class Slots {
  #pool: Slot[] = []
  readonly header: number
  constructor(
    readonly data: Arena | null,
    readonly stacks: Arena | null,
    readonly defaults: SlotSizes,
    wide: boolean,
    readonly missing: string,
  ) {
    this.header = DATA_HEADER[wide ? 'i64' : 'i32'].size
  }

  /** A slot of the default sizes (pooled), or of `sizes` (a fiber's: freed with `free`). */
  acquire(sizes?: SlotSizes): Slot {
    const pooled = sizes === undefined ? this.#pool.pop() : undefined
    if (pooled !== undefined) return pooled
    if (this.data === null && this.missing !== '') throw new AsyncifyError(this.missing)
    const { asyncifyStackSize: size, stackSize } = sizes ?? this.defaults
    const stack = this.stacks?.alloc(align(stackSize)) ?? 0
    const data = this.data?.alloc(align(this.header + size)) ?? 0
    // The stack pointer starts at the block's end, 16-aligned as the C ABI wants.
    return new Slot(data, size, stack, stack && (stack + align(stackSize)) & ~15, sizes === undefined)
  }

  release(s: Slot): void {
    if (s.pooled && this.#pool.length < 16) this.#pool.push(s)
    else this.free(s)
  }

  free(s: Slot): void {
    if (s.data) this.data?.free(s.data)
    if (s.stack) this.stacks?.free(s.stack)
  }
}

/**
 * Admission of calls. When queued (no C stack per call), a call made from outside wasm while another
 * is in flight waits, in call order; a call made from inside wasm (an import calling back) never waits,
 * since the outer call may be waiting for it.
 */
export class Gate {
  #busy = 0
  #waiting: (() => void)[] = []
  constructor(readonly queued: boolean) {}

  /** Null when the call may start now (synchronously); else a promise of when it may. */
  enter(nested: boolean): Promise<void> | null {
    if (this.queued && !nested && this.#busy > 0) return new Promise(r => this.#waiting.push(r))
    this.#busy++
    return null
  }

  /** The next waiting call takes this one's place (counted before it wakes, so none overtakes it). */
  leave(): void {
    if (--this.#busy > 0 || this.#waiting.length === 0) return
    this.#busy++
    ;(this.#waiting.shift() as () => void)()
  }
}

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
import { AsyncifyError } from './errors.js'

export type Fn = (...args: unknown[]) => unknown

export interface Arena {
  alloc(size: number): number
  free(addr: number): void
}

const align = (n: number): number => (n + 15) & ~15

/** `n` as the module's pointer type: a bigint for a 64-bit memory. */
export const pointer = (n: number, wide: boolean): number | bigint => (wide ? BigInt(n) : n)

/** Blocks from the module's `malloc`/`free`. */
export const mallocArena = (malloc: Fn, free: Fn, wide: boolean): Arena => ({
  alloc(n) {
    const at = Number(malloc(pointer(n, wide)))
    if (!at) throw new AsyncifyError(`the module's malloc(${n}) returned NULL`)
    return at
  },
  free: at => void free(pointer(at, wide)),
})

/**
 * Blocks carved from `[start, start + size)`: a bump pointer, and freed blocks kept by size for reuse.
 * `grow`, when given, is asked for at least `bytes` more room when the region is full (the secondary
 * memory, which is the runtime's alone) and returns the region's new size, or null when it cannot grow.
 */
export function regionArena(
  start: number,
  size: number,
  what: string,
  grow?: (bytes: number) => number | null,
): Arena {
  let next = align(start)
  const freed: Record<number, number[]> = {}
  const sizes: Record<number, number> = {}
  return {
    alloc(n) {
      n = align(n)
      const at = freed[n]?.pop() ?? next
      if (at === next) {
        if (next + n > start + size) size = grow?.(next + n - start - size) ?? size
        if (next + n > start + size)
          throw new AsyncifyError(
            `${what} (${size} bytes) has no room for another ${n}-byte block: enlarge it or lower the sizes`,
          )
        next += n
        sizes[at] = n
      }
      return at
    },
    free(at) {
      const n = sizes[at] as number
      freed[n] ??= []
      freed[n].push(at)
    },
  }
}

/** `memory` grown by whole pages for at least `bytes` more; its new size from `start`, or null at its maximum. */
export function growBy(memory: WebAssembly.Memory, start: number, bytes: number): number | null {
  try {
    memory.grow(Math.ceil(bytes / 65536))
  } catch {
    return null
  }
  return memory.buffer.byteLength - start
}

/** The C stack pointer as a number, whether the module keeps it as i32 or i64. */
export interface StackPointer {
  get(): number
  set(value: number): void
}

export function stackPointer(read: () => unknown, write: (v: number | bigint) => void): StackPointer {
  const wide = typeof read() === 'bigint'
  return { get: () => Number(read()), set: v => write(pointer(v, wide)) }
}

export interface Slot {
  /** Address of the `{ current, end }` header (0 without a buffer). */
  data: number
  /** Bytes of the buffer after the header. */
  size: number
  /** Address of the C stack block (0 without one); the stack pointer starts at its top. */
  stack: number
  top: number
  pooled: boolean
}

export interface SlotSizes {
  asyncifyStackSize: number
  stackSize: number
}

/** Checks that each size is a positive integer; `what` prefixes the option's name in the error. */
export function checkSizes(s: SlotSizes, what: string): SlotSizes {
  for (const [k, v] of Object.entries(s))
    if (!(Number.isInteger(v) && v > 0)) throw new AsyncifyError(`${what}${k} must be a positive integer`)
  return s
}

/**
 * Hands out slots: buffers from `data` (null in JSPI mode), C stacks from `stacks` (null without them).
 * `missing` is the error when asyncify mode has nowhere to put buffers.
 */
export class Slots {
  #pool: Slot[] = []
  constructor(
    readonly data: Arena | null,
    readonly stacks: Arena | null,
    readonly defaults: SlotSizes,
    /** Bytes of the data header (8, or 16 with 64-bit pointers). */
    readonly header: number,
    readonly missing: string,
  ) {}

  /** A slot of the default sizes (pooled), or of `sizes` (a fiber's: freed with `free`). */
  acquire(sizes?: SlotSizes): Slot {
    const pooled = sizes ? undefined : this.#pool.pop()
    if (pooled) return pooled
    if (!this.data && this.missing) throw new AsyncifyError(this.missing)
    const { asyncifyStackSize: size, stackSize } = sizes ?? this.defaults
    const stack = this.stacks?.alloc(align(stackSize)) ?? 0
    const data = this.data?.alloc(align(this.header + size)) ?? 0
    // The stack pointer starts at the block's end, 16-aligned as the C ABI wants.
    return { data, size, stack, top: stack && (stack + align(stackSize)) & ~15, pooled: !sizes }
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

/** A memory and a DataView of it, renewed by `word` when the memory grows. */
export interface MemoryView {
  memory: WebAssembly.Memory
  dv?: DataView
}

/** The u32 (or, `wide`, u64) at `at` of a memory, little-endian; `v` is written there first when given. */
export function word(view: MemoryView, at: number, v?: number, wide = false): number {
  const b = view.memory.buffer
  if (view.dv?.buffer !== b) view.dv = new DataView(b)
  const d = view.dv
  if (wide) {
    if (v !== undefined) d.setBigUint64(at, BigInt(v), true)
    return Number(d.getBigUint64(at, true))
  }
  if (v !== undefined) d.setUint32(at, v, true)
  return d.getUint32(at, true)
}

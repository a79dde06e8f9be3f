/**
 * What every panel's logic shares. A panel's logic takes an `Init` — the default export of a
 * `?asyncify` import in the page, or one the tests build from the core and the runtime — so the same
 * code runs in the browser and under vitest, and the DOM stays in ../main.ts.
 */
import type { AsyncifiedInstance, InstantiateOptions } from '@unplugin-asyncify/runtime'

/** `init(imports?, options?)`: the glue's default export (the runtime's `instantiate`, bound to one module). */
export type Init<E extends object> = (
  imports?: WebAssembly.Imports,
  options?: InstantiateOptions,
) => Promise<AsyncifiedInstance<E>>

export const delay = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Milliseconds since an arbitrary origin (performance.now exists in browsers and in Node). */
export const now = (): number => performance.now()

const decoder = new TextDecoder()

/** The NUL-terminated string at `ptr` in `memory`. */
export function cString(memory: WebAssembly.Memory, ptr: number): string {
  const bytes = new Uint8Array(memory.buffer)
  let end = ptr
  while (end < bytes.length && bytes[end] !== 0) end++
  return decoder.decode(bytes.subarray(ptr, end))
}

/** The `length` bytes at `ptr` in `memory`, as UTF-8 text. */
export function text(memory: WebAssembly.Memory, ptr: number, length: number): string {
  return decoder.decode(new Uint8Array(memory.buffer, ptr, length))
}

/** An import's view of the instance's memory, which exists only once `init` has resolved. */
export class MemoryRef {
  private current: WebAssembly.Memory | null = null

  bind(memory: WebAssembly.Memory): void {
    this.current = memory
  }

  /** `init(imports)`, then this reference bound to the instance's exported memory. */
  async init<E extends { memory: WebAssembly.Memory }>(
    init: Init<E>,
    imports: WebAssembly.Imports,
  ): Promise<E> {
    const { exports } = await init(imports)
    this.bind(exports.memory)
    return exports
  }

  get memory(): WebAssembly.Memory {
    if (this.current === null) throw new Error('an import used the memory before init() resolved')
    return this.current
  }
}

/** Rounds for display: 3 significant digits. */
export function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3)
}

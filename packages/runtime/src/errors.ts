/** Errors the runtime throws. Traps and exceptions from the module itself pass through unchanged. */

/** A misuse or a module the runtime cannot drive; the message names the export, import or option. */
export class AsyncifyError extends Error {
  override name = 'AsyncifyError'
}

/**
 * A suspension wrote past the end of an asyncify buffer (the control functions trap when
 * `current > end`). A trap of the instance, hence a `WebAssembly.RuntimeError`; the memory right after
 * the buffer was overwritten. `owner` names the export or fiber, `option` what raises the size.
 */
export class BufferOverflowError extends WebAssembly.RuntimeError {
  override name = 'BufferOverflowError'
  constructor(
    readonly owner: string,
    readonly size: number,
    readonly option: string,
  ) {
    super(`${owner} overflowed its ${size}-byte asyncify buffer: raise ${option}`)
  }
}

/** "the module exports no …", after what looked for it (`options.allocator: `). */
export const noExport = (what: string, where = ''): AsyncifyError =>
  new AsyncifyError(`${where}the module exports no ${what}`)

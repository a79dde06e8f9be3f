// The few WASI preview-1 functions the C fixtures import (stdio through fd_write), enough to run them
// without a WASI runtime: output is collected per file descriptor.
export interface WasiShim {
  imports: { wasi_snapshot_preview1: Record<string, (...args: number[]) => number> }
  /** Binds the memory (after instantiation). */
  bind(memory: WebAssembly.Memory): void
  output(fd?: number): string
}

const EBADF = 8
const ESPIPE = 70

export function wasiShim(): WasiShim {
  let memory: WebAssembly.Memory | null = null
  const out = new Map<number, string>()
  const decoder = new TextDecoder()
  const fdWrite = (fd: number, iovs: number, count: number, written: number): number => {
    if (memory === null) throw new Error('wasi shim: no memory bound')
    const view = new DataView(memory.buffer)
    let total = 0
    let text = ''
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + i * 8, true)
      const len = view.getUint32(iovs + i * 8 + 4, true)
      text += decoder.decode(new Uint8Array(memory.buffer, ptr, len))
      total += len
    }
    out.set(fd, (out.get(fd) ?? '') + text)
    view.setUint32(written, total, true)
    return 0
  }
  return {
    imports: {
      wasi_snapshot_preview1: {
        fd_write: fdWrite,
        fd_close: () => 0,
        fd_seek: () => ESPIPE,
        fd_fdstat_get: () => EBADF,
      },
    },
    bind(m) {
      memory = m
    },
    output: (fd = 1) => out.get(fd) ?? '',
  }
}

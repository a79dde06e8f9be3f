/** The few binaryen.js calls the rewrite makes, loaded only when needed (it takes ~0.5 s to start). */
import type Binaryen from 'binaryen'

export type BinaryenApi = typeof Binaryen
export type BinaryenModule = Binaryen.Module

export async function loadBinaryen(): Promise<BinaryenApi> {
  return (await import('binaryen')).default
}

/** Binaryen throws plain `{ message }` objects as well as Errors. */
export function binaryenMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  const m = (e as { message?: unknown } | null)?.message
  return typeof m === 'string' ? m : String(e)
}

/** Emits with the name section kept or dropped, restoring binaryen's global debug-info setting. */
export function emitBinary(b: BinaryenApi, mod: BinaryenModule, debugInfo: boolean): Uint8Array<ArrayBuffer> {
  const previous = b.getDebugInfo()
  b.setDebugInfo(debugInfo)
  try {
    return new Uint8Array(mod.emitBinary())
  } finally {
    b.setDebugInfo(previous)
  }
}

/** The few binaryen.js calls the rewrite makes, loaded only when needed (it takes ~0.5 s to start). */
import type Binaryen from 'binaryen'
import { AsyncifyError } from './errors.js'

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

interface BinaryenReader {
  readBinary(data: Uint8Array, features?: number): BinaryenModule
}

/** Runs binaryen passes on `bytes` with exactly the features the module uses (`features.ts`). */
export async function runBinaryen(
  bytes: Uint8Array,
  features: number,
  what: string,
  run: (mod: BinaryenModule, b: BinaryenApi) => void,
  debugInfo: boolean,
): Promise<Uint8Array<ArrayBuffer>> {
  const b = await loadBinaryen()
  let mod: BinaryenModule
  try {
    mod = (b as unknown as BinaryenReader).readBinary(bytes, features)
  } catch (e) {
    throw new AsyncifyError(`binaryen could not read the module for ${what}: ${binaryenMessage(e)}`)
  }
  try {
    mod.setFeatures(features)
    run(mod, b)
    return emitBinary(b, mod, debugInfo)
  } finally {
    mod.dispose()
  }
}

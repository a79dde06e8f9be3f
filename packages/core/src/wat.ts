/** `.wat` input, parsed by binaryen (our codec reads binaries only). */
import { AsyncifyError } from './errors.js'

export async function watToWasm(text: string, file: string): Promise<Uint8Array> {
  const binaryen = (await import('binaryen')).default
  let mod: ReturnType<typeof binaryen.parseText>
  try {
    mod = binaryen.parseText(text)
  } catch (e) {
    const m = (e as { message?: unknown } | null)?.message
    throw new AsyncifyError(`${file}: ${typeof m === 'string' ? m : String(e)}`)
  }
  try {
    // With every feature on, binaryen 132 writes compact imports (bit 26) and exact heap types (custom
    // descriptors, bit 21), which engines reject; everything else only matters if the text uses it.
    mod.setFeatures(binaryen.Features.All & ~((1 << 26) | (1 << 21)))
    if (!mod.validate()) throw new AsyncifyError(`${file}: the module does not validate`)
    // Keep the text's names: they make reports and lists (onlyList, ...) readable.
    const previous = binaryen.getDebugInfo()
    binaryen.setDebugInfo(true)
    try {
      return new Uint8Array(mod.emitBinary())
    } finally {
      binaryen.setDebugInfo(previous)
    }
  } finally {
    mod.dispose()
  }
}

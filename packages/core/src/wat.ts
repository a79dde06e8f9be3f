/** `.wat` input, parsed by binaryen (our codec reads binaries only). */
import { binaryenMessage, emitBinary, loadBinaryen } from './binaryen.js'
import { AsyncifyError } from './errors.js'

export async function watToWasm(text: string, file: string): Promise<Uint8Array> {
  const binaryen = await loadBinaryen()
  let mod: ReturnType<typeof binaryen.parseText>
  try {
    mod = binaryen.parseText(text)
  } catch (e) {
    throw new AsyncifyError(`${file}: ${binaryenMessage(e)}`)
  }
  try {
    // With every feature on, binaryen 132 writes compact imports (bit 26) and exact heap types (custom
    // descriptors, bit 21), which engines reject; everything else only matters if the text uses it.
    mod.setFeatures(binaryen.Features.All & ~((1 << 26) | (1 << 21)))
    if (!mod.validate()) throw new AsyncifyError(`${file}: the module does not validate`)
    // Keep the text's names: they make reports and lists (onlyList, ...) readable.
    return emitBinary(binaryen, mod, true)
  } finally {
    mod.dispose()
  }
}

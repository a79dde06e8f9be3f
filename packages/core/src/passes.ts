/**
 * binaryen passes named on a wasm-opt command line (`--strip-debug`, `--post-emscripten`, …), run through
 * binaryen.js with the options' optimizer settings: on the input when they stand before `--asyncify`, on
 * the output otherwise, as wasm-opt runs its passes in command-line order.
 */
import { decode, type FuncBody } from '@unplugin-asyncify/wasm'
import { type BinaryenModule, binaryenMessage, emitBinary, loadBinaryen } from './binaryen.js'
import { AsyncifyError } from './errors.js'
import { usedFeatures } from './features.js'
import { type BinaryenSettings, withBinaryenSettings } from './optimize.js'

/**
 * Runs `passes` in order on `bytes`. binaryen reads and writes the module with exactly the features it
 * uses; `keepNames` keeps the name section (the rewrite needs it on its input; on the output, `-g`).
 */
export async function runPasses(
  bytes: Uint8Array,
  passes: readonly string[],
  settings: BinaryenSettings,
  keepNames: boolean,
): Promise<Uint8Array<ArrayBuffer>> {
  const m = decode(bytes, { bodies: 'eager' })
  const features = usedFeatures(
    m,
    m.funcs.map(f => f.body as FuncBody),
  )
  const b = await loadBinaryen()
  let mod: BinaryenModule
  try {
    // binaryen.js 132 takes the features as readBinary's second argument (its typings do not say so).
    mod = (b.readBinary as (data: Uint8Array, features: number) => BinaryenModule)(bytes, features)
  } catch (e) {
    throw new AsyncifyError(`binaryen could not read the module for --${passes[0]}: ${binaryenMessage(e)}`)
  }
  try {
    mod.setFeatures(features)
    withBinaryenSettings(b, settings, () => {
      for (const pass of passes) {
        try {
          mod.runPasses([pass])
        } catch (e) {
          // binaryen.js's fatal errors carry no message; its usual cause is a missing pass argument.
          const known = e instanceof Error || typeof (e as { message?: unknown } | null)?.message === 'string'
          const why = known
            ? binaryenMessage(e)
            : 'binaryen stopped with a fatal error (does it need a --pass-arg?)'
          throw new AsyncifyError(`binaryen pass --${pass} failed: ${why}`)
        }
      }
    })
    return emitBinary(b, mod, keepNames)
  } finally {
    mod.dispose()
  }
}

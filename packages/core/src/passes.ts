/**
 * binaryen passes named on a wasm-opt command line (`--strip-debug`, `--post-emscripten`, …), run through
 * binaryen.js with the options' optimizer settings: on the input when they stand before `--asyncify`, on
 * the output otherwise, as wasm-opt runs its passes in command-line order.
 */
import { decode } from '@unplugin-asyncify/wasm'
import { type BinaryenApi, type BinaryenModule, binaryenMessage, runBinaryen } from './binaryen.js'
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
  const run = (mod: BinaryenModule, b: BinaryenApi): void =>
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
  return runBinaryen(bytes, usedFeatures(m), `--${passes[0]}`, run, keepNames)
}

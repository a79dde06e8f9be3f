/**
 * binaryen's legacy-EH translation as the rewrite used it before legacy-eh.ts: read the input bytes into
 * binaryen, run `translate-to-exnref`, emit, decode the result again. Not used by `asyncify`; kept
 * callable so the EH benchmark can time it against ours in the same run (through `asyncifyWith`).
 */
import { decode } from '@unplugin-asyncify/wasm'
import { runBinaryen } from './binaryen.js'
import { usedFeatures } from './features.js'
import type { LegacyEhTranslation } from './legacy-eh.js'
import { liftAll } from './prepare-input.js'

export const translateWithBinaryen: LegacyEhTranslation = async (input, m) => {
  const converted = await runBinaryen(
    input,
    usedFeatures(m),
    'translate-to-exnref',
    mod => mod.runPasses(['translate-to-exnref']),
    true,
  )
  const module = decode(converted, { bodies: 'lazy' })
  liftAll(module)
  return module
}

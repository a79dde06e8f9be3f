/**
 * binaryen's legacy-EH translation as the rewrite used it before legacy-eh.ts: read the input bytes into
 * binaryen, run `translate-to-exnref`, emit, decode the result again. Not used by `asyncify`; kept
 * callable so the EH benchmark can time it against ours in the same run (through `asyncifyWith`).
 */
import { decode } from '@unplugin-asyncify/wasm'
import { decodeAll, runBinaryen } from './asyncify.js'
import { usedFeatures } from './features.js'
import { firstLegacyEhBody, type LegacyEhTranslation } from './legacy-eh.js'

export const translateWithBinaryen: LegacyEhTranslation = async (input, m, bodies) => {
  if (firstLegacyEhBody(bodies) < 0) return { module: m, bodies, translated: false }
  const converted = await runBinaryen(
    input,
    usedFeatures(m, bodies),
    'translate-to-exnref',
    mod => mod.runPasses(['translate-to-exnref']),
    true,
  )
  const module = decode(converted, { bodies: 'lazy' })
  return { module, bodies: decodeAll(module), translated: true }
}

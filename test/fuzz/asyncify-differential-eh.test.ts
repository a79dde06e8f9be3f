// Differential fuzzing of the asyncify rewrite on modules with exception handling (exnref), reference
// types and GC, against the uninstrumented module only: binaryen's asyncify aborts on try_table and
// refuses reference-typed locals. Exceptions reaching JS are compared by tag, payload and identity,
// references by identity (asyncify-exec.ts). Seeds and environment variables: asyncify-differential-suite.ts.
//
// 500 seeds by default: about a third of these modules have a function returning a non-nullable
// reference our rewrite cannot make a stand-in value for, which it refuses (skipped, see `refusal` in
// asyncify-harness.ts), so ~300 are compared.

import { describeDifferentialFuzz } from './asyncify-differential-suite.js'
import { fuzzVariants } from './asyncify-harness.js'

describeDifferentialFuzz(fuzzVariants.eh, {
  defaultSeeds: 500,
  // A third of the modules are refused (no suspension to sabotage).
  selfTestSeeds: 40,
  minRunShare: 0.5,
  minSuspensionsPerSeed: 5,
})

// Differential fuzzing of the asyncify rewrite on modules with exception handling (exnref), reference
// types and GC, against the uninstrumented module only: binaryen's asyncify aborts on try_table and
// refuses reference-typed locals. Exceptions reaching JS are compared by tag, payload and identity,
// references by identity (asyncify-exec.ts). Seeds and environment variables: asyncify-differential-suite.ts.
//
// 320 seeds by default. About 3% of these modules have a function returning a non-nullable reference
// no value can be made for (a bottom type, or a function type no function has); those leave an
// unwinding frame by throwing (docs/asyncify.md), so nothing is refused for that any more (a refusal
// would be skipped, see `refusal` in asyncify-harness.ts; `--refusals-fail` counts them as failures).

import { describeDifferentialFuzz } from './asyncify-differential-suite.js'
import { fuzzVariants } from './asyncify-harness.js'

describeDifferentialFuzz(fuzzVariants.eh, {
  defaultSeeds: 320,
  selfTestSeeds: 40,
  minRunShare: 0.5,
  minSuspensionsPerSeed: 5,
})

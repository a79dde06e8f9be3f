// Differential fuzzing of the asyncify rewrite against the uninstrumented module and binaryen's own
// asyncify, suspending at every import call: numeric features only (see asyncify-harness.ts and
// asyncify-differential-suite.ts for the seeds and environment variables).

import { describeDifferentialFuzz } from './asyncify-differential-suite.js'
import { fuzzVariants } from './asyncify-harness.js'

describeDifferentialFuzz(fuzzVariants.mvp, {
  defaultSeeds: 300,
  selfTestSeeds: 20,
  minRunShare: 0.9,
  minSuspensionsPerSeed: 10,
})

import { defineConfig } from 'vitest/config'

// Workspace packages resolve to their TypeScript sources through the `source` export condition,
// so tests never need a build (except the smoke tests that check built output on purpose).
const conditions = ['source', 'module', 'node', 'development|production']

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/.cache/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: one worker per core; tests that spawn processes (wasm-opt, node 20) still overlap well.
    pool: 'forks',
    maxWorkers: 2,
    // In CI, also write a JSON report; .ci/run prints a one-line summary from it.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test/.cache/vitest-results.json' },
  },
})

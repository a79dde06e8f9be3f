// A Vitest test importing `?asyncify`: runs the project in ./vitest (its own config, with the plugin)
// as an app's test suite would, and checks that its test passed.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ensurePluginBuilt, here, root, tempDir } from './helpers.js'

it('a Vitest test file imports an ?asyncify module and runs it', () => {
  ensurePluginBuilt()
  const r = spawnSync('npx', ['vitest', 'run', '--config', join(here, 'vitest', 'vitest.config.ts')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ASYNCIFY_CACHE: tempDir('vitest-cache'), CI: '' },
    timeout: 120_000,
  })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the colours of vitest's summary
  const output = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '')
  expect(output).toMatch(/Tests\s+1 passed \(1\)/)
  expect(r.status, output).toBe(0)
})

// The codec (packages/wasm/dist, built by `npm run build`) must run on Node 20, the oldest Node the
// transforms support, even though the test suite itself runs on Node 26.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { binaryenValidate } from '../helpers/binaryen.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A `node` binary of major version 20 outside node_modules (the system one), if any. */
function findNode20(): string | undefined {
  const candidates = ['/usr/local/bin/node', '/usr/bin/node']
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && !dir.includes('node_modules')) candidates.push(join(dir, 'node'))
  }
  for (const candidate of new Set(candidates)) {
    if (!existsSync(candidate)) continue
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim()
      if (version.startsWith('v20.')) return candidate
    } catch {
      // not runnable; try the next one
    }
  }
  return undefined
}

const node20 = findNode20()
if (!node20)
  console.warn('node20 smoke test skipped: no Node 20 binary found in /usr/local/bin, /usr/bin or PATH')

describe.skipIf(!node20)('codec and transform on Node 20', () => {
  it('round-trips examples/hello.wasm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'node20-'))
    try {
      const output = join(dir, 'out.wasm')
      const run = spawnSync(
        node20 as string,
        [join(root, 'test/smoke/node20-roundtrip.mjs'), join(root, 'examples/hello.wasm'), output],
        { encoding: 'utf8', timeout: 60_000 },
      )
      const lastLine = run.stdout.trim().split('\n').pop() ?? ''
      let result: {
        ok: boolean
        node: string
        bytesIn: number
        bytesOut: number
        valid: boolean
        error?: string
      }
      try {
        result = JSON.parse(lastLine)
      } catch {
        throw new Error(`no JSON from the Node 20 run (status ${run.status}):\n${run.stdout}\n${run.stderr}`)
      }
      expect(result.error).toBeUndefined()
      expect(result.ok).toBe(true)
      expect(result.node).toMatch(/^v20\./)
      expect(result.bytesOut).toBeGreaterThan(8)
      expect(result.valid).toBe(true)
      expect(binaryenValidate(readFileSync(output))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs the asyncify transform (wasm-asyncify) on QuickJS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'node20-'))
    try {
      const output = join(dir, 'out.wasm')
      const input = join(root, 'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm')
      const run = spawnSync(
        node20 as string,
        [join(root, 'packages/core/dist/cli.js'), input, '-o', output],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      )
      expect(run.stderr).toMatch(/functions instrumented/)
      expect(run.status).toBe(0)
      const bytes = readFileSync(output)
      // Node 26 (this process) compiles it; Node 20 would too, as QuickJS uses no exception handling.
      expect(WebAssembly.validate(bytes)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})

// A browser subset: Debian's Chromium (driven by playwright-core) loads the built runtime and the
// fixtures from a local HTTP server whose pages allow only `script-src 'self' 'wasm-unsafe-eval'` (so
// any eval or new Function in the runtime would be refused), checks that JSPI exists there and runs a
// few cases in both modes (browser/page.js). .ci/run installs chromium when it is missing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js'
import { cFixture, fixture, pipelineResult } from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const runtimeDist = join(root, 'packages/runtime/dist')

const WATS = {
  sleep: [
    `(module
      (import "env" "sleep" (func $sleep))
      (import "env" "log" (func $log (param i32)))
      (memory (export "memory") 1)
      (func (export "sleepLoop") (param $n i32) (result i32)
        (local $i i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (call $sleep) (call $log (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
        (local.get $i)))`,
    { imports: ['env.sleep'], inSecondaryMemory: true },
  ],
  reject: [
    `(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "catchAll") (param i32) (result i32)
        (block $caught (try_table (catch_all $caught) (return (call $get (local.get 0)))))
        (i32.const -1)))`,
    { inSecondaryMemory: true },
  ],
  fibers: [
    `(module
      (import "fiber" "yield" (func $yield (param i32) (result i32)))
      (import "env" "sleep" (func $sleep (param i32) (result i32)))
      (import "env" "who" (func $who))
      (memory (export "memory") 1)
      (func (export "count") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (call $yield (call $sleep (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
        (local.get $acc)))`,
    { imports: ['fiber.yield', 'env.sleep'], inSecondaryMemory: true, secondaryMemorySize: 2 },
  ],
} as const

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
}

let server: Server
let base = ''

function serve(files: Map<string, Uint8Array | string>): Promise<string> {
  server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname)
    let body = files.get(path)
    if (body === undefined && path.startsWith('/runtime/')) {
      const file = join(runtimeDist, path.slice('/runtime/'.length))
      if (file.startsWith(runtimeDist) && existsSync(file)) body = readFileSync(file)
    }
    if (body === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, {
      'content-type': path === '/' ? 'text/html' : (TYPES[extname(path)] ?? 'application/octet-stream'),
      'content-security-policy': "script-src 'self' 'wasm-unsafe-eval'",
    })
    res.end(body)
  })
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  )
}

it('the runtime source has no eval, new Function or string timers (a static check; Chromium checks the CSP)', () => {
  const dir = join(root, 'packages/runtime/src')
  for (const file of readdirSync(dir).filter(f => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    expect(text, file).not.toMatch(
      /\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(|set(Timeout|Interval)\s*\(\s*['"`]/,
    )
  }
})

describe.skipIf(!existsSync(CHROMIUM))(`in Chromium (${CHROMIUM}; .ci/run installs it)`, () => {
  beforeAll(async () => {
    if (!existsSync(join(runtimeDist, 'index.js')))
      execFileSync('npx', ['tsc', '-b', 'packages/runtime'], { cwd: root })
    const files = new Map<string, Uint8Array | string>([
      ['/', '<!doctype html><script type="module" src="/page.js"></script>'],
      ['/page.js', readFileSync(new URL('./browser/page.js', import.meta.url))],
    ])
    for (const [name, [text, options]] of Object.entries(WATS)) {
      const f = await fixture(text, options)
      files.set(`/fixtures/${name}.wasm`, f.original)
      files.set(`/fixtures/${name}.async.wasm`, f.binary)
    }
    const c = await cFixture('fibers-O2', { imports: ['env.emscripten_fiber_swap', 'env.pause'] })
    files.set('/fixtures/fibers-O2.wasm', c.original)
    files.set('/fixtures/fibers-O2.async.wasm', c.binary)
    base = await serve(files)
  })

  afterAll(() => new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve())))

  it('has JSPI, runs every case in both modes, and violates no CSP', async () => {
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'runtime-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    })
    try {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', e => errors.push(String(e)))
      await page.goto(`${base}/`)
      await page.waitForFunction(() => (window as unknown as { done?: boolean }).done === true, null, {
        timeout: 60_000,
      })
      const { results, violations } = await page.evaluate(() => {
        const w = window as unknown as { results: Record<string, unknown>; violations: string[] }
        return { results: w.results, violations: w.violations }
      })
      expect(errors).toEqual([])
      expect(violations).toEqual([])
      expect(results.jspi).toBe(true)
      for (const mode of ['asyncify', 'jspi']) {
        expect(results[`sleepLoop ${mode}`]).toBe(5)
        expect(results[`rejection ${mode}`]).toEqual([3, -1])
        expect(results[`concurrent ${mode}`]).toEqual([1, 2, 3, 4, 5])
        expect(results[`jsFibers ${mode}`]).toEqual([
          0,
          0,
          0,
          1,
          1,
          1,
          ...[0, 1, 2].map(i => ({ done: true, value: i + i * 10 })),
        ])
        expect(results[`emscriptenFibers ${mode}`]).toEqual([
          pipelineResult(100),
          1000,
          'pipeline(100): 50 values\n',
        ])
      }
    } finally {
      await context.close()
    }
  })
})

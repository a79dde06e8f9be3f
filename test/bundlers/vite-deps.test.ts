// A package in node_modules that imports its own `engine.wasm?asyncify` and `engine.wat?asyncify`, under
// Vite's dependency optimizer (Rolldown in Vite 8, esbuild in Vite 7): the package is pre-bundled, its
// `?asyncify` imports stay out of the pre-bundle and go through the plugin. (The optimizer leaves a
// `.wasm` import alone by itself, as an asset; it would try to bundle the `.wat` one as code.)
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, pageOutput, recordingPage } from './browser.js'
import { EXPECTED, fixture, startDevServer, tempDir } from './helpers.js'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** An app whose page imports `wasm-pkg`, a package shipping engine.wasm and importing it with `?asyncify`. */
function appWithPackage(): string {
  const dir = tempDir('vite-deps')
  const pkg = join(dir, 'node_modules', 'wasm-pkg')
  mkdirSync(pkg, { recursive: true })
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({ name: 'wasm-pkg', type: 'module', main: 'index.js' }),
  )
  copyFileSync(join(fixture, 'engine.wasm'), join(pkg, 'engine.wasm'))
  copyFileSync(join(fixture, 'engine.wat'), join(pkg, 'engine.wat'))
  copyFileSync(join(fixture, 'scenarios.js'), join(pkg, 'scenarios.js'))
  writeFileSync(
    join(pkg, 'index.js'),
    [
      "import init, * as glue from './engine.wasm?asyncify'",
      "import initText from './engine.wat?asyncify'",
      "import { imports, memory, runScenarios } from './scenarios.js'",
      'export async function run() {',
      '  const text = await initText(imports, memory)',
      '  return { ...(await runScenarios(init, glue)), fromText: await text.exports.double_after_sleep(5) }',
      '}',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"></head><body><pre id="out">running</pre><script type="module" src="./main.js"></script></body></html>',
  )
  writeFileSync(
    join(dir, 'main.js'),
    [
      "import { run } from 'wasm-pkg'",
      "const out = document.querySelector('#out')",
      "run().then(r => { out.textContent = JSON.stringify(r) }, e => { out.textContent = 'error: ' + e })",
      '',
    ].join('\n'),
  )
  return dir
}

describe.each([['vite'], ['vite7']] as const)('%s dev server', vite => {
  it('pre-bundles a package that imports its own ?asyncify module, which still works', async () => {
    const dir = appWithPackage()
    const { server, url } = await startDevServer(dir, vite)
    try {
      const { page, errors } = await recordingPage(browser)
      const requests: string[] = []
      page.on('request', r => requests.push(new URL(r.url()).pathname))
      await page.goto(url)
      expect(await pageOutput(page)).toMatchObject({ ...EXPECTED, fromText: 10 })
      expect(requests.some(p => p.endsWith('/.vite/deps/wasm-pkg.js'))).toBe(true)
      expect(requests.some(p => p.endsWith('/node_modules/wasm-pkg/engine.wasm'))).toBe(true)
      expect(requests.some(p => p.endsWith('/node_modules/wasm-pkg/engine.wat'))).toBe(true)
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await server.close()
    }
  })
})

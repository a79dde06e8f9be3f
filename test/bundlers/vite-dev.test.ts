// Vite's dev server with Chromium: the page runs the module; rebuilding engine.wasm on disk hot-updates
// an importer that accepts it (its JS state kept) and reloads a page whose importer does not; a broken
// binary shows Vite's error overlay with the file and the reason, and the next good build clears it.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import type { ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveUntilSeen as save } from '../helpers/save.js'
import { launchChromium, pageOutput, recordingPage } from './browser.js'
import { copyFixture, EXPECTED, engineWithVersion, startDevServer } from './helpers.js'

let browser: Browser
const servers: ViteDevServer[] = []

async function serve(dir: string): Promise<string> {
  const { server, url } = await startDevServer(dir)
  servers.push(server)
  return url
}

beforeAll(async () => {
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const s of servers) await s.close()
})

describe('Vite dev server', () => {
  it('serves a page that runs the module, in the page and in a Web Worker', async () => {
    const url = await serve(copyFixture('vite-dev'))
    for (const html of ['index.html', 'worker.html']) {
      const { page, errors } = await recordingPage(browser)
      await page.goto(`${url}/${html}`)
      expect(await pageOutput(page)).toMatchObject(EXPECTED)
      expect(errors).toEqual([])
      await page.close()
    }
  })

  it('hot-updates an accepting importer, shows a broken build in the overlay, recovers on the next good one', async () => {
    const dir = copyFixture('vite-hmr')
    const url = await serve(dir)
    const { page } = await recordingPage(browser)
    await page.goto(`${url}/hmr.html`)
    expect(await pageOutput(page)).toMatchObject({ ...EXPECTED, updates: 0 })
    await page.evaluate('window.marker = 42')

    const engine = join(dir, 'engine.wasm')
    // One write may reach the watcher as more than one change, hence "at least".
    const v2 = await save(engine, await engineWithVersion(2), timeout => pageOutput(page, 2, timeout))
    expect(v2).toMatchObject({ ...EXPECTED, version: 2 })
    expect(v2.updates).toBeGreaterThanOrEqual(1)
    expect(await page.evaluate('window.marker')).toBe(42)

    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x01, 0x05])
    const overlay = await save(engine, broken, timeout =>
      page.waitForFunction(
        `(() => {
          const root = document.querySelector('vite-error-overlay')?.shadowRoot
          const text = sel => root?.querySelector(sel)?.textContent ?? ''
          return root && { plugin: text('.plugin'), file: text('.file'), message: text('.message-body') }
        })()`,
        undefined,
        { timeout },
      ),
    )
    const shown = (await overlay.jsonValue()) as Record<string, string>
    expect(shown.plugin).toMatch(/unplugin-asyncify/)
    expect(shown.file).toMatch(/engine\.wasm$/)
    expect(shown.message).toMatch(/^engine\.wasm: section size 5 runs past the end of the module at byte 0x8/)

    const v3 = await save(engine, await engineWithVersion(3), timeout => pageOutput(page, 3, timeout))
    expect(v3).toMatchObject({ ...EXPECTED, version: 3 })
    expect(v3.updates).toBeGreaterThan(v2.updates as number)
    await page.waitForFunction(`!document.querySelector('vite-error-overlay')`, undefined, {
      timeout: 20_000,
    })
    expect(await page.evaluate('window.marker')).toBe(42)
    await page.close()
  })

  it('reloads a page whose importer does not accept the update', async () => {
    const dir = copyFixture('vite-reload')
    const url = await serve(dir)
    const { page } = await recordingPage(browser)
    await page.goto(`${url}/reload.html`)
    expect(await pageOutput(page)).toEqual({ version: 1 })
    await page.evaluate('window.marker = 42')
    writeFileSync(join(dir, 'engine.wasm'), await engineWithVersion(2))
    expect(await pageOutput(page, 2)).toEqual({ version: 2 })
    expect(await page.evaluate('window.marker')).toBeUndefined()
    await page.close()
  })
})

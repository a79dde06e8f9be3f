// Vite builds of the fixture beyond the Node bundle of bundlers.test.ts: the browser app served by
// `vite preview` under a strict Content-Security-Policy in every mode, the app in a Web Worker (the
// plugin joins `worker.plugins` by itself), and an SSR build run in Node.
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import asyncify from 'unplugin-asyncify/vite'
import { build, createLogger, type Logger, type PreviewServer, preview } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, pageOutput, recordingPage } from './browser.js'
import { EXPECTED, ensurePluginBuilt, fixture, runBundle, tempDir } from './helpers.js'

const CSP = "script-src 'self' 'wasm-unsafe-eval'"
const work = tempDir('vite-build')
const cache = join(work, 'cache')
let browser: Browser
let server: PreviewServer
let url: string

beforeAll(async () => {
  ensurePluginBuilt()
  await build({
    root: fixture,
    configFile: false,
    logLevel: 'warn',
    plugins: [asyncify({ mode: 'auto', cache })],
    build: {
      outDir: join(work, 'web'),
      emptyOutDir: true,
      rollupOptions: { input: [join(fixture, 'index.html'), join(fixture, 'worker.html')] },
    },
    worker: { format: 'es' },
  })
  server = await preview({
    root: fixture,
    configFile: false,
    logLevel: 'warn',
    build: { outDir: join(work, 'web') },
    preview: { port: 0, host: '127.0.0.1', headers: { 'Content-Security-Policy': CSP } },
  })
  url = String(server.resolvedUrls?.local[0]).replace(/\/$/, '')
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe(`vite preview with ${CSP}`, () => {
  it.each([
    ['auto', '', 'jspi'],
    ['asyncify', '?mode=asyncify', 'asyncify'],
    ['jspi', '?mode=jspi', 'jspi'],
  ])('runs the app in mode %s with no console error', async (_, query, ran) => {
    const { page, errors } = await recordingPage(browser)
    const response = await page.goto(`${url}/index.html${query}`)
    expect(response?.headers()['content-security-policy']).toBe(CSP)
    expect(await pageOutput(page)).toMatchObject({ ...EXPECTED, mode: ran })
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs the app in a Web Worker', async () => {
    const { page, errors } = await recordingPage(browser)
    await page.goto(`${url}/worker.html`)
    expect(await pageOutput(page)).toMatchObject({ ...EXPECTED, mode: 'jspi' })
    expect(errors).toEqual([])
    await page.close()
  })
})

it('an SSR build runs in Node, reading the emitted binary from disk, and warns of nothing', async () => {
  const outDir = join(work, 'ssr')
  const warnings: string[] = []
  await build({
    root: fixture,
    configFile: false,
    logLevel: 'warn',
    customLogger: silentLogger(warnings),
    plugins: [asyncify({ cache })],
    build: { ssr: join(fixture, 'main.js'), outDir, emptyOutDir: true },
  })
  expect(await runBundle(join(outDir, 'main.js'))).toMatchObject({ ...EXPECTED, mode: 'asyncify' })
  // Emitting the binaries again once Vite dropped them made the bundler warn of a file name conflict.
  expect(warnings).toEqual([])
})

/** A Vite logger that keeps warnings and errors (info is dropped). */
function silentLogger(into: string[]): Logger {
  const logger = createLogger('warn')
  logger.warn = msg => into.push(msg)
  logger.warnOnce = msg => into.push(msg)
  logger.error = msg => into.push(msg)
  return logger
}

// One measurement of the plugin benchmark (plugin.mjs), in a fresh process: a Vite dev server with the
// built plugin on an app that imports QuickJS with `?asyncify`.
//
//   plugin-worker.mjs load <appDir> <cacheDir>       the glue request of a fresh server: a cold
//                                                    transform with an empty cache, a hit with a full one
//   plugin-worker.mjs hmr <appDir> <cacheDir> <n>    n rebuilds of quickjs.wasm written to disk, each timed
//                                                    until the page's accept callback has instantiated it
//
// Prints one JSON line. Loading Vite, the plugin and Chromium happens before any clock starts.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import asyncify from 'unplugin-asyncify/vite'
import { createServer } from 'vite'
// Node 26 runs the TypeScript helper directly (type stripping): one set of Chromium flags.
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.ts'

const [op, app, cache, count] = process.argv.slice(2)

/** Durations of the plugin's load hook (the glue: hash, cache lookup or transform, glue text). */
const hookMs = []

function timedPlugin() {
  const plugin = asyncify({ cache })
  const { handler } = plugin.load
  plugin.load.handler = async function (...args) {
    const t0 = performance.now()
    try {
      return await handler.apply(this, args)
    } finally {
      hookMs.push(performance.now() - t0)
    }
  }
  return plugin
}

async function serve() {
  const server = await createServer({
    root: app,
    configFile: false,
    logLevel: 'silent',
    plugins: [timedPlugin()],
    server: { port: 0, host: '127.0.0.1' },
  })
  await server.listen()
  const base = String(server.resolvedUrls?.local[0])
  // Vite's own first-request costs (plugin container, import analysis) are not the plugin's.
  await (await fetch(`${base}warmup.js`)).text()
  return { server, base }
}

async function load() {
  const { server, base } = await serve()
  const t0 = performance.now()
  const response = await fetch(`${base}quickjs.wasm?import&asyncify`)
  const text = await response.text()
  const ms = performance.now() - t0
  await server.close()
  if (!response.ok || !text.includes('export default'))
    throw new Error(`glue request failed: ${response.status}`)
  return { op, ms, hookMs: hookMs[0] }
}

/** QuickJS with a custom section holding `n`: a new binary for the transform, the same program. */
function rebuilt(original, n) {
  const name = new TextEncoder().encode('bench')
  const payload = [name.length, ...name, n & 0x7f]
  return new Uint8Array([...original, 0, payload.length, ...payload])
}

async function hmr() {
  const wasm = join(app, 'quickjs.wasm')
  const original = readFileSync(wasm)
  const { server, base } = await serve()
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const page = await browser.newPage()
    await page.goto(`${base}index.html`)
    const updated = n =>
      page.waitForFunction(want => window.updates === want, n, { timeout: 60_000, polling: 5 })
    await updated(0)
    const ms = []
    for (let i = 1; i <= Number(count); i++) {
      const t0 = performance.now()
      writeFileSync(wasm, rebuilt(original, i))
      await updated(i)
      ms.push(performance.now() - t0)
      const error = await page.evaluate(() => window.updateError)
      if (error) throw new Error(`the page failed to instantiate update ${i}: ${error}`)
    }
    return { op, ms }
  } finally {
    writeFileSync(wasm, original)
    await browser.close()
    await server.close()
  }
}

const ops = { load, hmr }
if (!(op in ops)) throw new Error('usage: plugin-worker.mjs load <app> <cache> | hmr <app> <cache> <n>')
console.log(JSON.stringify(await ops[op]()))

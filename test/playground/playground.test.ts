// The playground as a newcomer starts it: `npm run playground -- --port <free port>` from the repository
// root (which builds the packages first, then starts Vite), opened in Debian's Chromium through
// playwright-core. The test clicks every panel's button and checks its result text, edits hot.wat in
// the page's editor and then on disk and sees the panel update without a page reload, and saves a
// screenshot to test/.cache/playground.png. .ci/run installs chromium when it is missing.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../bundlers/browser.js'
import { CHROMIUM } from '../helpers/chromium.js'
import { saveUntilSeen } from '../helpers/save.js'
import { playground } from './helpers.js'

const root = join(playground, '..')
const hotWat = join(playground, 'src/wasm/hot.wat')
const screenshot = join(root, 'test/.cache/playground.png')
const greeting = readFileSync(join(playground, 'public/data/greeting.txt'), 'utf8')
const words = greeting.split(/\s+/).filter(w => w !== '').length

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(address)))
    })
  })
}

/** Starts `npm run playground -- --port <port> --strictPort`; resolves with its URL once Vite listens. */
function startPlayground(port: number): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn('npm', ['run', 'playground', '--', '--port', String(port), '--strictPort'], {
    cwd: root,
    detached: true, // its own process group: npm, the shell and Vite end together
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  })
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the playground did not start in 120 s:\n${output}`)),
      120_000,
    )
    const seen = (chunk: Buffer): void => {
      output += chunk
      const url = /Local:\s+(http:\/\/\S+)/.exec(output)?.[1]
      if (url !== undefined) {
        clearTimeout(timer)
        resolve({ child, url, output: () => output })
      }
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`npm run playground exited with ${code}:\n${output}`))
    })
  })
}

/** Clicks a panel's button and resolves with its result text once the panel is done. */
async function runPanel(page: Page, id: string): Promise<string> {
  await page.click(`#${id} .actions button`)
  return resultOf(page, id)
}

async function resultOf(page: Page, id: string, includes = '', timeout = 60_000): Promise<string> {
  const handle = await page.waitForFunction(
    ([id, includes]) => {
      const out = document.querySelector<HTMLOutputElement>(`#${id} output.result`)
      const state = out?.dataset.state
      if (state === 'error') return `error: ${out?.textContent}`
      return state === 'done' && out?.textContent?.includes(includes) ? out.textContent : false
    },
    [id, includes] as const,
    { timeout },
  )
  const text = (await handle.jsonValue()) as string
  if (text.startsWith('error:')) throw new Error(`panel ${id} failed: ${text}`)
  return text
}

describe.skipIf(!existsSync(CHROMIUM))(
  `the playground in Chromium (${CHROMIUM}; .ci/run installs it)`,
  () => {
    const originalHotWat = readFileSync(hotWat, 'utf8')
    let server: Awaited<ReturnType<typeof startPlayground>> | undefined
    let browser: Browser | undefined

    beforeAll(async () => {
      server = await startPlayground(await freePort())
      browser = await launchChromium()
    }, 180_000)

    afterAll(async () => {
      writeFileSync(hotWat, originalHotWat)
      await browser?.close()
      const pid = server?.child.pid
      if (pid !== undefined && server?.child.exitCode === null) process.kill(-pid, 'SIGTERM')
    })

    it('runs every panel, hot-reloads hot.wat from the editor and from disk, and looks right', async () => {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
      const errors: string[] = []
      const failed: string[] = []
      page.on('pageerror', e => errors.push(String(e)))
      page.on('console', m => {
        // A failed load is reported as a console error too; `failed` says which URL.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
      })
      page.on('response', r => {
        if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`)
      })
      await page.goto(server!.url)
      await page.waitForSelector('#panel-hot output.result')
      expect(await page.textContent('#engine')).toBe('This browser has JSPI: panel 4 runs both modes.')

      const fetched = await runPanel(page, 'panel-fetch')
      expect(fetched).toMatch(/^3 × \(sleep 300 ms, fetch data\/greeting\.txt\) in (\d+) ms\n/)
      expect(Number(/in (\d+) ms/.exec(fetched)?.[1])).toBeGreaterThanOrEqual(900)
      expect(fetched).toContain(`C counted ${3 * words} words (3 texts of ${greeting.length} bytes)`)
      expect(await page.$$eval('#panel-fetch .log li', items => items.map(i => i.textContent))).toEqual(
        [0, 1, 2].map(i => `step ${i}: ${greeting.trim()}`),
      )

      const exceptions = (await runPanel(page, 'panel-exceptions')).split('\n').map(row => row.split(/ {2,}/))
      expect(exceptions).toEqual([
        ['', 'try_table', 'legacy try/catch'],
        ['caught by the wasm caller', 'oops(7)', 'oops(7)'],
        ['caught by the JS caller', 'oops(8)', 'oops(8)'],
        ['handler awaited, rethrew', 'oops(9)', 'oops(9)'],
        ['JS rejection → wasm', '-1', '-1'],
        ['the rejection wasm caught: Error "HTTP 404 for data/missing.txt"'],
      ])

      const fibers = await runPanel(page, 'panel-fibers')
      expect(fibers).toMatch(
        /^12 squares through a 3-slot queue: sum 650, 9 fiber switches, 3 sleeps awaited/,
      )
      expect(fibers.split('\n')[1]).toBe(
        'P1 P4 P9 → C1 C4 C9 → P16 P25 P36 → C16 C25 C36 → P49 P64 P81 → C49 C64 C81 → P100 P121 P144 → C100 C121 C144',
      )

      const modes = (await runPanel(page, 'panel-modes')).split('\n')
      const timings = /^(asyncify|JSPI) +([\d.]+) \/ ([\d.]+) \/ ([\d.]+) µs, collatz ([\d.]+) ms$/
      expect(modes[0]).toBe('per suspension at depth 1 / 10 / 100:')
      expect(modes.slice(1, 3).map(line => timings.exec(line)?.[1])).toEqual(['asyncify', 'JSPI'])
      for (const line of modes.slice(1, 3))
        expect(
          timings
            .exec(line)!
            .slice(2)
            .every(v => Number(v) > 0),
        ).toBe(true)
      expect(modes[3]).toBe('results agree across modes')
      expect(await page.locator('#panel-modes .chart svg rect[height="14"]').count()).toBe(8)

      // Hot reload: the page keeps its JS state (a marker) while the module is swapped.
      expect(await runPanel(page, 'panel-hot')).toMatch(
        /^answer\(\) = 42 \(after a \d+ ms sleep\) · hot updates: 0$/,
      )
      await page.evaluate(() => {
        ;(window as unknown as { marker: number }).marker = 42
      })
      const editor = page.locator('#panel-hot textarea')
      await editor.fill((await editor.inputValue()).replace('(i32.const 42)', '(i32.const 43)'))
      await page.click('#panel-hot button:text("Save hot.wat")')
      expect(await resultOf(page, 'panel-hot', 'answer() = 43')).toMatch(/· hot updates: [1-9]\d*$/)
      expect(readFileSync(hotWat, 'utf8')).toBe(originalHotWat.replace('(i32.const 42)', '(i32.const 43)'))

      await saveUntilSeen(hotWat, originalHotWat.replace('(i32.const 42)', '(i32.const 44)'), timeout =>
        resultOf(page, 'panel-hot', 'answer() = 44', timeout),
      )
      await page.waitForFunction(() => document.querySelector('textarea')?.value.includes('(i32.const 44)'))
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42)
      expect(await page.textContent('#panel-hot .report')).toMatch(
        /src\/wasm\/hot\.wat: 1 function instrumented/,
      )

      // Every panel again, one after the other, from the header's button.
      await page.click('#run-all')
      await page.waitForFunction(
        () => !document.querySelector<HTMLButtonElement>('#run-all')?.disabled,
        null,
        {
          timeout: 60_000,
        },
      )
      expect(await page.$$eval('output.result', os => os.map(o => o.dataset.state))).toEqual(
        Array(5).fill('done'),
      )

      expect(await page.locator('vite-error-overlay').count()).toBe(0)
      expect(errors).toEqual([])
      // The only failed requests: the missing file the exceptions panel fetches on purpose, in both forms, twice.
      expect(failed).toEqual(Array(4).fill('404 /data/missing.txt'))
      mkdirSync(join(root, 'test/.cache'), { recursive: true })
      await page.screenshot({ path: screenshot, fullPage: true })
    }, 240_000)
  },
)

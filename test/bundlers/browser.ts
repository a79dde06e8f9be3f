// Chromium pages for the plugin's browser tests (flags: test/helpers/chromium.ts).
import { type Browser, chromium, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js'

export function launchChromium(): Promise<Browser> {
  // playwright gives every launch a fresh temporary profile (--user-data-dir).
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/** A page that records console errors and page errors (as strings) in `errors`. */
export async function recordingPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', m => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('pageerror', e => errors.push(String(e)))
  return { page, errors }
}

/**
 * The JSON the fixture pages write into #out once they are done (and, with `version`, once it reports
 * that version). Waits with a function, not a string: a page under a strict CSP forbids string evaluation.
 */
export async function pageOutput(
  page: Page,
  version?: number,
  timeout = 20_000,
): Promise<Record<string, unknown>> {
  const handle = await page.waitForFunction(
    (want: number | null) => {
      const t = document.querySelector('#out')?.textContent ?? ''
      if (t.startsWith('error:')) return t
      if (!t.startsWith('{')) return false
      return want === null || JSON.parse(t).version === want ? t : false
    },
    version ?? null,
    { timeout },
  )
  const text = (await handle.jsonValue()) as string
  if (text.startsWith('error:')) throw new Error(`the page failed: ${text}`)
  return JSON.parse(text)
}

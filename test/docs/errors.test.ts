// Every error message of the rewrite, the runtime and the plugin (read from their sources by
// messages.ts) is explained in README.md's "Error messages" section, in backticks, with `…` where the
// message has a value; messages starting `internal: ` share one entry.
import { describe, expect, it } from 'vitest'
import { messages } from './messages.js'
import { readmeText, section } from './readme.js'

const { messages: all, unread } = messages()
const documented = section(readmeText(), 'Error messages')

describe('the README explains every error message', () => {
  it('reads every message from the sources', () => {
    expect(unread).toEqual([])
    // The classes it looks for are there (a renamed class would silently match nothing).
    for (const error of ['AsyncifyError', 'AsyncifyOptionError', 'BufferOverflowError'])
      expect(
        all.some(m => m.error === error),
        error,
      ).toBe(true)
    expect(all.length).toBeGreaterThan(80)
  })

  it('lists each message under "Error messages"', () => {
    const missing = all
      .map(m => ({ ...m, text: m.text.startsWith('internal: ') ? 'internal: …' : m.text }))
      .filter(m => !documented.includes(`\`${m.text}\``))
      .map(m => `${m.where}: \`${m.text}\``)
    expect([...new Set(missing)]).toEqual([])
  })

  it('lists no message the sources no longer have', () => {
    const known = new Set(all.map(m => (m.text.startsWith('internal: ') ? 'internal: …' : m.text)))
    const rows = [...documented.matchAll(/^\| `(.+?)` \|/gm)].map(m => m[1] as string)
    expect(rows.length).toBeGreaterThan(80)
    expect(rows.filter(r => !known.has(r))).toEqual([])
  })
})

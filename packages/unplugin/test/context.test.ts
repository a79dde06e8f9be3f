// The shared context as a dev server drives it: a watcher may report a file mid-save.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AsyncifyContext } from '../src/context.js'
import { ResolvedOptions } from '../src/options.js'

const dir = mkdtempSync(join(tmpdir(), 'asyncify-context-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const WAT = '(module (func (export "answer") (result i32) (i32.const 42)))'

/** The shared context's transform of one file, as a dev server (no cache) runs it. */
function transform(file: string) {
  const env = { root: dir, production: false }
  const ctx = new AsyncifyContext({ cache: false })
  ctx.configure(env, { info: () => {}, warn: () => {} })
  return ctx.transform(
    file,
    new ResolvedOptions({ cache: false }, env).settingsFor(file, new URLSearchParams()),
  )
}

describe('reading a file being saved', () => {
  it('an empty read (an editor truncating before it writes) waits for the content', async () => {
    const file = join(dir, 'saving.wat')
    writeFileSync(file, '')
    const pending = transform(file)
    setTimeout(() => writeFileSync(file, WAT), 30)
    const t = await pending
    expect(
      WebAssembly.Module.exports(new WebAssembly.Module(t.original as Uint8Array<ArrayBuffer>)).map(
        e => e.name,
      ),
    ).toEqual(['answer'])
  })

  it('a file that stays empty is read as it is once the wait is over', async () => {
    const file = join(dir, 'empty.wat')
    writeFileSync(file, '')
    const t = await transform(file)
    expect(WebAssembly.Module.exports(new WebAssembly.Module(t.original as Uint8Array<ArrayBuffer>))).toEqual(
      [],
    )
  })
})

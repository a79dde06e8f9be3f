// The glue generator on its own: the module text is loaded as a real ES module next to a recording
// stand-in for the runtime, so each test sees exactly what `init` hands to `instantiate`.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { AsyncifyReport } from '../src/asyncify.js'
import { type GlueInput, generateGlue } from '../src/glue.js'

const dir = mkdtempSync(join(tmpdir(), 'glue-'))
writeFileSync(
  join(dir, 'runtime.mjs'),
  'export async function instantiate(source, imports, options) { return { source, imports, options } }\n',
)

const report: AsyncifyReport = {
  instrumented: [
    {
      index: 3,
      name: 'main',
      reason: ['main', 'env.sleep'],
      sites: 1,
      savedLocals: 2,
      maxFrameBytes: 16,
      normalCopy: false,
    },
  ],
  sites: 1,
  suspendingExports: ['main'],
  suspendingImports: ['env.sleep'],
  indirectTargetsKnown: true,
  legacyExceptionsTranslated: false,
  warnings: [],
  sizeBefore: 100,
  sizeAfter: 180,
  timings: { decode: 1, translate: 0, analyze: 1, instrument: 1, encode: 1, optimize: 0, total: 4 },
}

interface Recorded {
  source: unknown
  imports: unknown
  options: { mode: string; report: { suspendingExports: string[]; suspendingImports: string[] } }
}
interface GlueModule {
  default: (imports?: object, options?: object) => Promise<Recorded>
  suspendingExports: string[]
  suspendingImports: string[]
  report: Record<string, unknown>
  mode: string
}

let count = 0
async function load(input: Partial<GlueInput>): Promise<{ mod: GlueModule; text: string; url: string }> {
  const text = generateGlue({ file: 'x.wasm', report, mode: 'asyncify', runtime: './runtime.mjs', ...input })
  const file = join(dir, `glue${count++}.mjs`)
  writeFileSync(file, text)
  const url = pathToFileURL(file).href
  return { mod: (await import(url)) as GlueModule, text, url }
}

describe('generateGlue', () => {
  it('exports init and the report; init passes the resolved URL, the imports and the report', async () => {
    const { mod, url, text } = await load({ asyncify: { kind: 'url', url: './x.asyncify.wasm' } })
    expect(mod.suspendingExports).toEqual(['main'])
    expect(mod.suspendingImports).toEqual(['env.sleep'])
    expect(mod.report).toMatchObject({
      file: 'x.wasm',
      instrumented: ['main'],
      sizeBefore: 100,
      sizeAfter: 180,
    })
    expect(mod.report).not.toHaveProperty('timings')
    const imports = { env: { sleep: () => {} } }
    const r = await mod.default(imports)
    expect(r.source).toBeInstanceOf(URL)
    expect(String(r.source)).toBe(new URL('./x.asyncify.wasm', url).href)
    expect(r.imports).toBe(imports)
    expect(r.options).toEqual({
      mode: 'asyncify',
      report: { suspendingExports: ['main'], suspendingImports: ['env.sleep'] },
    })
    expect(text).not.toMatch(/\bawait\b/)
  })

  it("mode 'auto' hands both binaries; an explicit mode picks one; options pass through", async () => {
    const { mod, url, text } = await load({
      mode: 'auto',
      asyncify: { kind: 'url', url: './a.wasm' },
      original: { kind: 'expression', code: '"https://cdn.example/o.wasm"' },
    })
    // Only a `url` reference is written as `new URL('literal', import.meta.url)`, the pattern bundlers claim.
    expect(text).toMatch(/new URL\("\.\/a\.wasm", import\.meta\.url\)/)
    expect(text).not.toMatch(/new URL\("https/)
    const auto = await mod.default()
    expect(auto.options.mode).toBe('auto')
    const both = auto.source as { asyncify: URL; original: URL }
    expect(both.asyncify.href).toBe(new URL('./a.wasm', url).href)
    expect(both.original.href).toBe('https://cdn.example/o.wasm')
    const jspi = await mod.default({}, { mode: 'jspi', bufferSize: 4096 })
    expect((jspi.source as URL).href).toBe('https://cdn.example/o.wasm')
    expect(jspi.options).toMatchObject({ mode: 'jspi', bufferSize: 4096 })
  })

  it('a binary referenced through a module (esbuild file loader) resolves against the glue', async () => {
    writeFileSync(join(dir, 'asset.mjs'), "export default './assets/x-1234.wasm'\n")
    const { mod, url, text } = await load({
      mode: 'jspi',
      original: { kind: 'import', specifier: './asset.mjs' },
    })
    expect(text).toMatch(/^import originalUrl from "\.\/asset\.mjs"$/m)
    const r = await mod.default()
    expect((r.source as URL).href).toBe(new URL('./assets/x-1234.wasm', url).href)
  })

  it('inline bytes decode to the same bytes', async () => {
    const bytes = new Uint8Array(300).map((_, i) => (i * 37) & 255)
    const { mod } = await load({ asyncify: { kind: 'inline', bytes } })
    const r = await mod.default()
    expect(r.source).toBeInstanceOf(Uint8Array)
    expect([...(r.source as Uint8Array)]).toEqual([...bytes])
  })

  it('a mode whose binary was not shipped rejects with a message naming the file and the option', async () => {
    const { mod } = await load({
      asyncify: { kind: 'url', url: './a.wasm' },
      modeOption: 'asyncify({ mode })',
    })
    await expect(mod.default({}, { mode: 'jspi' })).rejects.toThrow(
      /x\.wasm was built with asyncify\(\{ mode \}\) 'asyncify', which does not ship the binary for mode "jspi"/,
    )
    const jspiOnly = await load({ mode: 'jspi', original: { kind: 'url', url: './o.wasm' } })
    expect(jspiOnly.text).not.toMatch(/a\.wasm|case 'asyncify'/)
    await expect(jspiOnly.mod.default({}, { mode: 'auto' })).rejects.toThrow(/for mode "auto"/)
  })

  it('refuses inputs that cannot make a working module', () => {
    expect(() =>
      generateGlue({ file: 'y.wasm', report, mode: 'auto', asyncify: { kind: 'url', url: 'a' } }),
    ).toThrow(/glue for y\.wasm: mode 'auto' needs the original binary/)
    expect(() => generateGlue({ file: 'y.wasm', report, mode: 'jspi' })).toThrow(/needs the original binary/)
    expect(() => generateGlue({ file: 'y.wasm', report, mode: 'fast' as 'auto' })).toThrow(/mode must be/)
  })

  it('defaults to the published runtime', () => {
    const text = generateGlue({
      file: 'x.wasm',
      report,
      mode: 'asyncify',
      asyncify: { kind: 'url', url: 'a' },
    })
    expect(text.split('\n')[0]).toBe('import { instantiate } from "@unplugin-asyncify/runtime"')
  })
})

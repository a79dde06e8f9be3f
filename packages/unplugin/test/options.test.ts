// The plugin's options: validated when the plugin is created (the core's options by the core's own
// rules), errors naming the option, the `modules` glob or the query parameter, and the layering
// plugin options → matching `modules` entries → query.
import { readFileSync } from 'node:fs'
import { ASYNCIFY_OPTIONS } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import { parseId } from '../src/context.js'
import { PLUGIN_OPTIONS, ResolvedOptions } from '../src/options.js'
import asyncify from '../src/vite.js'

const root = '/app'
const dev = { root, production: false }
const prod = { root, production: true }
const q = (s: string) => new URLSearchParams(s)

describe('validation', () => {
  it.each([
    [{ mode: 'fast' }, /^option mode: expected one of 'asyncify', 'jspi', 'auto', got 'fast'$/],
    [{ inline: 'yes' }, /^option inline: expected true or false/],
    [{ improts: ['env.sleep'] }, /^option improts: unknown option \(did you mean imports\?\)$/],
    [{ imports: 5 }, /^option imports: expected a list of names/],
    [{ optimize: 7 }, /^option optimize: expected one of 0, 1, 2, 3, 4, 's', 'z', got 7$/],
    [{ secondaryMemorySize: 0 }, /^option secondaryMemorySize: expected an integer from 1 to 65536, got 0$/],
    [{ cache: 3 }, /^option cache: expected a directory or false$/],
    [{ include: [42] }, /^option include: expected globs or RegExps, got 42$/],
    [{ cwd: '/x' }, /^option cwd: is the bundler root/],
    [{ modules: [] }, /^option modules: expected an object of globs to options/],
    [
      { modules: { '**/e.wasm': { imports: 5 } } },
      /^option modules\["\*\*\/e\.wasm"\]\.imports: expected a list of names/,
    ],
    [
      { modules: { '**/e.wasm': { cache: false } } },
      /^option modules\["\*\*\/e\.wasm"\]\.cache: only allowed at the top level/,
    ],
  ])('%j is refused when the plugin is created', (options, message) => {
    expect(() => asyncify(options as never)).toThrow(message)
  })

  it('a bad query parameter names the file and the parameter', () => {
    const o = new ResolvedOptions({}, dev)
    expect(() => o.settingsFor('/app/src/e.wasm', q('asyncify&mode=nope'))).toThrow(
      /^option src\/e\.wasm\?mode: expected one of 'asyncify', 'jspi', 'auto', got 'nope'$/,
    )
    expect(() => o.settingsFor('/app/src/e.wasm', q('asyncify&imprts=x'))).toThrow(
      /^option src\/e\.wasm\?imprts: unknown option/,
    )
    expect(() => o.settingsFor('/app/src/e.wasm', q('asyncify&cache=false'))).toThrow(
      /^option src\/e\.wasm\?cache: cannot be set per import$/,
    )
  })
})

describe('layering', () => {
  const options = new ResolvedOptions(
    {
      imports: ['env.sleep'],
      mode: 'auto',
      modules: {
        '**/engine.wasm': { imports: ['env.fetch'], inline: true },
        'src/**': { asserts: true },
      },
    },
    dev,
  )

  it('modules entries override the plugin options for the files they match', () => {
    expect(options.settingsFor('/app/src/engine.wasm', q('asyncify'))).toEqual({
      core: { imports: ['env.fetch'], asserts: true, optimize: 0, inSecondaryMemory: 'auto', cwd: root },
      mode: 'auto',
      inline: true,
    })
    expect(options.settingsFor('/app/lib/other.wasm', q('asyncify'))).toEqual({
      core: { imports: ['env.sleep'], optimize: 0, inSecondaryMemory: 'auto', cwd: root },
      mode: 'auto',
      inline: false,
    })
  })

  it("query parameters override both, in our or the CLI spelling (the bundler's own are ignored)", () => {
    const s = options.settingsFor(
      '/app/src/engine.wasm',
      parseId(
        '/app/src/engine.wasm?import&asyncify&imports=env.a,env.b&ignore-indirect&mode=jspi&optimize=s&t=123',
      )?.query as URLSearchParams,
    )
    expect(s).toEqual({
      core: {
        imports: 'env.a,env.b',
        asserts: true,
        ignoreIndirect: true,
        optimize: 's',
        inSecondaryMemory: 'auto',
        cwd: root,
      },
      mode: 'jspi',
      inline: true,
    })
  })

  it('optimize is on in production builds and off otherwise, unless set', () => {
    const none = new ResolvedOptions({}, prod).settingsFor('/app/e.wasm', q('asyncify'))
    // wasm-opt's -O, as the core's table spells it.
    expect(none.core.optimize).toBe('s')
    expect(
      new ResolvedOptions({ optimize: false }, prod).settingsFor('/app/e.wasm', q('asyncify')).core.optimize,
    ).toBe(0)
    expect(
      new ResolvedOptions({ optimize: true }, dev).settingsFor('/app/e.wasm', q('asyncify')).core.optimize,
    ).toBe('s')
    expect(
      new ResolvedOptions({ optimize: 'z' }, dev).settingsFor('/app/e.wasm', q('asyncify')).core.optimize,
    ).toBe('z')
  })

  it('include/exclude pick the files; the cache sits in node_modules/.cache unless set', () => {
    const o = new ResolvedOptions({ exclude: ['vendor/**', /legacy/] }, dev)
    expect(o.handles('/app/src/e.wasm')).toBe(true)
    expect(o.handles('/app/src/e.wat')).toBe(true)
    expect(o.handles('/app/vendor/e.wasm')).toBe(false)
    expect(o.handles('/app/src/legacy.wasm')).toBe(false)
    expect(o.handles('/app/src/e.js')).toBe(false)
    expect(o.cacheDir).toBe('/app/node_modules/.cache/unplugin-asyncify')
    expect(new ResolvedOptions({ cache: false }, dev).cacheDir).toBe(false)
  })
})

describe('the README', () => {
  it("lists the plugin's own rows as the table defines them", () => {
    // The plugin's own rows, and the core's rows whose default the plugin changes.
    const core = ASYNCIFY_OPTIONS.rows as Record<string, { defaultDoc: string } | undefined>
    const own = PLUGIN_OPTIONS.names.filter(
      n =>
        core[n]?.defaultDoc !==
        (PLUGIN_OPTIONS.rows as Record<string, { defaultDoc: string }>)[n]?.defaultDoc,
    )
    const cell = (t: string) => t.replace(/\|/g, '\\|')
    const rows = PLUGIN_OPTIONS.docs(own).map(
      d => `| \`${d.name}\` | \`${cell(d.type)}\` | ${cell(d.default)} | ${cell(d.doc)} |`,
    )
    const table = ['| option | type | default | what it does |', '| --- | --- | --- | --- |', ...rows].join(
      '\n',
    )
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const section = /<!-- options:start[^>]*-->\n([\s\S]*?)<!-- options:end -->/.exec(readme)?.[1]
    expect(section).toBe(`${table}\n`)
  })
})

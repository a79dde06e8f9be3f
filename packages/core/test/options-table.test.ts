// The option table: resolution and messages of the core's rows, a table extended the way the bundler
// plugin will extend it, and docs (--help, README) that cannot drift from the rows.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
// What the plugin will use, from the package entry.
import {
  ASYNCIFY_OPTIONS,
  AsyncifyOptionError,
  type AsyncifyOptions,
  choice,
  type InputOf,
  nameList,
  type ResolvedOf,
  resolveOptions,
  text,
} from '@unplugin-asyncify/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { CLI_OPTIONS, USAGE } from '../src/cli-args.js'

const here = dirname(fileURLToPath(import.meta.url))

describe('the core table', () => {
  it('fills in every default', () => {
    const r = resolveOptions({})
    expect(r).toMatchObject({
      cwd: process.cwd(),
      imports: 'all',
      onlyList: [],
      memory: null,
      secondaryMemorySize: 1,
      optimize: 0,
      optimizeLevel: 0,
      shrinkLevel: 0,
      legacyExceptions: 'translate',
      alwaysInlineMaxSize: null,
      passArgs: {},
    })
    expect(Object.keys(r).sort()).toEqual(ASYNCIFY_OPTIONS.names.sort())
  })

  it.each([
    [{ optimize: 3 }, 3, 0],
    [{ optimize: 's' }, 2, 1],
    [{ optimize: 'z' }, 2, 2],
    [{ optimize: 'z', shrinkLevel: 0 }, 2, 0],
    [{ optimize: 1, optimizeLevel: 4 }, 4, 0],
  ] as [AsyncifyOptions, number, number][])('%j: optimize and shrink levels %i, %i', (o, level, shrink) => {
    const r = resolveOptions(o)
    expect([r.optimizeLevel, r.shrinkLevel]).toEqual([level, shrink])
  })

  it('reads @file lists relative to cwd, resolved once to an absolute path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'options-cwd-'))
    mkdirSync(join(dir, 'lists'))
    writeFileSync(join(dir, 'lists', 'imports.txt'), 'env.sleep\nenv.fetch*\n')
    const r = resolveOptions({ cwd: dir, imports: '@lists/imports.txt', onlyList: ['main'] })
    expect(r.imports).toEqual(['env.sleep', 'env.fetch*'])
    expect(r.cwd).toBe(dir)
    expect(() => resolveOptions({ cwd: join(dir, 'lists'), imports: '@lists/imports.txt' })).toThrow(
      /option imports: cannot read list file lists\/imports.txt/,
    )
  })

  it.each([
    [{ import: ['env.sleep'] }, /^option import: unknown option \(did you mean imports\?\)$/],
    [{ frobnicate: 1 }, /^option frobnicate: unknown option \(known: cwd, ignoreImports, imports, /],
    [{ toString: 1 }, /^option toString: unknown option/],
    [{ asserts: 'yes' }, /^option asserts: expected true or false, got 'yes'$/],
    [{ optimize: 5 }, /^option optimize: expected one of 0, 1, 2, 3, 4, 's', 'z', got 5$/],
    [{ optimizeLevel: 9 }, /^option optimizeLevel: expected an integer from 0 to 4, got 9$/],
    [
      { secondaryMemorySize: 1.5 },
      /^option secondaryMemorySize: expected an integer from 1 to 65536, got 1.5$/,
    ],
    [{ imports: 7 }, /^option imports: expected a list of names/],
    [{ memory: '' }, /^option memory: expected <export name>$/],
    [{ cwd: 3 }, /^option cwd: expected a directory path$/],
    [{ passArgs: { inlining: 2 } }, /^option passArgs: inlining: expected a string, got 2$/],
    [
      { passArgs: { 'asyncify-imports': 'env.x' } },
      /^option passArgs: asyncify-imports is an asyncify pass argument/,
    ],
    [
      { ignoreImports: true, imports: ['env.sleep'] },
      /^option ignoreImports: cannot be combined with a non-empty/,
    ],
    [{ onlyList: ['a'], addList: ['b'] }, /^option onlyList: an only-list cannot be combined/],
  ])('%j is refused, naming the option', (o, message) => {
    let error: unknown
    try {
      resolveOptions(o as AsyncifyOptions)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AsyncifyOptionError)
    expect((error as Error).message).toMatch(message)
  })

  it('derives AsyncifyOptions and the resolved options from the rows', () => {
    expectTypeOf<AsyncifyOptions['imports']>().toEqualTypeOf<string | readonly string[] | undefined>()
    expectTypeOf<AsyncifyOptions['optimize']>().toEqualTypeOf<0 | 1 | 2 | 3 | 4 | 's' | 'z' | undefined>()
    type Resolved = ReturnType<typeof resolveOptions>
    expectTypeOf<Resolved['imports']>().toEqualTypeOf<string[] | 'all'>()
    expectTypeOf<Resolved['memory']>().toEqualTypeOf<string | null>()
    expectTypeOf<Resolved['shrinkLevel']>().toEqualTypeOf<number>()
    expectTypeOf<Resolved['alwaysInlineMaxSize']>().toEqualTypeOf<number | null>()
  })
})

// The bundler plugin's options will be the core's rows plus its own, like these.
const PLUGIN_OPTIONS = ASYNCIFY_OPTIONS.extend(
  {
    include: nameList({
      doc: 'modules to transform (globs)',
      default: ['**/*.wasm'],
      defaultDoc: '`**/*.wasm`',
    }),
    mode: choice({
      doc: 'ship the instrumented module, the original for JSPI, or both',
      values: ['asyncify', 'jspi', 'auto'],
      default: 'auto',
    }),
    cache: text({ doc: 'cache directory', arg: '<dir>' }),
  },
  r => {
    if (r.mode === 'jspi' && r.asserts)
      throw new AsyncifyOptionError('asserts', "has no effect in 'jspi' mode")
  },
)

describe('a table extended with rows of its own', () => {
  it('resolves its rows and the core rows, with both tables’ checks', () => {
    const r = PLUGIN_OPTIONS.resolve({ include: 'a.wasm,b/*.wasm', optimize: 's', imports: ['env.sleep'] })
    expect(r).toMatchObject({ include: ['a.wasm', 'b/*.wasm'], mode: 'auto', cache: null, optimizeLevel: 2 })
    expect(r.imports).toEqual(['env.sleep'])
    expect(() => PLUGIN_OPTIONS.resolve({ mode: 'jspi', asserts: true })).toThrow(
      /option asserts: has no effect/,
    )
    expect(() => PLUGIN_OPTIONS.resolve({ onlyList: ['a'], removeList: ['b'] })).toThrow(/option onlyList/)
    expect(() => PLUGIN_OPTIONS.resolve({ mode: 'both' as 'auto' })).toThrow(/option mode: expected one of/)
  })

  it('reads query-string values through the same rows', () => {
    const given = PLUGIN_OPTIONS.fromText({
      imports: 'env.sleep',
      optimize: 'z',
      mode: 'jspi',
      ignoreIndirect: '',
    })
    expect(given).toEqual({ imports: 'env.sleep', optimize: 'z', mode: 'jspi', ignoreIndirect: true })
    expect(PLUGIN_OPTIONS.resolve(given).shrinkLevel).toBe(2)
    expect(() => PLUGIN_OPTIONS.fromText({ optimize: '9' })).toThrow(/^option optimize: expected one of/)
    expect(() => PLUGIN_OPTIONS.fromText({ constructor: 'x' })).toThrow(/^option constructor: unknown option/)
    expect(() => PLUGIN_OPTIONS.fromText({ mod: 'jspi' })).toThrow(
      /option mod: unknown option \(did you mean mode\?\)/,
    )
  })

  it('changes defaults without copying rows (optimize in production builds)', () => {
    const production = PLUGIN_OPTIONS.withDefaults({ optimize: 1 })
    // The levels follow the new default, as they derive from it.
    expect(production.resolve({})).toMatchObject({ optimize: 1, optimizeLevel: 1, shrinkLevel: 0 })
    expect(production.resolve({ optimize: 0 }).optimize).toBe(0)
    expect(PLUGIN_OPTIONS.resolve({}).optimize).toBe(0)
    expect(production.docs().find(d => d.name === 'optimize')?.default).toBe('1')
  })

  it('documents and types its rows like the core’s', () => {
    const names = PLUGIN_OPTIONS.docs().map(d => d.name)
    expect(names).toEqual([...ASYNCIFY_OPTIONS.names, 'include', 'mode', 'cache'])
    expect(PLUGIN_OPTIONS.markdown()).toMatch(
      /\| `mode` \| `'asyncify' \\\| 'jspi' \\\| 'auto'` \| 'auto' \| `--mode/,
    )
    expect(PLUGIN_OPTIONS.usage().join('\n')).toMatch(/--cache <dir> +cache directory/)
    type Rows = typeof PLUGIN_OPTIONS.rows
    expectTypeOf<InputOf<Rows>['mode']>().toEqualTypeOf<'asyncify' | 'jspi' | 'auto' | undefined>()
    expectTypeOf<ResolvedOf<Rows>['include']>().toEqualTypeOf<string[]>()
    expectTypeOf<ResolvedOf<Rows>['imports']>().toEqualTypeOf<string[] | 'all'>()
  })
})

describe('the docs follow the table', () => {
  it('--help shows every option the command line sets', () => {
    for (const [name, spec] of Object.entries(CLI_OPTIONS.rows)) {
      if (spec.cli.length === 0) continue
      for (const s of spec.cli) expect(USAGE, `${name}: ${s.flag}`).toContain(s.flag)
      expect(USAGE.replace(/\s+/g, ' '), name).toContain(
        spec.doc.replace(/`/g, '').split(' ').slice(0, 4).join(' '),
      )
    }
  })

  it("the README's options list is the table", () => {
    const readme = join(here, '..', '..', '..', 'README.md')
    const text = readFileSync(readme, 'utf8')
    const start = '<!-- options:start -->\n'
    const end = '<!-- options:end -->'
    const a = text.indexOf(start)
    const b = text.indexOf(end)
    expect(a >= 0 && b > a, 'README.md has the options markers').toBe(true)
    const expected = `${ASYNCIFY_OPTIONS.markdown()}\n`
    if (process.env.UPDATE_README === '1')
      writeFileSync(readme, text.slice(0, a + start.length) + expected + text.slice(b))
    else expect(text.slice(a + start.length, b)).toBe(expected)
    for (const name of ASYNCIFY_OPTIONS.names) expect(text).toContain(`| \`${name}\` |`)
  })
})

// The bundler matrix: the one fixture app (fixture/app.js, importing engine.wasm?asyncify) built with
// Vite 8, Vite 7, Rollup, Rolldown, webpack (with its async WebAssembly on), Rspack and esbuild, each
// build run in Node 26 in every runtime mode. All bundles are built once, up front, two at a time.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BUNDLERS,
  type Bundler,
  buildFixture,
  EXPECTED,
  ensurePluginBuilt,
  type FixtureBuild,
  pool,
  runBundle,
  tempDir,
} from './helpers.js'

const work = tempDir('bundlers')
const cache = join(work, 'cache')
const builds = new Map<Bundler, FixtureBuild>()
let inlineBuild: FixtureBuild

beforeAll(async () => {
  ensurePluginBuilt()
  const tasks = BUNDLERS.map(b => async () => {
    builds.set(b, await buildFixture(b, join(work, b), { mode: 'auto', cache }))
  })
  tasks.push(async () => {
    inlineBuild = await buildFixture('rollup', join(work, 'inline'), {
      mode: 'asyncify',
      inline: true,
      cache,
    })
  })
  await pool(tasks, 2)
}, 600_000)

describe.each(BUNDLERS)('%s', bundler => {
  it('emits the instrumented and the original binary as hashed assets', () => {
    const build = builds.get(bundler) as FixtureBuild
    const wasm = build.files.filter(f => f.endsWith('.wasm'))
    expect(wasm).toHaveLength(2)
    for (const f of wasm) expect(f).toMatch(/engine(\.original)?[-.][A-Za-z0-9_-]{8}\.wasm$/)
    const sizes = wasm.map(f => readFileSync(join(work, bundler, f)).length).sort((a, b) => a - b)
    expect(sizes[0]).toBe(readFileSync(new URL('./fixture/engine.wasm', import.meta.url)).length)
    expect(sizes[1]).toBeGreaterThan(sizes[0] as number)
  })

  it.each([
    ['auto', undefined, 'jspi'],
    ['asyncify', 'asyncify', 'asyncify'],
    ['jspi', 'jspi', 'jspi'],
  ])('runs in Node 26, mode %s', async (_, mode, ran) => {
    const out = await runBundle((builds.get(bundler) as FixtureBuild).entry, mode)
    expect(out).toMatchObject({ ...EXPECTED, mode: ran })
  })
})

it('inline: the bytes travel in the bundle and no .wasm file is written', async () => {
  expect(inlineBuild.files.filter(f => f.endsWith('.wasm'))).toEqual([])
  expect(await runBundle(inlineBuild.entry)).toMatchObject({ ...EXPECTED, mode: 'asyncify' })
})

// The transform cache through real builds of QuickJS (large enough that two builds overlap): two builds
// at once on one cache directory write the same outputs and leave one whole entry; a corrupted entry is
// detected, reported, rebuilt, and the build's output does not change.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { quickjsWasmPath } from '../helpers/corpus.js'
import { buildFixture, ensurePluginBuilt, type FixtureBuild, tempDir } from './helpers.js'

const work = tempDir('cache')
const cache = join(work, 'cache')
const entry = join(work, 'qjs.js')
const options = { cache, optimize: false }

function outputs(build: FixtureBuild): Record<string, string> {
  const dir = join(build.entry, '..')
  return Object.fromEntries(
    build.files
      .filter(f => statSync(join(dir, f)).isFile())
      .sort()
      .map(f => [f, readFileSync(join(dir, f)).toString('base64')] as const),
  )
}

function cacheFiles(): string[] {
  return readdirSync(cache)
}

beforeAll(() => {
  ensurePluginBuilt()
  copyFileSync(quickjsWasmPath(), join(work, 'quickjs.wasm'))
  writeFileSync(entry, "export { default, report } from './quickjs.wasm?asyncify'\n")
})

let first: FixtureBuild

it('two builds at once on one cache directory produce identical outputs', async () => {
  const [a, b] = await Promise.all([
    buildFixture('rollup', join(work, 'a'), options, entry),
    buildFixture('rollup', join(work, 'b'), options, entry),
  ])
  first = a as FixtureBuild
  expect(outputs(a as FixtureBuild)).toEqual(outputs(b as FixtureBuild))
  expect(Object.keys(outputs(first)).filter(f => f.endsWith('.wasm'))).toHaveLength(1)
  expect(cacheFiles()).toHaveLength(1)
  expect(cacheFiles()[0]).toMatch(/^[0-9a-f]{64}\.bin$/)
}, 120_000)

it('a corrupted entry is reported and rebuilt; the output stays the same', async () => {
  const file = join(cache, cacheFiles()[0] as string)
  const bytes = readFileSync(file)
  bytes[bytes.length >> 1] ^= 0x55
  writeFileSync(file, bytes)
  const rebuilt = await buildFixture('rollup', join(work, 'c'), options, entry)
  expect(rebuilt.log).toMatch(/cache entry .*\.bin is unusable \(checksum mismatch\); rebuilding it/)
  expect(rebuilt.log).not.toMatch(/cache hit/)
  expect(outputs(rebuilt)).toEqual(outputs(first))
  const again = await buildFixture('rollup', join(work, 'd'), options, entry)
  expect(again.log).toMatch(/quickjs\.wasm: .* cache hit \(disk\)/)
  expect(outputs(again)).toEqual(outputs(first))
}, 120_000)

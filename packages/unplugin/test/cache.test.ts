// The cache's entry format on its own: a torn, flipped or foreign entry is detected, reported and
// rebuilt (the concurrent-build and corrupted-entry behaviour through real builds is in test/bundlers).
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AsyncifyReport } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import { type CacheEntry, decodeEntry, encodeEntry, sha256, TransformCache } from '../src/cache.js'

const report = { instrumented: [], sites: 0, suspendingExports: ['main'] } as unknown as AsyncifyReport
const entry: CacheEntry = {
  binary: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9]),
  compiled: new Uint8Array([7, 7]),
  report,
}
const key = sha256('k')

describe('cache entries', () => {
  it('round-trip through the file format', () => {
    expect(decodeEntry(key, encodeEntry(key, entry))).toEqual(entry)
    expect(decodeEntry(key, encodeEntry(key, { ...entry, compiled: null }))).toEqual({
      ...entry,
      compiled: null,
    })
  })

  it.each([
    ['truncated', (b: Uint8Array) => b.subarray(0, b.length - 3), 'checksum mismatch'],
    [
      'a flipped byte',
      (b: Uint8Array) => b.map((x, i) => (i === b.length - 2 ? x ^ 1 : x)),
      'checksum mismatch',
    ],
    ['not an entry', () => new TextEncoder().encode('hello world, not an entry at all'), 'not a cache entry'],
    ['empty', () => new Uint8Array(0), 'not a cache entry'],
  ])('%s is refused', (_, damage, reason) => {
    expect(decodeEntry(key, damage(encodeEntry(key, entry)))).toBe(reason)
  })

  it("another key's entry is refused", () => {
    expect(decodeEntry(sha256('other'), encodeEntry(key, entry))).toBe('entry for another key')
  })

  it('a damaged file on disk is reported, removed and missed; writes leave no temporary files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncify-cache-'))
    const warnings: string[] = []
    new TransformCache(dir, w => warnings.push(w)).set(key, entry)
    expect(readdirSync(dir)).toEqual([`${key}.bin`])
    const file = join(dir, `${key}.bin`)
    expect(new TransformCache(dir, w => warnings.push(w)).get(key)?.from).toBe('disk')
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(file, bytes)
    expect(new TransformCache(dir, w => warnings.push(w)).get(key)).toBeNull()
    expect(warnings).toEqual([`cache entry ${file} is unusable (checksum mismatch); rebuilding it`])
    expect(existsSync(file)).toBe(false)
  })
})

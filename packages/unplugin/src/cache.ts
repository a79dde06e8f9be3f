/**
 * The transform cache: results keyed by a content hash of the input, the module's resolved options and
 * the transforming code itself, in memory and on disk.
 *
 * Disk entries are single files, `<dir>/<key>.bin`, written to a temporary name and renamed into place,
 * so a reader (another build on the same directory) sees a whole entry or none. Each file carries a
 * SHA-256 of its contents; an entry that fails the check (a torn copy, a disk error, a hand edit) is
 * reported, removed and rebuilt. Two builds that race on one key both write the same bytes, and the
 * last rename wins harmlessly.
 *
 * Layout: `UAC1` · sha256(rest) · rest, where rest = u32 header length · header JSON · parts.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AsyncifyReport } from '@unplugin-asyncify/core'

export interface CacheEntry {
  /** The instrumented binary. */
  binary: Uint8Array
  /** The input as a binary, when it was text (`.wat`); a `.wasm` input is its own original. */
  compiled: Uint8Array | null
  report: AsyncifyReport
}

interface Header {
  key: string
  report: AsyncifyReport
  binary: number
  compiled: number | null
}

const MAGIC = 'UAC1'
const HASH = 32
/** Memory held by the in-memory layer before the oldest entries go (a dev session makes one per rebuild). */
const MEMORY_LIMIT = 256 * 1024 * 1024

export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

function entrySize(e: CacheEntry): number {
  return e.binary.length + (e.compiled?.length ?? 0)
}

export function encodeEntry(key: string, e: CacheEntry): Uint8Array {
  const header: Header = {
    key,
    report: e.report,
    binary: e.binary.length,
    compiled: e.compiled?.length ?? null,
  }
  const json = Buffer.from(JSON.stringify(header))
  const rest = Buffer.alloc(4 + json.length + entrySize(e))
  rest.writeUInt32LE(json.length, 0)
  json.copy(rest, 4)
  rest.set(e.binary, 4 + json.length)
  if (e.compiled !== null) rest.set(e.compiled, 4 + json.length + e.binary.length)
  const digest = createHash('sha256').update(rest).digest()
  return Buffer.concat([Buffer.from(MAGIC), digest, rest])
}

/** Decodes an entry file; the reason it is unusable otherwise. */
export function decodeEntry(key: string, file: Uint8Array): CacheEntry | string {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength)
  if (buf.length < MAGIC.length + HASH + 4 || buf.toString('latin1', 0, 4) !== MAGIC)
    return 'not a cache entry'
  const rest = buf.subarray(MAGIC.length + HASH)
  if (
    !createHash('sha256')
      .update(rest)
      .digest()
      .equals(buf.subarray(MAGIC.length, MAGIC.length + HASH))
  )
    return 'checksum mismatch'
  const length = rest.readUInt32LE(0)
  const header = JSON.parse(rest.toString('utf8', 4, 4 + length)) as Header
  if (header.key !== key) return 'entry for another key'
  const at = 4 + length
  const binary = new Uint8Array(rest.subarray(at, at + header.binary))
  const compiled =
    header.compiled === null
      ? null
      : new Uint8Array(rest.subarray(at + header.binary, at + header.binary + header.compiled))
  return { binary, compiled, report: header.report }
}

export class TransformCache {
  private readonly memory = new Map<string, CacheEntry>()
  private memoryBytes = 0

  /** `dir` false keeps entries in memory only. `warn` hears about entries that had to be rebuilt. */
  constructor(
    readonly dir: string | false,
    private readonly warn: (message: string) => void,
  ) {}

  /** The entry for `key`, from memory or disk; where it came from. */
  get(key: string): { entry: CacheEntry; from: 'memory' | 'disk' } | null {
    const hit = this.memory.get(key)
    if (hit !== undefined) return { entry: hit, from: 'memory' }
    if (this.dir === false) return null
    const path = this.path(key)
    let file: Uint8Array
    try {
      file = readFileSync(path)
    } catch {
      return null
    }
    let entry: CacheEntry | string
    try {
      entry = decodeEntry(key, file)
    } catch (e) {
      entry = (e as Error).message
    }
    if (typeof entry === 'string') {
      this.warn(`cache entry ${path} is unusable (${entry}); rebuilding it`)
      rmSync(path, { force: true })
      return null
    }
    this.remember(key, entry)
    return { entry, from: 'disk' }
  }

  set(key: string, entry: CacheEntry): void {
    this.remember(key, entry)
    if (this.dir === false) return
    mkdirSync(this.dir, { recursive: true })
    const path = this.path(key)
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      writeFileSync(temp, encodeEntry(key, entry))
      renameSync(temp, path)
    } catch (e) {
      rmSync(temp, { force: true })
      this.warn(`could not write cache entry ${path}: ${(e as Error).message}`)
    }
  }

  private path(key: string): string {
    return join(this.dir as string, `${key}.bin`)
  }

  private remember(key: string, entry: CacheEntry): void {
    if (this.memory.has(key)) return
    this.memory.set(key, entry)
    this.memoryBytes += entrySize(entry)
    for (const [old, e] of this.memory) {
      if (this.memoryBytes <= MEMORY_LIMIT || old === key) break
      this.memory.delete(old)
      this.memoryBytes -= entrySize(e)
    }
  }
}

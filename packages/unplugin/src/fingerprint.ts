/**
 * The "tool version" part of a cache key: a hash of the code that transforms (the built core and codec,
 * file by file) and of binaryen's version, so that any change to the rewrite — a release or an edit in a
 * checkout, where versions stay 0.0.0 — invalidates old entries.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { sha256 } from './cache.js'

let memo: string | undefined

function codeOf(entry: string): string[] {
  const dir = dirname(entry)
  return readdirSync(dir)
    .filter(f => f.endsWith('.js'))
    .sort()
    .map(f => `${f}\n${readFileSync(join(dir, f), 'utf8')}`)
}

export function toolFingerprint(): string {
  if (memo !== undefined) return memo
  const core = createRequire(import.meta.url).resolve('@unplugin-asyncify/core')
  const fromCore = createRequire(core)
  const wasm = fromCore.resolve('@unplugin-asyncify/wasm')
  let binaryen = 'unknown'
  try {
    binaryen = (
      JSON.parse(readFileSync(join(dirname(fromCore.resolve('binaryen')), 'package.json'), 'utf8')) as {
        version: string
      }
    ).version
  } catch {
    // binaryen's layout changed: the core's own files still key the cache.
  }
  memo = sha256(`binaryen ${binaryen}\n`, ...codeOf(core), ...codeOf(wasm))
  return memo
}

/** Name lists as binaryen's asyncify takes them: comma or newline separated, `*` wildcards, `@file`. */
import { readFileSync } from 'node:fs'
import { AsyncifyOptionError } from './errors.js'

/**
 * Splits a list value. `@path` reads the list from a file (relative to `cwd`). Entries are trimmed; empty
 * entries are dropped. Names may be quoted, and binaryen's bracket convention (a leading `[` on the first
 * and a trailing `]` on the last entry, for names containing commas) is understood.
 */
export function parseList(option: string, value: string | readonly string[], cwd = process.cwd()): string[] {
  if (typeof value !== 'string') return value.map(v => v.trim()).filter(v => v !== '')
  let text = value
  if (text.startsWith('@')) {
    const file = text.slice(1)
    try {
      text = readFileSync(file.startsWith('/') ? file : `${cwd}/${file}`, 'utf8')
    } catch (e) {
      throw new AsyncifyOptionError(option, `cannot read list file ${file}: ${(e as Error).message}`)
    }
  }
  text = text.trim()
  if (text.startsWith('[') && text.endsWith(']')) {
    // Bracketed form: entries are quoted and separated by commas, e.g. ["a(int, char)","b"].
    const inner = text.slice(1, -1)
    const out: string[] = []
    const re = /\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy
    let m: RegExpExecArray | null = re.exec(inner)
    while (m !== null && m[0] !== '') {
      out.push((m[1] as string).replace(/\\(.)/g, '$1'))
      if (re.lastIndex >= inner.length) break
      m = re.exec(inner)
    }
    if (re.lastIndex < inner.length && inner.trim() !== '')
      throw new AsyncifyOptionError(
        option,
        `malformed bracketed list near "${inner.slice(re.lastIndex, re.lastIndex + 20)}"`,
      )
    return out
  }
  const parts = text.split(/[\n,]/).map(s => s.trim())
  for (const p of parts) {
    if (p.includes('"') && !(p.startsWith('"') && p.endsWith('"') && p.length >= 2))
      throw new AsyncifyOptionError(option, `unbalanced quote in list entry ${p}`)
  }
  return parts.filter(p => p !== '').map(p => (p.startsWith('"') ? p.slice(1, -1) : p))
}

/** `*` matches any run of characters; everything else is literal. */
export function wildcardToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
  return new RegExp(`^${escaped}$`, 's')
}

/** A compiled name list that remembers which of its entries matched something. */
export class NameList {
  readonly option: string
  readonly entries: string[]
  private exact = new Set<string>()
  private patterns: { text: string; re: RegExp }[] = []
  private matched = new Set<string>()

  constructor(option: string, entries: string[]) {
    this.option = option
    this.entries = entries
    for (const e of entries) {
      if (e.includes('*')) this.patterns.push({ text: e, re: wildcardToRegExp(e) })
      else this.exact.add(e)
    }
  }

  get empty(): boolean {
    return this.entries.length === 0
  }

  match(name: string | undefined): boolean {
    if (name === undefined) return false
    if (this.exact.has(name)) {
      this.matched.add(name)
      return true
    }
    for (const p of this.patterns) {
      if (p.re.test(name)) {
        this.matched.add(p.text)
        return true
      }
    }
    return false
  }

  has(name: string): boolean {
    return this.exact.has(name)
  }

  /** Entries that matched nothing (binaryen warns about these). */
  unmatched(): string[] {
    return this.entries.filter(e => !this.matched.has(e))
  }
}

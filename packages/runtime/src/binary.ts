/**
 * The few facts the runtime reads from a binary's bytes, without a codec (the runtime ships to browsers):
 * a custom section's payload, the result types of the function imports (for a binary without the
 * metadata section), and the start function, which the runtime moves to an export so that it can run
 * inside a call that may suspend (a start function runs during instantiation, where nothing can).
 * Loaded only for those (`instantiate.ts`), and it imports nothing, so that a bundler splitting it off
 * leaves the rest of the runtime in one piece.
 */
import type { ImportTypes } from './plan.js'

class Bytes {
  p = 8
  constructor(readonly b: Uint8Array) {}
  u(): number {
    let r = 0
    let s = 1
    let x: number
    do {
      x = this.b[this.p++] as number
      r += (x & 0x7f) * s
      s *= 128
    } while (x & 0x80)
    return r
  }
  str(): string {
    const n = this.u()
    this.p += n
    return new TextDecoder().decode(this.b.subarray(this.p - n, this.p))
  }
  /** Calls `f(id, start, end)` for each section until it returns true. */
  sections(f: (id: number, start: number, end: number) => boolean | undefined): void {
    while (this.p < this.b.length) {
      const at = this.p
      const id = this.b[this.p++] as number
      const end = this.u() + this.p
      if (f(id, at, end)) return
      this.p = end
    }
  }
}

/** Abstract heap types by their code less 0x69 (`exn`), up to 0x74 (`noexn`). */
const HEAP = 'exn array struct i31 eq any extern func none noextern nofunc noexn'.split(' ')
const heap = (code: number): string => HEAP[code - 0x69] as string
/** Number and vector types by their code less 0x7b (`v128`), up to 0x7f (`i32`). */
const NUM = 'v128 f64 f32 i64 i32'.split(' ')

/** A value type in the text format `valTypeText` of the metadata uses: `i32`, `(ref null extern)`, `(ref 3)`. */
function valType(r: Bytes): string {
  const x = r.b[r.p++] as number
  if (x >= 0x7b) return NUM[x - 0x7b] as string
  if (x === 0x63 || x === 0x64) {
    const h = r.b[r.p] as number
    const type = h >= 0x40 && h < 0x80 ? heap(r.b[r.p++] as number) : r.u()
    return x === 0x63 ? `(ref null ${type})` : `(ref ${type})`
  }
  return `(ref null ${heap(x)})`
}

function limits(r: Bytes): void {
  const flags = r.b[r.p++] as number
  r.u()
  if (flags & 1) r.u()
  if (flags & 8) r.u()
}

/** The result types of every function import. */
export function importResults(bytes: Uint8Array): ImportTypes {
  const r = new Bytes(bytes)
  const types: string[][] = []
  const out: ImportTypes = []
  const sub = (): void => {
    const b = r.b
    if (b[r.p] === 0x50 || b[r.p] === 0x4f) {
      r.p++
      for (let n = r.u(); n > 0; n--) r.u()
    }
    const kind = b[r.p++]
    const vec = (): string[] => Array.from({ length: r.u() }, () => valType(r))
    if (kind === 0x60) {
      vec()
      types.push(vec())
      return
    }
    // struct (0x5f) or array (0x5e): storage types and mutability; not a function type.
    for (let n = kind === 0x5f ? r.u() : 1; n > 0; n--) {
      if (b[r.p] === 0x78 || b[r.p] === 0x77) r.p++
      else valType(r)
      r.p++
    }
    types.push([])
  }
  r.sections(id => {
    // The type section counts rec groups; each type in a group has its own index.
    if (id === 1)
      for (let n = r.u(); n > 0; n--) {
        if (r.b[r.p] !== 0x4e) sub()
        else {
          r.p++
          for (let k = r.u(); k > 0; k--) sub()
        }
      }
    if (id === 2)
      for (let n = r.u(); n > 0; n--) {
        const [module, name] = [r.str(), r.str()]
        const kind = r.b[r.p++]
        if (kind === 0) out.push([module, name, types[r.u()] ?? []])
        else if (kind === 2) limits(r)
        else if (kind === 4) {
          r.p++ // tag: attribute, then type index
          r.u()
        } else {
          valType(r) // table: reference type + limits; global: value type + mutability
          if (kind === 1) limits(r)
          else r.p++
        }
      }
    return id > 2
  })
  return out
}

/** The payload of the first custom section called `name`, or null. */
export function customSection(bytes: Uint8Array, name: string): Uint8Array | null {
  const r = new Bytes(bytes)
  let found: Uint8Array | null = null
  r.sections((id, _at, end) => {
    if (id === 0 && r.str() === name) found = bytes.subarray(r.p, end)
    return found !== null
  })
  return found
}

const leb = (n: number): number[] => {
  const out: number[] = []
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0))
    n = Math.floor(n / 128)
  } while (n > 0)
  return out
}

/**
 * The binary with its start section removed and the start function exported as `exportName`, or the
 * same bytes when it has none. The export section comes right before the start section (ids 7, 8), so
 * it is rebuilt (or created) in place of the two.
 */
export function moveStart(bytes: Uint8Array, exportName: string): Uint8Array {
  const r = new Bytes(bytes)
  const found: Record<number, [number, number, number]> = {}
  r.sections((id, at, end) => {
    found[id] = [at, id === 8 ? r.u() : r.p, end]
    return id === 8
  })
  const [exports, start] = [found[7] ?? null, found[8] ?? null]
  if (start === null) return bytes
  const [startAt, func, startEnd] = start
  // Without an export section, the new one takes the start section's place.
  let [at, count, entries, after]: [number, number, Uint8Array, number] = [
    startAt,
    0,
    new Uint8Array(0),
    startAt,
  ]
  if (exports !== null) {
    const [exportAt, payload, end] = exports
    r.p = payload
    ;[at, count, entries, after] = [exportAt, r.u(), bytes.subarray(r.p, end), end]
  }
  const name = new TextEncoder().encode(exportName)
  const body = [...leb(count + 1), ...entries, ...leb(name.length), ...name, 0, ...leb(func)]
  // Custom sections between the two stay where they were.
  const parts = [
    bytes.subarray(0, at),
    [7, ...leb(body.length), ...body],
    bytes.subarray(after, startAt),
    bytes.subarray(startEnd),
  ]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

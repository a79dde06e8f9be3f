/** Binary encoding of value, heap, storage, block and composite types, in both directions. */
import type { BlockType, Limits } from './ir.js'
import type { Reader } from './reader.js'
import {
  type AbsHeapType,
  type CompositeType,
  type FieldType,
  type HeapType,
  type NumType,
  type RefType,
  ref,
  type StorageType,
  type SubType,
  type ValType,
} from './types.js'
import type { Writer } from './writer.js'

const NUM_BY_CODE: Record<number, NumType> = { 127: 'i32', 126: 'i64', 125: 'f32', 124: 'f64', 123: 'v128' }
const NUM_CODE: Record<NumType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b }

const ABS_BY_CODE: Record<number, AbsHeapType> = {
  112: 'func',
  111: 'extern',
  110: 'any',
  109: 'eq',
  108: 'i31',
  107: 'struct',
  106: 'array',
  105: 'exn',
  116: 'noexn',
  115: 'nofunc',
  114: 'noextern',
  113: 'none',
}
const ABS_CODE: Record<AbsHeapType, number> = {
  func: 0x70,
  extern: 0x6f,
  any: 0x6e,
  eq: 0x6d,
  i31: 0x6c,
  struct: 0x6b,
  array: 0x6a,
  exn: 0x69,
  noexn: 0x74,
  nofunc: 0x73,
  noextern: 0x72,
  none: 0x71,
}

const REF_NULL = 0x63
const REF = 0x64

/** Reads a heap type; `typeCount` bounds type indices so a bad index is caught where it is read. */
export function readHeapType(r: Reader, typeCount: number): HeapType {
  const b = r.peek()
  const abs = ABS_BY_CODE[b]
  if (abs !== undefined) {
    r.pos++
    return abs
  }
  const at = r.pos
  if (b === 0x65) r.fail('shared heap types (shared-everything threads) are not supported')
  if (b === 0x62 || b === 0x61) r.fail('exact/descriptor heap types (custom descriptors) are not supported')
  const idx = r.s33()
  if (idx < 0) r.fail(`unknown heap type 0x${b.toString(16)}`, at)
  if (idx >= typeCount) r.fail(`type index ${idx} out of range (${typeCount} types)`, at)
  return idx
}

export function readValType(r: Reader, typeCount: number): ValType {
  const at = r.pos
  const b = r.u8()
  const num = NUM_BY_CODE[b]
  if (num !== undefined) return num
  const abs = ABS_BY_CODE[b]
  if (abs !== undefined) return ref(abs, true)
  if (b === REF_NULL || b === REF) {
    const heap = readHeapType(r, typeCount)
    // `ref null func` spelled long where the one-byte shorthand exists: byte identity needs the original.
    if (b === REF_NULL && typeof heap === 'string') r.nonCanonical = true
    return ref(heap, b === REF_NULL)
  }
  return r.fail(`unknown value type 0x${b.toString(16)}`, at)
}

export function readRefType(r: Reader, typeCount: number): RefType {
  const at = r.pos
  const t = readValType(r, typeCount)
  if (typeof t === 'string') r.fail(`expected a reference type, found ${t}`, at)
  return t
}

export function readStorageType(r: Reader, typeCount: number): StorageType {
  const b = r.peek()
  if (b === 0x78) {
    r.pos++
    return 'i8'
  }
  if (b === 0x77) {
    r.pos++
    return 'i16'
  }
  return readValType(r, typeCount)
}

export function readBlockType(r: Reader, typeCount: number): BlockType {
  const b = r.peek()
  if (b === 0x40) {
    r.pos++
    return null
  }
  if (NUM_BY_CODE[b] !== undefined || ABS_BY_CODE[b] !== undefined || b === REF || b === REF_NULL)
    return readValType(r, typeCount)
  const at = r.pos
  const idx = r.s33()
  if (idx < 0) r.fail(`malformed block type 0x${b.toString(16)}`, at)
  if (idx >= typeCount) r.fail(`block type index ${idx} out of range (${typeCount} types)`, at)
  return idx
}

export function readLimits(
  r: Reader,
  what: 'memory' | 'table',
): { limits: Limits; pageSizeLog2: number | null } {
  const at = r.pos
  const flags = r.u8()
  if (flags > 0x0f) r.fail(`malformed ${what} limits flags 0x${flags.toString(16)}`, at)
  const is64 = (flags & 4) !== 0
  const shared = (flags & 2) !== 0
  const readBound = (): number => {
    const v = is64 ? r.u64() : r.u32()
    if (typeof v === 'bigint') r.fail(`${what} limit ${v} is too large`, at)
    return v
  }
  const min = readBound()
  const max = (flags & 1) !== 0 ? readBound() : null
  let pageSizeLog2: number | null = null
  if ((flags & 8) !== 0) {
    if (what === 'table') r.fail('custom page size on a table', at)
    pageSizeLog2 = r.u32()
  }
  return { limits: { min, max, shared, is64 }, pageSizeLog2 }
}

function readField(r: Reader, typeCount: number): FieldType {
  const type = readStorageType(r, typeCount)
  const at = r.pos
  const m = r.u8()
  if (m > 1) r.fail(`malformed mutability 0x${m.toString(16)}`, at)
  return { type, mutable: m === 1 }
}

function readComposite(r: Reader, typeCount: number): CompositeType {
  const at = r.pos
  const form = r.u8()
  if (form === 0x60) {
    const np = r.count()
    const params: ValType[] = new Array(np)
    for (let i = 0; i < np; i++) params[i] = readValType(r, typeCount)
    const nr = r.count()
    const results: ValType[] = new Array(nr)
    for (let i = 0; i < nr; i++) results[i] = readValType(r, typeCount)
    return { kind: 'func', params, results }
  }
  if (form === 0x5f) {
    const n = r.count(2)
    const fields: FieldType[] = new Array(n)
    for (let i = 0; i < n; i++) fields[i] = readField(r, typeCount)
    return { kind: 'struct', fields }
  }
  if (form === 0x5e) return { kind: 'array', field: readField(r, typeCount) }
  if (form === 0x5d) r.fail('continuation types (stack switching) are not supported', at)
  return r.fail(`unknown composite type form 0x${form.toString(16)}`, at)
}

/** Reads one subtype. Type indices are checked against `typeCount` (the end of the current rec group). */
export function readSubType(r: Reader, typeCount: number): SubType {
  const b = r.peek()
  if (b === 0x50 || b === 0x4f) {
    r.pos++
    const n = r.count()
    const supers: number[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const at = r.pos
      const s = r.u32()
      if (s >= typeCount) r.fail(`supertype index ${s} out of range`, at)
      supers[i] = s
    }
    return { composite: readComposite(r, typeCount), final: b === 0x4f, supers, explicitSub: true }
  }
  return { composite: readComposite(r, typeCount), final: true, supers: [], explicitSub: false }
}

// ---------------------------------------------------------------- writing

export function writeHeapType(w: Writer, h: HeapType): void {
  if (typeof h === 'number') w.sInt(h)
  else w.u8(ABS_CODE[h])
}

export function writeValType(w: Writer, t: ValType): void {
  if (typeof t === 'string') {
    w.u8(NUM_CODE[t])
    return
  }
  if (t.nullable && typeof t.heap === 'string') {
    w.u8(ABS_CODE[t.heap])
    return
  }
  w.u8(t.nullable ? REF_NULL : REF)
  writeHeapType(w, t.heap)
}

export function writeStorageType(w: Writer, t: StorageType): void {
  if (t === 'i8') w.u8(0x78)
  else if (t === 'i16') w.u8(0x77)
  else writeValType(w, t)
}

export function writeBlockType(w: Writer, bt: BlockType): void {
  if (bt === null) w.u8(0x40)
  else if (typeof bt === 'number') w.sInt(bt)
  else writeValType(w, bt)
}

export function writeLimits(w: Writer, limits: Limits, pageSizeLog2: number | null): void {
  let flags = 0
  if (limits.max !== null) flags |= 1
  if (limits.shared) flags |= 2
  if (limits.is64) flags |= 4
  if (pageSizeLog2 !== null) flags |= 8
  w.u8(flags)
  if (limits.is64) {
    w.u64(limits.min)
    if (limits.max !== null) w.u64(limits.max)
  } else {
    w.u32(limits.min)
    if (limits.max !== null) w.u32(limits.max)
  }
  if (pageSizeLog2 !== null) w.u32(pageSizeLog2)
}

function writeField(w: Writer, f: FieldType): void {
  writeStorageType(w, f.type)
  w.u8(f.mutable ? 1 : 0)
}

export function writeSubType(w: Writer, t: SubType): void {
  if (t.explicitSub || !t.final || t.supers.length > 0) {
    w.u8(t.final ? 0x4f : 0x50)
    w.u32(t.supers.length)
    for (const s of t.supers) w.u32(s)
  }
  const c = t.composite
  if (c.kind === 'func') {
    w.u8(0x60)
    w.u32(c.params.length)
    for (const p of c.params) writeValType(w, p)
    w.u32(c.results.length)
    for (const p of c.results) writeValType(w, p)
  } else if (c.kind === 'struct') {
    w.u8(0x5f)
    w.u32(c.fields.length)
    for (const f of c.fields) writeField(w, f)
  } else {
    w.u8(0x5e)
    writeField(w, c.field)
  }
}

export function writeRefType(w: Writer, t: RefType): void {
  writeValType(w, t)
}

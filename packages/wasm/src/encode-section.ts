/**
 * One known section's content written from the IR (without its id and size), one small writer per
 * section id. The encoder writes every section through here; the decoder uses it too, to fingerprint a
 * section whose input bytes are not what the IR encodes to (see originals.ts), which is why this lives
 * apart from both of them.
 */
import { encodeConstExpr, encodeFuncBody } from './encode-body.js'
import type { DataSegment, ElemSegment, ExternKind, Import, Instr, Module } from './ir.js'
import { memoriesIs64 } from './module-info.js'
import { opByName } from './opcodes.js'
import { writeLimits, writeRefType, writeSubType, writeValType } from './type-codec.js'
import { Writer } from './writer.js'

const EXTERN_CODE: Record<ExternKind, number> = { func: 0, table: 1, memory: 2, global: 3, tag: 4 }

/** Writes a section's content; false when the module has nothing for it (the section is left out). */
type SectionWriter = (w: Writer, m: Module) => boolean

/** The content of section `id` written from the IR, or null when the section is omitted. */
export function canonicalSection(m: Module, id: number): Uint8Array | null {
  const write = WRITERS[id]
  if (write === undefined) throw new Error(`unknown section id ${id}`)
  const w = new Writer(4096)
  return write(w, m) ? w.finish() : null
}

/** A vector: its length, then each item; false (nothing written) when it is empty. */
function vec<T>(w: Writer, items: readonly T[], item: (t: T) => void): boolean {
  if (items.length === 0) return false
  w.u32(items.length)
  for (const t of items) item(t)
  return true
}

const WRITERS: Record<number, SectionWriter> = {
  1: writeTypes,
  2: (w, m) => vec(w, m.imports, imp => writeImport(w, imp)),
  3: (w, m) => vec(w, m.funcs, f => w.u32(f.type)),
  4: (w, m) => {
    const mem = memoriesIs64(m)
    return vec(w, m.tables, t => {
      if (t.init !== null) {
        w.u8(0x40)
        w.u8(0)
      }
      writeRefType(w, t.refType)
      writeLimits(w, t.limits, null)
      if (t.init !== null) writeConstExpr(w, t.init, mem)
    })
  },
  5: (w, m) => vec(w, m.memories, mem => writeLimits(w, mem.limits, mem.pageSizeLog2)),
  13: (w, m) =>
    vec(w, m.tags, t => {
      w.u8(0)
      w.u32(t.type)
    }),
  6: (w, m) => {
    const mem = memoriesIs64(m)
    return vec(w, m.globals, g => {
      writeValType(w, g.type)
      w.u8(g.mutable ? 1 : 0)
      writeConstExpr(w, g.init, mem)
    })
  },
  7: (w, m) =>
    vec(w, m.exports, e => {
      w.name(e.name)
      w.u8(EXTERN_CODE[e.kind])
      w.u32(e.index)
    }),
  8: (w, m) => {
    if (m.start === null) return false
    w.u32(m.start)
    return true
  },
  9: (w, m) => {
    const mem = memoriesIs64(m)
    return vec(w, m.elems, seg => writeElemSegment(w, seg, mem))
  },
  12: (w, m) => {
    if (!m.hasDataCount) return false
    w.u32(m.datas.length)
    return true
  },
  10: writeCode,
  11: (w, m) => {
    const mem = memoriesIs64(m)
    return vec(w, m.datas, seg => writeDataSegment(w, seg, mem))
  },
}

function writeTypes(w: Writer, m: Module): boolean {
  if (m.types.length === 0) return false
  w.u32(m.recGroups.length)
  let t = 0
  for (const g of m.recGroups) {
    if (g.explicit || g.size !== 1) {
      w.u8(0x4e)
      w.u32(g.size)
    }
    for (let i = 0; i < g.size; i++) {
      const sub = m.types[t++]
      if (sub === undefined) throw new Error('rec groups cover more types than the module has')
      writeSubType(w, sub)
    }
  }
  if (t !== m.types.length) throw new Error(`rec groups cover ${t} of ${m.types.length} types`)
  return true
}

function writeImport(w: Writer, imp: Import): void {
  w.name(imp.module)
  w.name(imp.name)
  const d = imp.desc
  w.u8(EXTERN_CODE[d.kind])
  if (d.kind === 'func') w.u32(d.type)
  else if (d.kind === 'table') {
    writeRefType(w, d.table.refType)
    writeLimits(w, d.table.limits, null)
  } else if (d.kind === 'memory') writeLimits(w, d.memory.limits, d.memory.pageSizeLog2)
  else if (d.kind === 'global') {
    writeValType(w, d.global.type)
    w.u8(d.global.mutable ? 1 : 0)
  } else {
    w.u8(0)
    w.u32(d.tag.type)
  }
}

/** Lifted bodies are encoded, lazy ones copied; each size as wide as the input had it. */
function writeCode(w: Writer, m: Module): boolean {
  const ctx = { memIs64: memoriesIs64(m) }
  const scratch = new Writer(1 << 16)
  return vec(w, m.funcs, f => {
    if (f.body !== null) {
      scratch.len = 0
      encodeFuncBody(scratch, f.body, ctx)
      w.sized(scratch, f.sizeWidth)
    } else if (f.raw !== null) w.sizedBytes(f.raw, f.sizeWidth)
    else throw new Error('a function has neither a body nor raw bytes')
  })
}

function isPlainFuncref(seg: ElemSegment): boolean {
  return seg.refType.nullable && seg.refType.heap === 'func'
}

function elemFlags(seg: ElemSegment): number {
  const exprs = seg.exprs !== null ? 4 : 0
  if (seg.mode === 'passive') return 1 | exprs
  if (seg.mode === 'declarative') return 3 | exprs
  const explicit = seg.table !== 0 || !isPlainFuncref(seg) || (seg.flags & 2) !== 0
  return (explicit ? 2 : 0) | exprs
}

function writeElemSegment(w: Writer, seg: ElemSegment, mem: readonly boolean[]): void {
  const flags = elemFlags(seg)
  w.u32(flags)
  if (seg.mode === 'active') {
    if ((flags & 2) !== 0) w.u32(seg.table)
    writeConstExpr(w, seg.offset ?? [], mem)
  }
  const hasKind = seg.mode !== 'active' || (flags & 2) !== 0
  if (seg.exprs !== null) {
    if (hasKind) writeRefType(w, seg.refType)
    w.u32(seg.exprs.length)
    for (const e of seg.exprs) writeConstExpr(w, e, mem)
  } else {
    if (hasKind) w.u8(0)
    const funcs = seg.funcs ?? []
    w.u32(funcs.length)
    for (const f of funcs) w.u32(f)
  }
}

function dataFlags(seg: DataSegment): number {
  if (seg.mode === 'passive') return 1
  return seg.mem !== 0 || seg.flags === 2 ? 2 : 0
}

function writeDataSegment(w: Writer, seg: DataSegment, mem: readonly boolean[]): void {
  const flags = dataFlags(seg)
  w.u32(flags)
  if (flags === 2) w.u32(seg.mem)
  if (flags !== 1) writeConstExpr(w, seg.offset ?? [], mem)
  w.sizedBytes(seg.bytes)
}

const I32_CONST = opByName('i32.const')
const I64_CONST = opByName('i64.const')

/** A constant expression; a lone `i32.const`/`i64.const` (most of them) without the general encoder. */
function writeConstExpr(w: Writer, expr: Instr[], memIs64: readonly boolean[]): void {
  const only = expr.length === 1 ? expr[0] : undefined
  if (only?.op === I32_CONST && only.i32 !== undefined) {
    w.u8(I32_CONST.code)
    w.s32(only.i32)
    w.u8(0x0b)
  } else if (only?.op === I64_CONST && only.i64 !== undefined) {
    w.u8(I64_CONST.code)
    w.s64(only.i64)
    w.u8(0x0b)
  } else encodeConstExpr(w, expr, memIs64)
}

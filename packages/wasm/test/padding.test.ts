// Padded LEBs, the way Go's linker writes them: every section size (and here every body size) as a
// 5-byte LEB, and LEBs inside bodies (local counts, indices, constants, memargs, branch depths) longer
// than needed. A lazy round trip keeps every byte; an eager one and an edited module keep the size
// fields' widths and stay valid.
import { describe, expect, it } from 'vitest'
import { decode, liftFunction } from '../src/decode-module.js'
import { encode } from '../src/encode-module.js'
import { opByName } from '../src/opcodes.js'
import { Reader } from '../src/reader.js'
import { Writer } from '../src/writer.js'

const W = 5

function section(out: Writer, id: number, write: (w: Writer) => void, width = W): void {
  const w = new Writer(64)
  write(w)
  out.u8(id)
  out.sized(w, width)
}

/** A padded s32: `v` in `width` bytes (sign-extension bytes 0x80/0xff… then 0x00/0x7f). */
function s32Padded(w: Writer, v: number, width: number): void {
  for (let i = 0; i < width; i++) {
    const last = i === width - 1
    const byte = (v >> (7 * i)) & 0x7f
    w.u8(last ? byte : byte | 0x80)
  }
}

/**
 * (module (memory 1) (data (i32.const 16) "\07\00\00\00")
 *   (func $f (export "f") (param i32) (result i32) (local i32)
 *     (local.set 1 (call $g (local.get 0)))
 *     (i32.add (i32.add (local.get 1) (i32.const 5)) (i32.load offset=16 (i32.const 0))))
 *   (func $g (param i32) (result i32)
 *     (block (result i32) (br 0 (i32.mul (local.get 0) (i32.const 2))))))
 * with a custom section "note" first; f(3) = 6 + 5 + 7 = 18.
 */
function paddedModule(): Uint8Array {
  const out = new Writer(256)
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]))
  section(out, 0, w => {
    w.name('note')
    w.bytes(new Uint8Array([1, 2, 3]))
  })
  section(out, 1, w => w.bytes(new Uint8Array([0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f])))
  section(out, 3, w => w.bytes(new Uint8Array([0x02, 0x00, 0x00])))
  section(out, 5, w => w.bytes(new Uint8Array([0x01, 0x00, 0x01])))
  section(out, 7, w => {
    w.u32(1)
    w.name('f')
    w.u8(0)
    w.u32Padded(0, 5)
  })
  section(out, 10, w => {
    w.u32(2)
    const f = new Writer(64)
    f.u32Padded(1, 3) // one local declaration…
    f.u32Padded(1, 4) // …of one i32
    f.u8(0x7f)
    f.u8(0x20) // local.get 0
    f.u32Padded(0, 5)
    f.u8(0x10) // call $g
    f.u32Padded(1, 5)
    f.u8(0x21) // local.set 1
    f.u32Padded(1, 2)
    f.bytes(new Uint8Array([0x20, 0x01, 0x41])) // local.get 1, i32.const 5
    s32Padded(f, 5, 5)
    f.u8(0x6a) // i32.add
    f.bytes(new Uint8Array([0x41, 0x00, 0x28])) // i32.const 0, i32.load align=2 offset=16
    f.u32Padded(2, 3)
    f.u32Padded(16, 5)
    f.bytes(new Uint8Array([0x6a, 0x0b]))
    w.sized(f, 5)
    const g = new Writer(64)
    g.u32Padded(0, 2) // no locals
    g.bytes(new Uint8Array([0x02, 0x7f, 0x20, 0x00, 0x41, 0x02, 0x6c, 0x0c])) // block, …, br
    g.u32Padded(0, 3)
    g.bytes(new Uint8Array([0x0b, 0x0b]))
    w.sized(g, 4)
  })
  section(out, 11, w => {
    w.u32(1)
    w.bytes(new Uint8Array([0x00, 0x41]))
    s32Padded(w, 16, 3)
    w.bytes(new Uint8Array([0x0b, 0x04, 7, 0, 0, 0]))
  })
  return out.finish()
}

/** Width in bytes of every section's size field, in order, as `id:width`. */
function sizeFieldWidths(bytes: Uint8Array): string[] {
  const r = new Reader(bytes, 8)
  const out: string[] = []
  while (!r.atEnd()) {
    const id = r.u8()
    const at = r.pos
    const size = r.u32()
    out.push(`${id}:${r.pos - at}`)
    r.pos += size
  }
  return out
}

/** Width of each function body's size field, read from the code section. */
function bodySizeWidths(bytes: Uint8Array): number[] {
  const r = new Reader(bytes, 8)
  while (!r.atEnd()) {
    const id = r.u8()
    const size = r.u32()
    if (id !== 10) {
      r.pos += size
      continue
    }
    const n = r.u32()
    const widths: number[] = []
    for (let i = 0; i < n; i++) {
      const at = r.pos
      const len = r.u32()
      widths.push(r.pos - at)
      r.pos += len
    }
    return widths
  }
  return []
}

function callF(bytes: Uint8Array, x: number): number {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>))
  return (instance.exports.f as (x: number) => number)(x)
}

const ALL_PADDED = ['0:5', '1:5', '3:5', '5:5', '7:5', '10:5', '11:5']

describe('padded LEBs (Go-style)', () => {
  const input = paddedModule()

  it('the hand-made module is what it claims: valid, padded, f(3) = 18', () => {
    expect(sizeFieldWidths(input)).toEqual(ALL_PADDED)
    expect(bodySizeWidths(input)).toEqual([5, 4])
    expect(callF(input, 3)).toBe(18)
  })

  it('records the widths of padded size fields', () => {
    const m = decode(input)
    expect([...m.sizeWidths]).toEqual([1, 3, 5, 7, 10, 11].map(id => [id, 5]))
    expect(m.customs.map(c => c.sizeWidth)).toEqual([5])
    expect(m.funcs.map(f => f.sizeWidth)).toEqual([5, 4])
    // The padding is in the IR, so no section needs its raw bytes kept.
    expect([...m.originals.keys()]).toEqual([7, 11])
  })

  it('lazy decode + encode is byte-identical', () => {
    const out = encode(decode(input, { bodies: 'lazy' }))
    expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true)
  })

  it('eager decode + encode reads every padded LEB in the bodies and keeps the size widths', () => {
    const m = decode(input, { bodies: 'eager' })
    const ops = (m.funcs[0]?.body?.body ?? []).map(i => i.op.name)
    expect(ops).toEqual([
      'local.get',
      'call',
      'local.set',
      'local.get',
      'i32.const',
      'i32.add',
      'i32.const',
      'i32.load',
      'i32.add',
    ])
    expect(m.funcs[0]?.body?.locals).toEqual(['i32'])
    const out = encode(m)
    expect(out.length).toBeLessThan(input.length)
    expect(sizeFieldWidths(out)).toEqual(ALL_PADDED)
    expect(bodySizeWidths(out)).toEqual([5, 4])
    expect(callF(out, 3)).toBe(18)
  })

  it('an edited function and an edited section keep their size widths; the rest keeps its bytes', () => {
    const m = decode(input)
    const untouched = m.funcs[0]?.raw as Uint8Array
    const g = liftFunction(m, 1)
    const two = (g.body[0]?.body ?? []).find(i => i.op === opByName('i32.const'))
    if (two === undefined) throw new Error('no i32.const in g')
    two.i32 = 3
    m.exports.push({ name: 'g', kind: 'func', index: 1 })
    const out = encode(m)
    expect(sizeFieldWidths(out)).toEqual(ALL_PADDED)
    expect(bodySizeWidths(out)).toEqual([5, 4])
    expect(Buffer.from(out).includes(Buffer.from(untouched))).toBe(true)
    expect(callF(out, 3)).toBe(9 + 5 + 7)
  })
})

import { describe, expect, it } from 'vitest'
import { WasmDecodeError } from '../src/errors.js'
import { Reader } from '../src/reader.js'
import { u32Width, Writer } from '../src/writer.js'

function bytesOf(write: (w: Writer) => void): Uint8Array {
  const w = new Writer(4)
  write(w)
  return w.finish()
}

describe('LEB128', () => {
  const u32s = [0, 1, 63, 64, 127, 128, 255, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]
  it.each(u32s)('u32 %d round-trips in its shortest form', v => {
    const b = bytesOf(w => w.u32(v))
    const r = new Reader(b)
    expect(r.u32()).toBe(v)
    expect(r.atEnd()).toBe(true)
    expect(r.nonCanonical).toBe(false)
  })

  const s32s = [0, 1, -1, 63, 64, -64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]
  it.each(s32s)('s32 %d round-trips', v => {
    const r = new Reader(bytesOf(w => w.s32(v)))
    expect(r.s32()).toBe(v)
    expect(r.atEnd()).toBe(true)
  })

  const s64s = [
    0n,
    -1n,
    1n << 48n,
    -(1n << 48n),
    (1n << 63n) - 1n,
    -(1n << 63n),
    0x123456789abcdefn,
    -0x7edcba987654321n,
  ]
  it.each(s64s)('s64 %s round-trips', v => {
    const r = new Reader(bytesOf(w => w.s64(v)))
    expect(r.s64()).toBe(v)
    expect(r.atEnd()).toBe(true)
  })

  it('s33 covers the full block-type index range', () => {
    for (const v of [0, 1, 64, 2 ** 31, 2 ** 32 - 1, -1, -64, -(2 ** 32)]) {
      const r = new Reader(bytesOf(w => w.sInt(v)))
      expect(r.s33()).toBe(v)
    }
  })

  it('u64 returns a number when safe and a bigint beyond', () => {
    expect(new Reader(bytesOf(w => w.u64(2 ** 53 - 1))).u64()).toBe(2 ** 53 - 1)
    expect(new Reader(bytesOf(w => w.u64(2n ** 64n - 1n))).u64()).toBe(2n ** 64n - 1n)
  })

  it('flags padded encodings as non-canonical', () => {
    const r = new Reader(new Uint8Array([0x80, 0x80, 0x00]))
    expect(r.u32()).toBe(0)
    expect(r.nonCanonical).toBe(true)
    const s = new Reader(new Uint8Array([0xff, 0x7f]))
    expect(s.s32()).toBe(-1)
    expect(s.nonCanonical).toBe(true)
  })

  it.each([
    [0, 1, 1],
    [0, 5, 5],
    [127, 2, 2],
    [128, 1, 2],
    [300, 5, 5],
    [2 ** 21, 2, 4],
    [2 ** 32 - 1, 5, 5],
    [7, 9, 5],
  ])('u32Padded(%d, width %d) takes %d bytes and reads back', (v, width, bytes) => {
    const b = bytesOf(w => w.u32Padded(v, width))
    expect(b.length).toBe(bytes)
    expect(u32Width(v)).toBe(bytesOf(w => w.u32(v)).length)
    const r = new Reader(b)
    expect(r.u32()).toBe(v)
    expect(r.atEnd()).toBe(true)
    expect(r.nonCanonical).toBe(bytes > u32Width(v))
  })

  it.each([
    ['u32 with a 6th byte', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r: Reader) => r.u32()],
    ['u32 above 2^32', [0xff, 0xff, 0xff, 0xff, 0x1f], (r: Reader) => r.u32()],
    ['s32 with inconsistent sign bits', [0xff, 0xff, 0xff, 0xff, 0x4f], (r: Reader) => r.s32()],
    ['truncated u32', [0x80, 0x80], (r: Reader) => r.u32()],
    [
      's64 too long',
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
      (r: Reader) => r.s64(),
    ],
  ])('rejects %s with a WasmDecodeError', (_name, bytes, read) => {
    expect(() => read(new Reader(new Uint8Array(bytes)))).toThrow(WasmDecodeError)
  })
})

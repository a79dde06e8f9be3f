// Constant expressions in segments and globals: the lone i32.const / i64.const the decoder and the
// section encoder take a short path for, and the longer forms that go through the general decoder.
import { describe, expect, it } from 'vitest'
import { decode } from '../src/decode-module.js'
import { encode } from '../src/encode-module.js'
import { WasmDecodeError } from '../src/errors.js'

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]

function sec(id: number, content: number[]): number[] {
  return [id, content.length, ...content]
}

/** A module with one memory (64-bit when `mem64`), an i32 global and one data segment at `offset`. */
function withDataOffset(offset: number[], mem64 = false): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...HEADER,
    ...sec(5, [0x01, mem64 ? 0x04 : 0x00, 0x01]),
    ...sec(6, [0x01, 0x7f, 0x00, 0x41, 0x08, 0x0b]), // (global i32 (i32.const 8))
    ...sec(11, [0x01, 0x00, ...offset, 0x02, 0xaa, 0xbb]),
  ])
}

const shown = (bytes: Uint8Array): string[] =>
  (decode(bytes).datas[0]?.offset ?? []).map(i => `${i.op.name} ${i.i32 ?? i.i64 ?? i.global ?? ''}`.trim())

describe('constant expressions', () => {
  it.each([
    ['i32.const', [0x41, 0x10, 0x0b], false, ['i32.const 16']],
    ['a negative i32.const', [0x41, 0x7f, 0x0b], false, ['i32.const -1']],
    ['i64.const (memory64)', [0x42, 0x80, 0x01, 0x0b], true, ['i64.const 128']],
    ['global.get', [0x23, 0x00, 0x0b], false, ['global.get 0']],
    [
      'extended-const',
      [0x41, 0x01, 0x23, 0x00, 0x6a, 0x0b],
      false,
      ['i32.const 1', 'global.get 0', 'i32.add'],
    ],
  ])('%s decodes to its IR and re-encodes to the same bytes', (_what, offset, mem64, ir) => {
    const bytes = withDataOffset(offset, mem64)
    expect(WebAssembly.validate(bytes)).toBe(true)
    expect(shown(bytes)).toEqual(ir)
    expect(Buffer.from(encode(decode(bytes))).equals(Buffer.from(bytes))).toBe(true)
  })

  it('a constant missing its end is an error in the data section', () => {
    const bytes = new Uint8Array([
      ...HEADER,
      ...sec(5, [0x01, 0x00, 0x01]),
      ...sec(11, [0x01, 0x00, 0x41, 0x10]),
    ])
    expect(() => decode(bytes)).toThrow(WasmDecodeError)
    expect(() => decode(bytes)).toThrow(/data/)
  })
})

// Malformed input must end in a WasmDecodeError that says where: byte offset, section, function.
import { describe, expect, it } from 'vitest'
import { decode, decodeFunction, liftFunction } from '../src/decode-module.js'
import { WasmDecodeError } from '../src/errors.js'

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
const TYPE_VOID = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00] // (type (func))
const FUNC_ONE = [0x03, 0x02, 0x01, 0x00] // one function of type 0

function code(...bodies: number[][]): number[] {
  const content = [bodies.length]
  for (const b of bodies) content.push(b.length, ...b)
  return [0x0a, content.length, ...content]
}

function mod(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()])
}

function decodeError(bytes: Uint8Array, bodies: 'lazy' | 'eager' = 'eager'): WasmDecodeError {
  try {
    const m = decode(bytes, { bodies })
    for (let i = 0; i < m.funcs.length; i++) liftFunction(m, i)
  } catch (e) {
    expect(e).toBeInstanceOf(WasmDecodeError)
    return e as WasmDecodeError
  }
  throw new Error('expected a WasmDecodeError')
}

describe('decode errors', () => {
  it('bad magic', () => {
    const e = decodeError(new Uint8Array([0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0]))
    expect(e.message).toMatch(/bad magic/)
    expect(e.offset).toBe(0)
  })

  it('truncated header and truncated section', () => {
    expect(decodeError(new Uint8Array([0x00, 0x61])).message).toMatch(/header/)
    const e = decodeError(mod([0x01, 0x10, 0x01]))
    expect(e.message).toMatch(/runs past the end/)
    expect(e.offset).toBe(8)
  })

  it('unknown opcode names the function and the byte', () => {
    const bytes = mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x01, 0x17, 0x0b]))
    for (const mode of ['lazy', 'eager'] as const) {
      const e = decodeError(bytes, mode)
      expect(e.message).toMatch(/unknown opcode 0x17/)
      expect(e.funcIndex).toBe(0)
      expect(e.section).toBe('code')
      expect(bytes[e.offset]).toBe(0x17)
    }
  })

  it('unknown prefixed opcode', () => {
    const e = decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0xfc, 0x7f, 0x0b])))
    expect(e.message).toMatch(/unknown opcode 0xfc 127/)
  })

  it('out-of-range indices', () => {
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x10, 0x05, 0x0b]))).message).toMatch(
      /function index 5 out of range/,
    )
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x20, 0x00, 0x1a, 0x0b]))).message).toMatch(
      /local index 0 out of range/,
    )
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x0c, 0x03, 0x0b]))).message).toMatch(
      /branch depth 3/,
    )
    expect(decodeError(mod(TYPE_VOID, [0x03, 0x02, 0x01, 0x07])).message).toMatch(/type 7/)
    const exp = [0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x09] // (export "f" (func 9))
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, exp, code([0x00, 0x0b]))).message).toMatch(/func 9/)
  })

  it('wrong section order and repeated sections', () => {
    const memory = [0x05, 0x03, 0x01, 0x00, 0x01]
    const table = [0x04, 0x04, 0x01, 0x70, 0x00, 0x01]
    const e = decodeError(mod(memory, table))
    expect(e.message).toMatch(/section table is out of order or repeated/)
    expect(e.offset).toBe(13)
    expect(decodeError(mod(TYPE_VOID, TYPE_VOID)).message).toMatch(/out of order or repeated/)
  })

  it('bad LEB in a section size', () => {
    const e = decodeError(new Uint8Array([...HEADER, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect(e.message).toMatch(/LEB128/)
    expect(e.offset).toBe(9)
  })

  it('function and code section disagree', () => {
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code())).message).toMatch(/0 bodies/)
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE)).message).toMatch(/no code section/)
  })

  it('missing end and trailing bytes in a body', () => {
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x01]))).message).toMatch(/unexpected end/)
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x0b, 0x01]))).message).toMatch(
      /after its final end/,
    )
  })

  it('else, catch and delegate out of place', () => {
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x05, 0x0b]))).message).toMatch(/else without/)
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x19, 0x0b]))).message).toMatch(
      /catch_all outside/,
    )
    expect(decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x18, 0x00, 0x0b]))).message).toMatch(
      /delegate outside/,
    )
  })

  it('huge counts do not allocate', () => {
    // 2^32-1 locals of type i32: refused before anything is allocated.
    const e = decodeError(mod(TYPE_VOID, FUNC_ONE, code([0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b])))
    expect(e.message).toMatch(/too many locals/)
    expect(decodeError(mod([0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f])).message).toMatch(/vector length/)
  })

  it('lazy bodies report offsets in the whole module', () => {
    const bytes = mod(TYPE_VOID, FUNC_ONE, code([0x00, 0x01, 0x01, 0xd7, 0x0b]))
    const m = decode(bytes)
    try {
      decodeFunction(m, 0)
      throw new Error('expected a WasmDecodeError')
    } catch (e) {
      expect(e).toBeInstanceOf(WasmDecodeError)
      expect(bytes[(e as WasmDecodeError).offset]).toBe(0xd7)
    }
  })

  it('a component is not a module', () => {
    expect(decodeError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])).message).toMatch(
      /component/,
    )
  })
})

import { WasmDecodeError } from './errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Small i64 values, made once: i64 constants are mostly small (Go's code is full of them), and a
 * bigint is a heap object, so sharing these saves an allocation per constant.
 */
const SMALL_BIGINT_MIN = -256
const SMALL_BIGINT_MAX = 4095
const SMALL_BIGINTS: bigint[] = Array.from({ length: SMALL_BIGINT_MAX - SMALL_BIGINT_MIN + 1 }, (_, i) =>
  BigInt(i + SMALL_BIGINT_MIN),
)

/**
 * Cursor over the input bytes. Every read is bounds-checked and throws WasmDecodeError, so malformed input
 * can never surface as a RangeError or read garbage. `section`/`funcIndex` are kept here so that any error
 * raised while reading carries its location without threading it through every call.
 */
export class Reader {
  readonly bytes: Uint8Array
  pos: number
  end: number
  section: string | undefined
  funcIndex: number | undefined
  /** Set when a LEB was encoded with more bytes than needed, or a type in a non-shortest form. */
  nonCanonical = false
  private view: DataView | undefined

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = pos
    this.end = end
  }

  fail(reason: string, offset = this.pos): never {
    throw new WasmDecodeError(reason, { offset, section: this.section, funcIndex: this.funcIndex })
  }

  get remaining(): number {
    return this.end - this.pos
  }

  atEnd(): boolean {
    return this.pos >= this.end
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end of input')
    return this.bytes[this.pos++] as number
  }

  peek(): number {
    if (this.pos >= this.end) this.fail('unexpected end of input')
    return this.bytes[this.pos] as number
  }

  take(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail(`need ${n} bytes but only ${this.end - this.pos} remain`)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  u32(): number {
    // Most LEBs are one byte: take that path without the loop.
    const first = this.bytes[this.pos] as number
    if (first < 0x80 && this.pos < this.end) {
      this.pos++
      return first
    }
    const start = this.pos
    let result = 0
    let shift = 0
    for (;;) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      const b = this.bytes[this.pos++] as number
      if (shift === 28) {
        if ((b & 0x70) !== 0 || (b & 0x80) !== 0)
          this.fail('malformed u32 LEB128 (too long or out of range)', start)
        result += (b & 0x0f) * 0x10000000
        if (b === 0 && this.pos - start > 1) this.nonCanonical = true
        return result
      }
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (b === 0 && this.pos - start > 1) this.nonCanonical = true
        return result
      }
      shift += 7
    }
  }

  s32(): number {
    const first = this.bytes[this.pos] as number
    if (first < 0x80 && this.pos < this.end) {
      this.pos++
      return (first << 25) >> 25
    }
    const start = this.pos
    let result = 0
    let shift = 0
    let b: number
    for (;;) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      b = this.bytes[this.pos++] as number
      if (shift === 28) {
        // Last byte: the 4 payload bits plus the unused sign-extension bits must agree.
        const top = b & 0x7f
        if ((b & 0x80) !== 0 || (top !== (top & 0x07) && top !== (top | 0x78)))
          this.fail('malformed s32 LEB128 (too long or out of range)', start)
        result |= (b & 0x0f) << 28
        break
      }
      result |= (b & 0x7f) << shift
      shift += 7
      if ((b & 0x80) === 0) {
        if (shift < 32 && (b & 0x40) !== 0) result |= -1 << shift
        break
      }
    }
    this.checkSignedCanonical(start, b)
    return result | 0
  }

  /** Signed 33-bit LEB (block types); returns a number in [-2^32, 2^32). */
  s33(): number {
    const start = this.pos
    let result = 0
    let mul = 1
    let b: number
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      b = this.bytes[this.pos++] as number
      if (i === 4) {
        const top = b & 0x7f
        if ((b & 0x80) !== 0 || (top !== (top & 0x0f) && top !== (top | 0x70)))
          this.fail('malformed s33 LEB128', start)
        result += (b & 0x0f) * mul
        if ((b & 0x10) !== 0) result -= 2 ** 32
        break
      }
      result += (b & 0x7f) * mul
      mul *= 128
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= mul
        break
      }
    }
    this.checkSignedCanonical(start, b)
    return result
  }

  s64(): bigint {
    const start = this.pos
    // Fast path: up to 7 bytes (49 bits) fit a double exactly.
    let result = 0
    let mul = 1
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      const b = this.bytes[this.pos++] as number
      result += (b & 0x7f) * mul
      mul *= 128
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= mul
        this.checkSignedCanonical(start, b)
        return result >= SMALL_BIGINT_MIN && result <= SMALL_BIGINT_MAX
          ? (SMALL_BIGINTS[result - SMALL_BIGINT_MIN] as bigint)
          : BigInt(result)
      }
    }
    this.pos = start
    let big = 0n
    let shift = 0n
    let b: number
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      b = this.bytes[this.pos++] as number
      if (i === 9) {
        const top = b & 0x7f
        if ((b & 0x80) !== 0 || (top !== 0 && top !== 0x7f)) this.fail('malformed s64 LEB128', start)
        big |= BigInt(b & 1) << 63n
        big = BigInt.asIntN(64, big)
        break
      }
      big |= BigInt(b & 0x7f) << shift
      shift += 7n
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) big -= 1n << shift
        break
      }
    }
    this.checkSignedCanonical(start, b)
    return big
  }

  /** Unsigned 64-bit LEB returned as a number when it is a safe integer, else as a bigint. */
  u64(): number | bigint {
    const start = this.pos
    let result = 0
    let mul = 1
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      const b = this.bytes[this.pos++] as number
      result += (b & 0x7f) * mul
      mul *= 128
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.nonCanonical = true
        return result
      }
    }
    this.pos = start
    let big = 0n
    let shift = 0n
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of input in LEB128', start)
      const b = this.bytes[this.pos++] as number
      if (i === 9) {
        if ((b & 0xfe) !== 0) this.fail('malformed u64 LEB128', start)
        big |= BigInt(b) << 63n
        if (b === 0) this.nonCanonical = true
        break
      }
      big |= BigInt(b & 0x7f) << shift
      shift += 7n
      if ((b & 0x80) === 0) {
        if (b === 0) this.nonCanonical = true
        break
      }
    }
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  private checkSignedCanonical(start: number, last: number): void {
    if (this.pos - start < 2) return
    const prev = this.bytes[this.pos - 2] as number
    if ((last === 0 && (prev & 0x40) === 0) || (last === 0x7f && (prev & 0x40) !== 0))
      this.nonCanonical = true
  }

  f32bits(): number {
    if (this.end - this.pos < 4) this.fail('unexpected end of input in f32')
    const v = this.dataView().getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  f64bits(): bigint {
    if (this.end - this.pos < 8) this.fail('unexpected end of input in f64')
    const v = this.dataView().getBigUint64(this.pos, true)
    this.pos += 8
    return v
  }

  name(): string {
    const len = this.u32()
    const start = this.pos
    const raw = this.take(len)
    try {
      return utf8.decode(raw)
    } catch {
      this.fail('name is not valid UTF-8', start)
    }
  }

  /** Reads a vector length and rejects counts that could not possibly fit in the remaining bytes. */
  count(minBytesEach = 1): number {
    const at = this.pos
    const n = this.u32()
    if (n * minBytesEach > this.end - this.pos)
      this.fail(`vector length ${n} exceeds the remaining bytes`, at)
    return n
  }

  private dataView(): DataView {
    if (this.view === undefined)
      this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
    return this.view
  }
}

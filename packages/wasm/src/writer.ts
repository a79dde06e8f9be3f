/** Growable byte buffer with the LEB128 and float writers the encoder needs. */
export class Writer {
  buf: Uint8Array<ArrayBuffer>
  len = 0
  private view: DataView

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial)
    this.view = new DataView(this.buf.buffer)
  }

  private grow(extra: number): void {
    let cap = this.buf.length * 2
    while (cap < this.len + extra) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8(b: number): void {
    if (this.len >= this.buf.length) this.grow(1)
    this.buf[this.len++] = b
  }

  bytes(data: Uint8Array): void {
    if (this.len + data.length > this.buf.length) this.grow(data.length)
    this.buf.set(data, this.len)
    this.len += data.length
  }

  u32(v: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5)
    const buf = this.buf
    v >>>= 0
    while (v >= 0x80) {
      buf[this.len++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    buf[this.len++] = v
  }

  /** Signed LEB for any integer that fits a double exactly (s32, s33). */
  sInt(v: number): void {
    if (this.len + 10 > this.buf.length) this.grow(10)
    const buf = this.buf
    for (;;) {
      const byte = ((v % 128) + 128) % 128
      v = Math.floor(v / 128)
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        buf[this.len++] = byte
        return
      }
      buf[this.len++] = byte | 0x80
    }
  }

  s32(v: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5)
    const buf = this.buf
    v |= 0
    for (;;) {
      const byte = v & 0x7f
      v >>= 7
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        buf[this.len++] = byte
        return
      }
      buf[this.len++] = byte | 0x80
    }
  }

  s64(v: bigint): void {
    // Most i64 constants fit 32 bits: integer arithmetic then, doubles up to 2^51, bigints beyond.
    if (v >= -0x80000000n && v < 0x80000000n) {
      this.s32(Number(v))
      return
    }
    if (v >= -0x8000000000000n && v < 0x8000000000000n) {
      this.sInt(Number(v))
      return
    }
    if (this.len + 10 > this.buf.length) this.grow(10)
    v = BigInt.asIntN(64, v)
    for (;;) {
      const byte = Number(v & 0x7fn)
      v >>= 7n
      if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
        this.buf[this.len++] = byte
        return
      }
      this.buf[this.len++] = byte | 0x80
    }
  }

  u64(v: number | bigint): void {
    if (typeof v === 'number') {
      if (this.len + 10 > this.buf.length) this.grow(10)
      while (v >= 0x80) {
        this.buf[this.len++] = (v % 128) | 0x80
        v = Math.floor(v / 128)
      }
      this.buf[this.len++] = v
      return
    }
    let big = BigInt.asUintN(64, v)
    if (this.len + 10 > this.buf.length) this.grow(10)
    while (big >= 0x80n) {
      this.buf[this.len++] = Number(big & 0x7fn) | 0x80
      big >>= 7n
    }
    this.buf[this.len++] = Number(big)
  }

  f32bits(bits: number): void {
    if (this.len + 4 > this.buf.length) this.grow(4)
    this.view.setUint32(this.len, bits >>> 0, true)
    this.len += 4
  }

  f64bits(bits: bigint): void {
    if (this.len + 8 > this.buf.length) this.grow(8)
    this.view.setBigUint64(this.len, BigInt.asUintN(64, bits), true)
    this.len += 8
  }

  name(s: string): void {
    const data = textEncoder.encode(s)
    this.u32(data.length)
    this.bytes(data)
  }

  /**
   * A u32 LEB in at least `width` bytes (at most 5): the value's last group is followed by `0x80`…`0x00`
   * padding, as producers that patch sizes in place write them (Go's linker pads every size to 5 bytes).
   */
  u32Padded(v: number, width: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5)
    const buf = this.buf
    v >>>= 0
    const last = Math.min(width, 5) - 1
    for (let i = 0; ; i++) {
      const more = v >= 0x80 || i < last
      buf[this.len++] = more ? (v & 0x7f) | 0x80 : v
      if (!more) return
      v >>>= 7
    }
  }

  /** A size field: the shortest LEB, or padded to `width` bytes when the input had it so. */
  private size(n: number, width: number | undefined): void {
    if (width === undefined || width <= 1) this.u32(n)
    else this.u32Padded(n, width)
  }

  /** Writes `inner`'s content prefixed by its length (in at least `width` bytes). */
  sized(inner: Writer, width?: number): void {
    this.size(inner.len, width)
    if (this.len + inner.len > this.buf.length) this.grow(inner.len)
    this.buf.set(inner.buf.subarray(0, inner.len), this.len)
    this.len += inner.len
  }

  /** Writes `data` prefixed by its length (in at least `width` bytes). */
  sizedBytes(data: Uint8Array, width?: number): void {
    this.size(data.length, width)
    this.bytes(data)
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len)
  }
}

const textEncoder = new TextEncoder()

/** Bytes in the shortest LEB128 of the u32 `v`. */
export function u32Width(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5
}

/** Where in the input a decode problem was found. */
export interface DecodeLocation {
  /** Absolute byte offset in the input binary. */
  offset: number
  /** Section name (e.g. `code`, `import`, `custom:name`), when known. */
  section?: string | undefined
  /** Function index (in the full function index space), when inside a body. */
  funcIndex?: number | undefined
}

/** Thrown for any malformed or unsupported input; never a bare RangeError. */
export class WasmDecodeError extends Error {
  readonly offset: number
  readonly section: string | undefined
  readonly funcIndex: number | undefined
  readonly reason: string

  constructor(reason: string, where: DecodeLocation) {
    const parts = [`at byte 0x${where.offset.toString(16)} (${where.offset})`]
    if (where.section !== undefined) parts.push(`section ${where.section}`)
    if (where.funcIndex !== undefined) parts.push(`function ${where.funcIndex}`)
    super(`${reason} ${parts.join(', ')}`)
    this.name = 'WasmDecodeError'
    this.reason = reason
    this.offset = where.offset
    this.section = where.section
    this.funcIndex = where.funcIndex
  }
}

/** Thrown when the IR handed to the encoder cannot be written (a bug in a transform, usually). */
export class WasmEncodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WasmEncodeError'
  }
}

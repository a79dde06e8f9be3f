/**
 * Module IR → bytes: the header, the known sections in their required order (each written by
 * encode-section.ts) and the custom sections where they stood. Lazy bodies are copied verbatim; a
 * section whose input bytes the IR does not reproduce keeps them while it is unchanged (originals.ts);
 * every size field is written at least as wide as the input had it (`Module.sizeWidths`).
 */

import { canonicalSection } from './encode-section.js'
import type { Module } from './ir.js'
import { encodeNameSection, NAME_SECTION_KEY } from './names.js'
import { originalOr } from './originals.js'
import { Writer } from './writer.js'

/** Known sections in the order they must appear. */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]

const HEADER = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])

/** Writes the module. */
export function encode(m: Module): Uint8Array<ArrayBuffer> {
  const out = new Writer(1 << 16)
  out.bytes(HEADER)
  writeCustoms(out, m, 0)
  for (const id of SECTION_ORDER) {
    const content = canonicalSection(m, id)
    if (content !== null) {
      out.u8(id)
      out.sizedBytes(originalOr(m, id, content), m.sizeWidths.get(id))
    }
    writeCustoms(out, m, id)
  }
  return out.finish()
}

/** The custom sections that followed known section `after` (0: before all of them). */
function writeCustoms(out: Writer, m: Module, after: number): void {
  for (const c of m.customs) {
    if (c.after !== after) continue
    let data = c.data
    if (c.name === 'name' && m.names !== null)
      data = originalOr(m, NAME_SECTION_KEY, encodeNameSection(m.names))
    const body = new Writer(c.name.length + data.length + 8)
    body.name(c.name)
    body.bytes(data)
    out.u8(0)
    out.sized(body, c.sizeWidth)
  }
}

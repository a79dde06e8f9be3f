/**
 * Keeping the input's own encoding. Some producers write longer-than-needed LEBs or non-shortest type
 * forms inside a section; our IR does not record those choices, so re-encoding such a section would
 * change its bytes. At decode time such a section is remembered as its raw bytes together with what the
 * IR encoded to then; the encoder writes the raw bytes for as long as the IR still encodes to exactly
 * that, so an untouched module round-trips byte for byte while an edited section is written from the IR.
 * (Padded size fields are different: the IR records their width, see `Module.sizeWidths`.)
 */
import type { Module } from './ir.js'

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Remembers `raw` under `key` (a section id, or NAME_SECTION_KEY) when it is not what the IR encodes to. */
export function rememberOriginal(m: Module, key: number, raw: Uint8Array, canonical: Uint8Array): void {
  if (!sameBytes(raw, canonical)) m.originals.set(key, { raw, canonical })
}

/** The remembered input bytes if the IR still encodes to what it did at decode time, else `encoded`. */
export function originalOr(m: Module, key: number, encoded: Uint8Array): Uint8Array {
  const orig = m.originals.get(key)
  return orig !== undefined && sameBytes(orig.canonical, encoded) ? orig.raw : encoded
}

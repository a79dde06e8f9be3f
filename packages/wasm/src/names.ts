/** The `name` custom section: parsed on demand, written back from the IR. */
import { WasmDecodeError } from './errors.js'
import type { Module, NameMap, NameSection } from './ir.js'
import { rememberOriginal } from './originals.js'
import { Reader } from './reader.js'
import { Writer } from './writer.js'

const INDIRECT = new Set([2, 3, 10])
/** Key of the name section in `module.originals` (outside the range of section ids). */
export const NAME_SECTION_KEY = 0x100

export function emptyNames(): NameSection {
  return { module: null, maps: new Map(), indirect: new Map(), unknown: [], order: [] }
}

function readNameMap(r: Reader): NameMap {
  const n = r.count(2)
  const map: NameMap = new Map()
  for (let i = 0; i < n; i++) {
    const idx = r.u32()
    map.set(idx, r.name())
  }
  return map
}

export function parseNameSection(data: Uint8Array, offset = 0): NameSection {
  const r = new Reader(data)
  r.section = 'custom:name'
  const names = emptyNames()
  const seen = new Set<number>()
  try {
    while (!r.atEnd()) {
      const at = r.pos
      const id = r.u8()
      const size = r.u32()
      if (size > r.remaining) r.fail(`name subsection ${id} runs past the section end`, at)
      const end = r.pos + size
      if (seen.has(id)) r.fail(`name subsection ${id} appears twice`, at)
      seen.add(id)
      names.order.push(id)
      const sub = new Reader(data, r.pos, end)
      sub.section = 'custom:name'
      if (id === 0) names.module = sub.name()
      else if (INDIRECT.has(id)) {
        const n = sub.count(2)
        const outer = new Map<number, NameMap>()
        for (let i = 0; i < n; i++) {
          const idx = sub.u32()
          outer.set(idx, readNameMap(sub))
        }
        names.indirect.set(id, outer)
      } else if (id <= 11) names.maps.set(id, readNameMap(sub))
      else names.unknown.push({ id, data: data.subarray(r.pos, end) })
      if (id <= 11 && !sub.atEnd()) sub.fail(`name subsection ${id} has trailing bytes`)
      r.pos = end
    }
  } catch (e) {
    if (e instanceof WasmDecodeError)
      throw new WasmDecodeError(e.reason, { offset: offset + e.offset, section: 'custom:name' })
    throw e
  }
  return names
}

function writeNameMap(w: Writer, map: NameMap): void {
  const keys = [...map.keys()].sort((a, b) => a - b)
  w.u32(keys.length)
  for (const k of keys) {
    w.u32(k)
    w.name(map.get(k) as string)
  }
}

export function encodeNameSection(names: NameSection): Uint8Array {
  const w = new Writer(256)
  const present = (id: number): boolean =>
    id === 0
      ? names.module !== null
      : names.maps.has(id) || names.indirect.has(id) || names.unknown.some(u => u.id === id)
  // Subsections must come in increasing id order (an input that did otherwise keeps its bytes through
  // module.originals as long as the names are untouched).
  const ids = [...new Set([...names.order, ...names.unknown.map(u => u.id)])]
  for (let id = 0; id <= 11; id++) if (!ids.includes(id) && present(id)) ids.push(id)
  ids.sort((a, b) => a - b)
  for (const id of ids) {
    if (!present(id)) continue
    const sub = new Writer(64)
    if (id === 0) sub.name(names.module as string)
    else if (INDIRECT.has(id)) {
      const outer = names.indirect.get(id) as Map<number, NameMap>
      const keys = [...outer.keys()].sort((a, b) => a - b)
      sub.u32(keys.length)
      for (const k of keys) {
        sub.u32(k)
        writeNameMap(sub, outer.get(k) as NameMap)
      }
    } else if (names.maps.has(id)) writeNameMap(sub, names.maps.get(id) as NameMap)
    else sub.bytes((names.unknown.find(u => u.id === id) as { data: Uint8Array }).data)
    w.u8(id)
    w.sized(sub)
  }
  return w.finish()
}

/**
 * The module's names, parsed on first use (creating an empty name section if there is none), so that a
 * module nobody asks about pays nothing for its name section. Throws WasmDecodeError if it is malformed.
 */
export function getNames(module: Module): NameSection {
  if (module.names !== null) return module.names
  const custom = module.customs.find(c => c.name === 'name')
  if (custom === undefined) {
    module.names = emptyNames()
    module.customs.push({ name: 'name', data: new Uint8Array(0), after: lastKnownSection(module) })
    return module.names
  }
  const names = parseNameSection(custom.data)
  rememberOriginal(module, NAME_SECTION_KEY, custom.data, encodeNameSection(names))
  module.names = names
  return names
}

function lastKnownSection(m: Module): number {
  if (m.datas.length > 0) return 11
  if (m.funcs.length > 0) return 10
  return 7
}

/** Names a function (full index space); creates the name section if needed. */
export function setFunctionName(module: Module, funcIndex: number, name: string): void {
  const names = getNames(module)
  let map = names.maps.get(1)
  if (map === undefined) {
    map = new Map()
    names.maps.set(1, map)
  }
  map.set(funcIndex, name)
}

/** Names a local (params first, then declared locals) of a function. */
export function setLocalName(module: Module, funcIndex: number, localIndex: number, name: string): void {
  const names = getNames(module)
  let outer = names.indirect.get(2)
  if (outer === undefined) {
    outer = new Map()
    names.indirect.set(2, outer)
  }
  let map = outer.get(funcIndex)
  if (map === undefined) {
    map = new Map()
    outer.set(funcIndex, map)
  }
  map.set(localIndex, name)
}

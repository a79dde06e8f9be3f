/**
 * Index remapping for the two module changes that shift index spaces: removing the `asyncify.*` function
 * imports (they become defined functions) and importing the state/data globals (relocatable mode).
 * Every body must be lifted first (`m.funcs[d].body`); constant expressions, segments, exports, start and
 * names follow.
 */
import { type Instr, type Module, type NameMap, walk } from '@unplugin-asyncify/wasm'

export interface IndexMaps {
  func?: (old: number) => number
  global?: (old: number) => number
}

function remapList(list: Instr[], maps: IndexMaps): void {
  const { func, global } = maps
  walk(list, ins => {
    if (func !== undefined && ins.func !== undefined) ins.func = func(ins.func)
    if (global !== undefined && ins.global !== undefined) ins.global = global(ins.global)
  })
}

function remapNameMap(map: NameMap | undefined, f: (old: number) => number): NameMap | undefined {
  if (map === undefined) return undefined
  const out: NameMap = new Map()
  for (const [k, v] of map) out.set(f(k), v)
  return out
}

/** Rewrites every function and global reference in the module. */
export function remapIndices(m: Module, maps: IndexMaps): void {
  for (const f of m.funcs) {
    if (f.body !== null) remapList(f.body.body, maps)
    else if (f.raw !== null) throw new Error('internal: remapIndices on a module whose bodies are not lifted')
  }
  for (const g of m.globals) remapList(g.init, maps)
  for (const t of m.tables) if (t.init !== null) remapList(t.init, maps)
  for (const seg of m.elems) {
    if (seg.offset !== null) remapList(seg.offset, maps)
    if (seg.funcs !== null && maps.func !== undefined) seg.funcs = seg.funcs.map(maps.func)
    if (seg.exprs !== null) for (const e of seg.exprs) remapList(e, maps)
  }
  for (const seg of m.datas) if (seg.offset !== null) remapList(seg.offset, maps)
  for (const e of m.exports) {
    if (e.kind === 'func' && maps.func !== undefined) e.index = maps.func(e.index)
    if (e.kind === 'global' && maps.global !== undefined) e.index = maps.global(e.index)
  }
  if (m.start !== null && maps.func !== undefined) m.start = maps.func(m.start)
  const names = m.names
  if (names !== null) {
    if (maps.func !== undefined) {
      const f = maps.func
      const fn = remapNameMap(names.maps.get(1), f)
      if (fn !== undefined) names.maps.set(1, fn)
      const locals = names.indirect.get(2)
      if (locals !== undefined) {
        const out = new Map<number, NameMap>()
        for (const [k, v] of locals) out.set(f(k), v)
        names.indirect.set(2, out)
      }
    }
    if (maps.global !== undefined) {
      const gn = remapNameMap(names.maps.get(7), maps.global)
      if (gn !== undefined) names.maps.set(7, gn)
    }
  }
}

/**
 * Reference-typed values cannot be written to linear memory, so a frame stores a slot index instead and the
 * reference itself goes to a module-internal table, one per type hierarchy (func, extern, any, exn; JS
 * cannot create exnref tables, so they must live in the module). Slots come from one free list whose links
 * are i31 values in a companion table: allocation and release are O(1), and the tables (which grow together,
 * one slot at a time) never grow past the most references saved at one time. While a slot is in use its link entry holds the owner (the asyncify
 * data pointer / 4), so `asyncify_release_refs(data)` can free every slot of a stack that will never resume.
 */
import type { FuncBody, HeapType, Instr, Module, RefType } from '@unplugin-asyncify/wasm'
import { absHierarchyTop, countImports, opByCode } from '@unplugin-asyncify/wasm'
import { I } from './build.js'

export type Hierarchy = 'func' | 'extern' | 'any' | 'exn'

export function hierarchyOf(m: Module, t: RefType): Hierarchy {
  if (typeof t.heap === 'number') return m.types[t.heap]?.composite.kind === 'func' ? 'func' : 'any'
  return absHierarchyTop(t.heap)
}

const NULL_HEAP: Record<Hierarchy, HeapType> = { func: 'func', extern: 'extern', any: 'any', exn: 'exn' }

export interface RefSlotLayout {
  linksTable: number
  tables: Map<Hierarchy, number>
  headGlobal: number
  capGlobal: number
  dataGlobal: number
  ptr: 'i32' | 'i64'
  funcs: {
    alloc: number
    free: number
    release: number
    save: Map<Hierarchy, number>
    load: Map<Hierarchy, number>
  }
}

const refI31 = (): Instr => ({ op: opByCode(0xfb, 0x1c) })
const i31GetS = (): Instr => ({ op: opByCode(0xfb, 0x1d) })
const tableGet = (table: number): Instr => ({ op: opByCode(0, 0x25), table })
const tableSet = (table: number): Instr => ({ op: opByCode(0, 0x26), table })
const tableGrow = (table: number): Instr => ({ op: opByCode(0xfc, 0x0f), table })
const refNull = (heap: HeapType): Instr => ({ op: opByCode(0, 0xd0), heap })

/** The owner tag of the stack now unwinding: its data pointer / 4, kept to 30 bits. */
function ownerTag(l: RefSlotLayout): Instr[] {
  const shifted =
    l.ptr === 'i64'
      ? [I.globalGet(l.dataGlobal), I.i64(2n), I.plain('i64.shr_u'), I.plain('i32.wrap_i64')]
      : [I.globalGet(l.dataGlobal), I.i32(2), I.plain('i32.shr_u')]
  return [...shifted, I.i32(0x3fffffff), I.plain('i32.and')]
}

/** Bodies of the slot functions, by the indices the layout gave them (layout.ts names, types and exports them). */
export function refSlotFunctions(l: RefSlotLayout): { index: number; body: FuncBody }[] {
  const out: { index: number; body: FuncBody }[] = []
  const allTables = [l.linksTable, ...l.tables.values()]
  const nullFor = (table: number): Instr => {
    if (table === l.linksTable) return refNull('i31')
    for (const [h, t] of l.tables) if (t === table) return refNull(NULL_HEAP[h])
    throw new Error('unknown slot table')
  }
  /** Puts the slot in local `k` on the free list: link(k) = -(head + 2); head = k. */
  const pushFree = (k: number): Instr[] => [
    I.localGet(k),
    I.i32(-2),
    I.globalGet(l.headGlobal),
    I.plain('i32.sub'),
    refI31(),
    tableSet(l.linksTable),
    I.localGet(k),
    I.globalSet(l.headGlobal),
  ]
  // alloc() -> i32; locals: 0 = k, 1 = cap, 2 = new, 3 = i
  // Grow by one slot: the tables never exceed the most references saved at one time (engines grow their
  // backing stores geometrically, so this stays amortized O(1)).
  const grow: Instr[] = [I.globalGet(l.capGlobal), I.localTee(1), I.i32(1), I.plain('i32.add'), I.localSet(2)]
  for (const t of allTables)
    grow.push(
      nullFor(t),
      I.localGet(2),
      I.localGet(1),
      I.plain('i32.sub'),
      tableGrow(t),
      I.i32(-1),
      I.plain('i32.eq'),
      I.ifElse(null, [I.unreachable()]),
    )
  const link: Instr = I.block(null, [])
  const loop: Instr = { op: opByCode(0, 0x03), blockType: null, body: [] }
  loop.body = [
    I.localGet(3),
    I.i32(1),
    I.plain('i32.sub'),
    I.localSet(3),
    ...pushFree(3),
    I.localGet(3),
    I.localGet(1),
    I.plain('i32.gt_u'),
    I.brIf(loop),
  ]
  link.body = [loop]
  grow.push(I.localGet(2), I.localSet(3), link, I.localGet(2), I.globalSet(l.capGlobal))
  // k = head; head = -2 - link(k) (free links hold -(next + 2), so -1 ends the list).
  out.push({
    index: l.funcs.alloc,
    body: {
      kind: 'func',
      locals: ['i32', 'i32', 'i32', 'i32'],
      body: [
        I.globalGet(l.headGlobal),
        I.i32(0),
        I.plain('i32.lt_s'),
        I.ifElse(null, grow),
        I.globalGet(l.headGlobal),
        I.localSet(0),
        I.i32(-2),
        I.localGet(0),
        tableGet(l.linksTable),
        i31GetS(),
        I.plain('i32.sub'),
        I.globalSet(l.headGlobal),
        I.localGet(0),
      ],
    },
  })
  // free(k)
  out.push({
    index: l.funcs.free,
    body: {
      kind: 'func',
      locals: [],
      body: pushFree(0),
    },
  })
  // release(data): frees every slot owned by the stack whose data structure is at `data`.
  const owner: Instr[] =
    l.ptr === 'i64'
      ? [I.localGet(0), I.i64(2n), I.plain('i64.shr_u'), I.plain('i32.wrap_i64')]
      : [I.localGet(0), I.i32(2), I.plain('i32.shr_u')]
  const done: Instr = I.block(null, [])
  const scan: Instr = { op: opByCode(0, 0x03), blockType: null, body: [] }
  const clear: Instr[] = []
  for (const [h, t] of l.tables) clear.push(I.localGet(2), refNull(NULL_HEAP[h]), tableSet(t))
  scan.body = [
    I.localGet(2),
    I.globalGet(l.capGlobal),
    I.plain('i32.ge_u'),
    I.brIf(done),
    I.localGet(2),
    tableGet(l.linksTable),
    i31GetS(),
    I.localGet(1),
    I.plain('i32.eq'),
    I.ifElse(null, [...clear, I.localGet(2), I.call(l.funcs.free)]),
    I.localGet(2),
    I.i32(1),
    I.plain('i32.add'),
    I.localSet(2),
    I.br(scan),
  ]
  done.body = [scan]
  out.push({
    index: l.funcs.release,
    body: {
      kind: 'func',
      locals: ['i32', 'i32'],
      body: [...owner, I.i32(0x3fffffff), I.plain('i32.and'), I.localSet(1), done],
    },
  })
  for (const [h, table] of l.tables) {
    out.push({
      index: l.funcs.save.get(h) as number,
      body: {
        kind: 'func',
        locals: ['i32'],
        body: [
          I.call(l.funcs.alloc),
          I.localTee(1),
          I.localGet(0),
          tableSet(table),
          I.localGet(1),
          ...ownerTag(l),
          refI31(),
          tableSet(l.linksTable),
          I.localGet(1),
        ],
      },
    })
    out.push({
      index: l.funcs.load.get(h) as number,
      body: {
        kind: 'func',
        locals: [],
        body: [
          I.localGet(0),
          tableGet(table),
          I.localGet(0),
          refNull(NULL_HEAP[h]),
          tableSet(table),
          I.localGet(0),
          I.call(l.funcs.free),
        ],
      },
    })
  }
  return out.sort((a, b) => a.index - b.index)
}

/** Restores a value loaded from its hierarchy's table to the local's own type. */
export function castTo(t: RefType, h: Hierarchy): Instr[] {
  if (t.heap === NULL_HEAP[h]) return t.nullable ? [] : [{ op: opByCode(0, 0xd4) }]
  return [{ op: opByCode(0xfb, t.nullable ? 0x17 : 0x16), heap: t.heap }]
}

export function tableCount(m: Module): number {
  return countImports(m, 'table') + m.tables.length
}

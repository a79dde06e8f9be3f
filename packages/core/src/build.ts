/** Small constructors for the instructions the rewrite emits, so the rewrite reads like the code it makes. */
import {
  type BlockType,
  type Instr,
  type Label,
  type OpInfo,
  opByCode,
  opByName,
  type ValType,
} from '@unplugin-asyncify/wasm'

const cache = new Map<string, OpInfo>()
/** Op lookup memoized, for the names given at run time (loads, stores, `plain`). */
function op(name: string): OpInfo {
  let o = cache.get(name)
  if (o === undefined) {
    o = opByName(name)
    cache.set(name, o)
  }
  return o
}

/** The ops the fixed constructors use, looked up once: the rewrite builds millions of instructions. */
const OP = {
  i32: opByName('i32.const'),
  i64: opByName('i64.const'),
  f32: opByName('f32.const'),
  f64: opByName('f64.const'),
  localGet: opByName('local.get'),
  localSet: opByName('local.set'),
  localTee: opByName('local.tee'),
  globalGet: opByName('global.get'),
  globalSet: opByName('global.set'),
  call: opByName('call'),
  br: opByName('br'),
  brIf: opByName('br_if'),
  brTable: opByName('br_table'),
  block: opByName('block'),
  if: opByName('if'),
  unreachable: opByName('unreachable'),
  return: opByName('return'),
  drop: opByName('drop'),
  select: opByName('select'),
  selectTyped: opByCode(0, 0x1c),
  refNull: opByName('ref.null'),
  v128Const: opByCode(0xfd, 0x0c),
}

export const I = {
  i32: (v: number): Instr => ({ op: OP.i32, i32: v | 0 }),
  i64: (v: bigint): Instr => ({ op: OP.i64, i64: v }),
  localGet: (local: number): Instr => ({ op: OP.localGet, local }),
  localSet: (local: number): Instr => ({ op: OP.localSet, local }),
  localTee: (local: number): Instr => ({ op: OP.localTee, local }),
  globalGet: (global: number): Instr => ({ op: OP.globalGet, global }),
  globalSet: (global: number): Instr => ({ op: OP.globalSet, global }),
  plain: (name: string): Instr => ({ op: op(name) }),
  call: (func: number): Instr => ({ op: OP.call, func }),
  br: (target: Label): Instr => ({ op: OP.br, target }),
  brIf: (target: Label): Instr => ({ op: OP.brIf, target }),
  brTable: (targets: Label[], target: Label): Instr => ({ op: OP.brTable, targets, target }),
  block: (blockType: BlockType, body: Instr[]): Instr => ({ op: OP.block, blockType, body }),
  ifElse: (blockType: BlockType, body: Instr[], otherwise?: Instr[]): Instr =>
    otherwise === undefined || otherwise.length === 0
      ? { op: OP.if, blockType, body }
      : { op: OP.if, blockType, body, else: otherwise },
  load: (name: string, mem: number, offset: number): Instr => ({ op: op(name), align: 0, mem, offset }),
  store: (name: string, mem: number, offset: number): Instr => ({ op: op(name), align: 0, mem, offset }),
  unreachable: (): Instr => ({ op: OP.unreachable }),
  ret: (): Instr => ({ op: OP.return }),
  drop: (): Instr => ({ op: OP.drop }),
  select: (): Instr => ({ op: OP.select }),
  selectTyped: (t: ValType): Instr => ({ op: OP.selectTyped, selectTypes: [t] }),
  refNull: (heap: ValType & object): Instr => ({ op: OP.refNull, heap: heap.heap }),
  v128Zero: (): Instr => ({ op: OP.v128Const, v128: new Uint8Array(16) }),
  f32Zero: (): Instr => ({ op: OP.f32, i32: 0 }),
  f64Zero: (): Instr => ({ op: OP.f64, f64: 0n }),
}

/** Bytes a value of this type takes in the asyncify buffer. */
export function byteSize(t: ValType): number {
  switch (t) {
    case 'i32':
    case 'f32':
      return 4
    case 'i64':
    case 'f64':
      return 8
    case 'v128':
      return 16
    default:
      throw new Error('reference values have no linear-memory size')
  }
}

/** Load/store instruction names for a value type. */
export function memOps(t: ValType): { load: string; store: string } {
  if (typeof t !== 'string') throw new Error('reference values cannot be stored in linear memory')
  return { load: `${t}.load`, store: `${t}.store` }
}

/** Whether a type has a default value (numbers, vectors, nullable references). */
export function isDefaultable(t: ValType): boolean {
  return typeof t === 'string' || t.nullable
}

/** The instruction that pushes the default value of `t`; null when `t` has none (non-nullable refs). */
export function defaultValue(t: ValType): Instr | null {
  switch (t) {
    case 'i32':
      return I.i32(0)
    case 'i64':
      return I.i64(0n)
    case 'f32':
      return I.f32Zero()
    case 'f64':
      return I.f64Zero()
    case 'v128':
      return I.v128Zero()
    default:
      return t.nullable ? I.refNull(t) : null
  }
}

/** `t`, with a reference type made nullable (so that it has a default). */
export function nullable(t: ValType): ValType {
  return typeof t === 'string' ? t : { heap: t.heap, nullable: true }
}

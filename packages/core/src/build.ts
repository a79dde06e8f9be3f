/** Small constructors for the instructions the rewrite emits, so the rewrite reads like the code it makes. */
import {
  type BlockType,
  type Instr,
  type Label,
  opByCode,
  opByName,
  type ValType,
} from '@unplugin-asyncify/wasm'

const cache = new Map<string, ReturnType<typeof opByName>>()
/** Op lookup memoized: the rewrite builds hundreds of thousands of instructions. */
function op(name: string): ReturnType<typeof opByName> {
  let o = cache.get(name)
  if (o === undefined) {
    o = opByName(name)
    cache.set(name, o)
  }
  return o
}

export const I = {
  i32: (v: number): Instr => ({ op: op('i32.const'), i32: v | 0 }),
  i64: (v: bigint): Instr => ({ op: op('i64.const'), i64: v }),
  localGet: (local: number): Instr => ({ op: op('local.get'), local }),
  localSet: (local: number): Instr => ({ op: op('local.set'), local }),
  localTee: (local: number): Instr => ({ op: op('local.tee'), local }),
  globalGet: (global: number): Instr => ({ op: op('global.get'), global }),
  globalSet: (global: number): Instr => ({ op: op('global.set'), global }),
  plain: (name: string): Instr => ({ op: op(name) }),
  call: (func: number): Instr => ({ op: op('call'), func }),
  br: (target: Label): Instr => ({ op: op('br'), target }),
  brIf: (target: Label): Instr => ({ op: op('br_if'), target }),
  brTable: (targets: Label[], target: Label): Instr => ({ op: op('br_table'), targets, target }),
  block: (blockType: BlockType, body: Instr[]): Instr => ({ op: op('block'), blockType, body }),
  ifElse: (blockType: BlockType, body: Instr[], otherwise?: Instr[]): Instr =>
    otherwise === undefined || otherwise.length === 0
      ? { op: op('if'), blockType, body }
      : { op: op('if'), blockType, body, else: otherwise },
  load: (name: string, mem: number, offset: number): Instr => ({ op: op(name), align: 0, mem, offset }),
  store: (name: string, mem: number, offset: number): Instr => ({ op: op(name), align: 0, mem, offset }),
  unreachable: (): Instr => ({ op: op('unreachable') }),
  ret: (): Instr => ({ op: op('return') }),
  drop: (): Instr => ({ op: op('drop') }),
  select: (): Instr => ({ op: op('select') }),
  selectTyped: (t: ValType): Instr => ({ op: opByCode(0, 0x1c), selectTypes: [t] }),
  refNull: (heap: ValType & object): Instr => ({ op: op('ref.null'), heap: heap.heap }),
  v128Zero: (): Instr => ({ op: opByCode(0xfd, 0x0c), v128: new Uint8Array(16) }),
  f32Zero: (): Instr => ({ op: op('f32.const'), i32: 0 }),
  f64Zero: (): Instr => ({ op: op('f64.const'), f64: 0n }),
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

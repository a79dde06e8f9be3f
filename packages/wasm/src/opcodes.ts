/**
 * The instruction table: the single source of truth for every opcode. The decoder, the encoder and
 * the stack typing are all driven by it; nothing else switches on opcodes.
 *
 * Immediates are listed in binary order. Signatures are `params > results` with these tokens:
 *   i32 i64 f32 f64 v128 exnref – value types
 *   A / B – address type of the memory in `mem` / `mem2` (i64 for memory64)
 *   T / U – index type of the table in `table` / `table2` (i64 for table64)
 *   N – length operand of memory.copy / table.copy (i64 only when both sides are 64-bit)
 * or `@rule` for instructions whose types depend on context (see typing.ts).
 */

export type Imm =
  | 'blocktype'
  | 'trytable'
  | 'label'
  | 'labels'
  | 'func'
  | 'local'
  | 'global'
  | 'table'
  | 'table2'
  | 'type'
  | 'type2'
  | 'field'
  | 'tag'
  | 'data'
  | 'elem'
  | 'mem'
  | 'mem2'
  | 'count'
  | 'lane'
  | 'memarg'
  | 'i32'
  | 'i64'
  | 'f32'
  | 'f64'
  | 'v128'
  | 'shuffle'
  | 'heap'
  | 'cast'
  | 'select'
  | 'zero'

/**
 * The proposal an instruction came with (what a consumer must enable to use it). Typed function
 * references are their own proposal; tools that bundle them with GC (binaryen) map both to GC.
 */
export type Feature =
  | 'mvp'
  | 'sign-extension'
  | 'nontrapping-fptoint'
  | 'bulk-memory'
  | 'reference-types'
  | 'simd'
  | 'relaxed-simd'
  | 'threads'
  | 'exceptions'
  | 'tail-call'
  | 'function-references'
  | 'gc'

/** Which function a call instruction calls: a function index, a table entry, or a function reference. */
export type CallKind = 'direct' | 'indirect' | 'ref'

/** Immediates that are one u32 (an index or a count), stored in the Instr field of the same name. */
export const INDEX_IMMS = [
  'func',
  'local',
  'global',
  'table',
  'table2',
  'type',
  'type2',
  'field',
  'tag',
  'data',
  'elem',
  'mem',
  'mem2',
  'count',
] as const satisfies readonly Imm[]
export type IndexImm = (typeof INDEX_IMMS)[number]
const INDEX_IMM_SET: ReadonlySet<Imm> = new Set(INDEX_IMMS)
export function isIndexImm(imm: Imm): imm is IndexImm {
  return INDEX_IMM_SET.has(imm)
}

/** The default of a switch over `Imm` (or `Control`): a compile error when a case is missing. */
export function unhandled(what: never): never {
  throw new Error(`unhandled immediate or control kind ${String(what)}`)
}

/** How an instruction shapes control flow. */
export type Control =
  | 'none'
  | 'block'
  | 'loop'
  | 'if'
  | 'try'
  | 'try_table'
  /** Markers inside a structured instruction; never an IR node. */
  | 'else'
  | 'end'
  | 'catch'
  | 'catch_all'
  | 'delegate'

export interface OpInfo {
  readonly name: string
  /** 0 for single-byte opcodes, else 0xfb/0xfc/0xfd/0xfe. */
  readonly prefix: number
  readonly code: number
  readonly imms: readonly Imm[]
  /** Fixed signature tokens, or null when `rule` decides. */
  readonly params: readonly string[] | null
  readonly results: readonly string[] | null
  readonly rule: string | null
  readonly control: Control
  /** Code after it is unreachable (br, return, unreachable, throw, ...). */
  readonly terminal: boolean
  /** Natural alignment exponent of memory accesses (for the text form and validation checks). */
  readonly naturalAlign: number
  /** Immediate layout class, so the codec can build/write the common instruction shapes directly. */
  readonly shape: Shape
  readonly feature: Feature
  /** For calls (tail calls included: `terminal` tells them apart), what they call; else null. */
  readonly call: CallKind | null
  /**
   * An exception may leave it into the enclosing handlers of the same function: calls and throws (a
   * tail call's callee runs after the frame is gone, so its exceptions never reach them).
   */
  readonly mayThrow: boolean
  /**
   * Cannot trap, has no side effect and writes no local: running it again, or in vain, changes nothing
   * but the operand stack (reads, constants, arithmetic that cannot trap).
   */
  readonly pure: boolean
  /** Pushes a value that depends on nothing (a constant): the same wherever and whenever it runs. */
  readonly constant: boolean
}

/**
 * The common immediate layouts. Building these instructions as exact object literals keeps every IR node
 * a single small allocation, which is most of the codec's speed on large modules.
 */
export const Shape = {
  None: 0,
  Local: 1,
  Global: 2,
  Func: 3,
  I32: 4,
  I64: 5,
  F32: 6,
  F64: 7,
  MemArg: 8,
  Label: 9,
  Other: 10,
} as const
export type Shape = (typeof Shape)[keyof typeof Shape]

const SHAPE_OF_IMMS: Record<string, Shape> = {
  '': Shape.None,
  local: Shape.Local,
  global: Shape.Global,
  func: Shape.Func,
  i32: Shape.I32,
  i64: Shape.I64,
  f32: Shape.F32,
  f64: Shape.F64,
  memarg: Shape.MemArg,
  label: Shape.Label,
}

const all: OpInfo[] = []

interface Extra {
  control?: Control
  terminal?: boolean
  align?: number
  feature?: Feature
  call?: CallKind
  mayThrow?: boolean
  pure?: boolean
  constant?: boolean
}

const PREFIX_FEATURE: Record<number, Feature> = {
  0: 'mvp',
  251: 'gc',
  252: 'bulk-memory',
  253: 'simd',
  254: 'threads',
}

function def(prefix: number, code: number, name: string, imms: string, sig: string, extra: Extra = {}): void {
  let params: string[] | null = null
  let results: string[] | null = null
  let rule: string | null = null
  if (sig.startsWith('@')) rule = sig.slice(1)
  else {
    const [p = '', r = ''] = sig.split('>')
    params = p.trim() === '' ? [] : p.trim().split(/\s+/)
    results = r.trim() === '' ? [] : r.trim().split(/\s+/)
  }
  all.push(
    Object.freeze({
      name,
      prefix,
      code,
      imms: Object.freeze(imms === '' ? [] : (imms.split(' ') as Imm[])),
      params: params && Object.freeze(params),
      results: results && Object.freeze(results),
      rule,
      control: extra.control ?? 'none',
      terminal: extra.terminal ?? false,
      naturalAlign: extra.align ?? 0,
      shape: (extra.control ?? 'none') === 'none' ? (SHAPE_OF_IMMS[imms] ?? Shape.Other) : Shape.Other,
      feature: extra.feature ?? (PREFIX_FEATURE[prefix] as Feature),
      call: extra.call ?? null,
      mayThrow: extra.mayThrow ?? (extra.call !== undefined && extra.terminal !== true),
      pure: extra.pure ?? extra.constant ?? false,
      constant: extra.constant ?? false,
    }),
  )
}

const op = (code: number, name: string, imms: string, sig: string, extra?: Extra) =>
  def(0, code, name, imms, sig, extra)
const gc = (code: number, name: string, imms: string, sig: string) => def(0xfb, code, name, imms, sig)
const misc = (code: number, name: string, imms: string, sig: string, extra?: Extra) =>
  def(0xfc, code, name, imms, sig, extra)
const simd = (code: number, name: string, imms: string, sig: string, align = 0) =>
  def(0xfd, code, name, imms, sig, { align, feature: code >= 0x100 ? 'relaxed-simd' : 'simd' })
const atomic = (code: number, name: string, imms: string, sig: string, align: number) =>
  def(0xfe, code, name, imms, sig, { align })

// ---- control ----
const EH: Extra = { feature: 'exceptions' }
const REF: Extra = { feature: 'reference-types' }
op(0x00, 'unreachable', '', ' > ', { terminal: true })
op(0x01, 'nop', '', ' > ', { pure: true })
op(0x02, 'block', 'blocktype', '@block', { control: 'block' })
op(0x03, 'loop', 'blocktype', '@block', { control: 'loop' })
op(0x04, 'if', 'blocktype', '@if', { control: 'if' })
op(0x05, 'else', '', '@marker', { control: 'else' })
op(0x06, 'try', 'blocktype', '@block', { ...EH, control: 'try' })
op(0x07, 'catch', 'tag', '@marker', { ...EH, control: 'catch' })
op(0x08, 'throw', 'tag', '@throw', { ...EH, terminal: true, mayThrow: true })
op(0x09, 'rethrow', 'label', ' > ', { ...EH, terminal: true, mayThrow: true })
op(0x0a, 'throw_ref', '', 'exnref > ', { ...EH, terminal: true, mayThrow: true })
op(0x0b, 'end', '', '@marker', { control: 'end' })
op(0x0c, 'br', 'label', '@br', { terminal: true })
op(0x0d, 'br_if', 'label', '@br_if')
op(0x0e, 'br_table', 'labels', '@br_table', { terminal: true })
op(0x0f, 'return', '', '@return', { terminal: true })
op(0x10, 'call', 'func', '@call', { call: 'direct' })
op(0x11, 'call_indirect', 'type table', '@call_indirect', { call: 'indirect' })
const TAIL: Extra = { feature: 'tail-call', terminal: true }
op(0x12, 'return_call', 'func', '@return_call', { ...TAIL, call: 'direct' })
op(0x13, 'return_call_indirect', 'type table', '@return_call_indirect', { ...TAIL, call: 'indirect' })
op(0x14, 'call_ref', 'type', '@call_ref', { feature: 'function-references', call: 'ref' })
op(0x15, 'return_call_ref', 'type', '@return_call_ref', { ...TAIL, call: 'ref' })
op(0x18, 'delegate', 'label', '@marker', { ...EH, control: 'delegate' })
op(0x19, 'catch_all', '', '@marker', { ...EH, control: 'catch_all' })
op(0x1a, 'drop', '', '@drop', { pure: true })
op(0x1b, 'select', '', '@select', { pure: true })
op(0x1c, 'select', 'select', '@select_typed', { ...REF, pure: true })
op(0x1f, 'try_table', 'trytable', '@block', { ...EH, control: 'try_table' })

// ---- variables, tables ----
op(0x20, 'local.get', 'local', '@local.get', { pure: true })
op(0x21, 'local.set', 'local', '@local.set')
op(0x22, 'local.tee', 'local', '@local.tee')
op(0x23, 'global.get', 'global', '@global.get', { pure: true })
op(0x24, 'global.set', 'global', '@global.set')
op(0x25, 'table.get', 'table', '@table.get', REF)
op(0x26, 'table.set', 'table', '@table.set', REF)

// ---- memory ----
const loads: [number, string, string, number][] = [
  [0x28, 'i32.load', 'i32', 2],
  [0x29, 'i64.load', 'i64', 3],
  [0x2a, 'f32.load', 'f32', 2],
  [0x2b, 'f64.load', 'f64', 3],
  [0x2c, 'i32.load8_s', 'i32', 0],
  [0x2d, 'i32.load8_u', 'i32', 0],
  [0x2e, 'i32.load16_s', 'i32', 1],
  [0x2f, 'i32.load16_u', 'i32', 1],
  [0x30, 'i64.load8_s', 'i64', 0],
  [0x31, 'i64.load8_u', 'i64', 0],
  [0x32, 'i64.load16_s', 'i64', 1],
  [0x33, 'i64.load16_u', 'i64', 1],
  [0x34, 'i64.load32_s', 'i64', 2],
  [0x35, 'i64.load32_u', 'i64', 2],
]
for (const [code, name, t, align] of loads) op(code, name, 'memarg', `A > ${t}`, { align })
const stores: [number, string, string, number][] = [
  [0x36, 'i32.store', 'i32', 2],
  [0x37, 'i64.store', 'i64', 3],
  [0x38, 'f32.store', 'f32', 2],
  [0x39, 'f64.store', 'f64', 3],
  [0x3a, 'i32.store8', 'i32', 0],
  [0x3b, 'i32.store16', 'i32', 1],
  [0x3c, 'i64.store8', 'i64', 0],
  [0x3d, 'i64.store16', 'i64', 1],
  [0x3e, 'i64.store32', 'i64', 2],
]
for (const [code, name, t, align] of stores) op(code, name, 'memarg', `A ${t} > `, { align })
op(0x3f, 'memory.size', 'mem', ' > A', { pure: true })
op(0x40, 'memory.grow', 'mem', 'A > A')

// ---- constants ----
op(0x41, 'i32.const', 'i32', ' > i32', { constant: true })
op(0x42, 'i64.const', 'i64', ' > i64', { constant: true })
op(0x43, 'f32.const', 'f32', ' > f32', { constant: true })
op(0x44, 'f64.const', 'f64', ' > f64', { constant: true })

// ---- numeric ----
/** Integer division and remainder trap (by zero, overflow); the rest of the arithmetic cannot. */
const TRAPS = new Set(['div_s', 'div_u', 'rem_s', 'rem_u'])
function family(start: number, type: string, names: string[], sig: string): void {
  names.forEach((n, i) => {
    const trap = TRAPS.has(n) && type.startsWith('i')
    if (n !== '') op(start + i, `${type}.${n}`, '', sig, { pure: !trap })
  })
}
family(0x45, 'i32', ['eqz'], 'i32 > i32')
family(
  0x46,
  'i32',
  ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'],
  'i32 i32 > i32',
)
family(0x50, 'i64', ['eqz'], 'i64 > i32')
family(
  0x51,
  'i64',
  ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'],
  'i64 i64 > i32',
)
family(0x5b, 'f32', ['eq', 'ne', 'lt', 'gt', 'le', 'ge'], 'f32 f32 > i32')
family(0x61, 'f64', ['eq', 'ne', 'lt', 'gt', 'le', 'ge'], 'f64 f64 > i32')
family(0x67, 'i32', ['clz', 'ctz', 'popcnt'], 'i32 > i32')
const intBin = [
  'add',
  'sub',
  'mul',
  'div_s',
  'div_u',
  'rem_s',
  'rem_u',
  'and',
  'or',
  'xor',
  'shl',
  'shr_s',
  'shr_u',
  'rotl',
  'rotr',
]
family(0x6a, 'i32', intBin, 'i32 i32 > i32')
family(0x79, 'i64', ['clz', 'ctz', 'popcnt'], 'i64 > i64')
family(0x7c, 'i64', intBin, 'i64 i64 > i64')
const floatUn = ['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt']
const floatBin = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign']
family(0x8b, 'f32', floatUn, 'f32 > f32')
family(0x92, 'f32', floatBin, 'f32 f32 > f32')
family(0x99, 'f64', floatUn, 'f64 > f64')
family(0xa0, 'f64', floatBin, 'f64 f64 > f64')
const conversions: [number, string, string][] = [
  [0xa7, 'i32.wrap_i64', 'i64 > i32'],
  [0xa8, 'i32.trunc_f32_s', 'f32 > i32'],
  [0xa9, 'i32.trunc_f32_u', 'f32 > i32'],
  [0xaa, 'i32.trunc_f64_s', 'f64 > i32'],
  [0xab, 'i32.trunc_f64_u', 'f64 > i32'],
  [0xac, 'i64.extend_i32_s', 'i32 > i64'],
  [0xad, 'i64.extend_i32_u', 'i32 > i64'],
  [0xae, 'i64.trunc_f32_s', 'f32 > i64'],
  [0xaf, 'i64.trunc_f32_u', 'f32 > i64'],
  [0xb0, 'i64.trunc_f64_s', 'f64 > i64'],
  [0xb1, 'i64.trunc_f64_u', 'f64 > i64'],
  [0xb2, 'f32.convert_i32_s', 'i32 > f32'],
  [0xb3, 'f32.convert_i32_u', 'i32 > f32'],
  [0xb4, 'f32.convert_i64_s', 'i64 > f32'],
  [0xb5, 'f32.convert_i64_u', 'i64 > f32'],
  [0xb6, 'f32.demote_f64', 'f64 > f32'],
  [0xb7, 'f64.convert_i32_s', 'i32 > f64'],
  [0xb8, 'f64.convert_i32_u', 'i32 > f64'],
  [0xb9, 'f64.convert_i64_s', 'i64 > f64'],
  [0xba, 'f64.convert_i64_u', 'i64 > f64'],
  [0xbb, 'f64.promote_f32', 'f32 > f64'],
  [0xbc, 'i32.reinterpret_f32', 'f32 > i32'],
  [0xbd, 'i64.reinterpret_f64', 'f64 > i64'],
  [0xbe, 'f32.reinterpret_i32', 'i32 > f32'],
  [0xbf, 'f64.reinterpret_i64', 'i64 > f64'],
  // sign-extension
  [0xc0, 'i32.extend8_s', 'i32 > i32'],
  [0xc1, 'i32.extend16_s', 'i32 > i32'],
  [0xc2, 'i64.extend8_s', 'i64 > i64'],
  [0xc3, 'i64.extend16_s', 'i64 > i64'],
  [0xc4, 'i64.extend32_s', 'i64 > i64'],
]
// Float-to-int truncations trap (NaN, overflow); sign-extension came as its own proposal.
for (const [code, name, sig] of conversions)
  op(code, name, '', sig, {
    pure: !name.includes('trunc_f'),
    feature: code >= 0xc0 ? 'sign-extension' : 'mvp',
  })

// ---- reference types, typed function references ----
op(0xd0, 'ref.null', 'heap', '@ref.null', { ...REF, constant: true })
op(0xd1, 'ref.is_null', '', '@ref.is_null', { ...REF, pure: true })
op(0xd2, 'ref.func', 'func', '@ref.func', { ...REF, constant: true })
op(0xd3, 'ref.eq', '', '@ref.eq', { feature: 'gc' })
const FUNC_REFS: Extra = { feature: 'function-references' }
op(0xd4, 'ref.as_non_null', '', '@ref.as_non_null', FUNC_REFS)
op(0xd5, 'br_on_null', 'label', '@br_on_null', FUNC_REFS)
op(0xd6, 'br_on_non_null', 'label', '@br_on_non_null', FUNC_REFS)

// ---- GC (0xfb) ----
gc(0x00, 'struct.new', 'type', '@struct.new')
gc(0x01, 'struct.new_default', 'type', '@struct.new_default')
gc(0x02, 'struct.get', 'type field', '@struct.get')
gc(0x03, 'struct.get_s', 'type field', '@struct.get')
gc(0x04, 'struct.get_u', 'type field', '@struct.get')
gc(0x05, 'struct.set', 'type field', '@struct.set')
gc(0x06, 'array.new', 'type', '@array.new')
gc(0x07, 'array.new_default', 'type', '@array.new_default')
gc(0x08, 'array.new_fixed', 'type count', '@array.new_fixed')
gc(0x09, 'array.new_data', 'type data', '@array.new_segment')
gc(0x0a, 'array.new_elem', 'type elem', '@array.new_segment')
gc(0x0b, 'array.get', 'type', '@array.get')
gc(0x0c, 'array.get_s', 'type', '@array.get')
gc(0x0d, 'array.get_u', 'type', '@array.get')
gc(0x0e, 'array.set', 'type', '@array.set')
gc(0x0f, 'array.len', '', '@array.len')
gc(0x10, 'array.fill', 'type', '@array.fill')
gc(0x11, 'array.copy', 'type type2', '@array.copy')
gc(0x12, 'array.init_data', 'type data', '@array.init_segment')
gc(0x13, 'array.init_elem', 'type elem', '@array.init_segment')
gc(0x14, 'ref.test', 'heap', '@ref.test')
gc(0x15, 'ref.test', 'heap', '@ref.test')
gc(0x16, 'ref.cast', 'heap', '@ref.cast')
gc(0x17, 'ref.cast', 'heap', '@ref.cast')
gc(0x18, 'br_on_cast', 'cast', '@br_on_cast')
gc(0x19, 'br_on_cast_fail', 'cast', '@br_on_cast_fail')
gc(0x1a, 'any.convert_extern', '', '@any.convert_extern')
gc(0x1b, 'extern.convert_any', '', '@extern.convert_any')
gc(0x1c, 'ref.i31', '', '@ref.i31')
gc(0x1d, 'i31.get_s', '', '@i31.get')
gc(0x1e, 'i31.get_u', '', '@i31.get')

// ---- saturating truncation, bulk memory, tables (0xfc) ----
const satNames = ['i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u']
const satNames64 = [
  'i64.trunc_sat_f32_s',
  'i64.trunc_sat_f32_u',
  'i64.trunc_sat_f64_s',
  'i64.trunc_sat_f64_u',
]
const SAT: Extra = { feature: 'nontrapping-fptoint', pure: true }
satNames.forEach((n, i) => misc(i, n, '', `${i < 2 ? 'f32' : 'f64'} > i32`, SAT))
satNames64.forEach((n, i) => misc(4 + i, n, '', `${i < 2 ? 'f32' : 'f64'} > i64`, SAT))
misc(0x08, 'memory.init', 'data mem', 'A i32 i32 > ')
misc(0x09, 'data.drop', 'data', ' > ')
misc(0x0a, 'memory.copy', 'mem mem2', 'A B N > ')
misc(0x0b, 'memory.fill', 'mem', 'A i32 A > ')
misc(0x0c, 'table.init', 'elem table', 'T i32 i32 > ')
misc(0x0d, 'elem.drop', 'elem', ' > ')
misc(0x0e, 'table.copy', 'table table2', 'T U N > ')
misc(0x0f, 'table.grow', 'table', '@table.grow', REF)
misc(0x10, 'table.size', 'table', ' > T', REF)
misc(0x11, 'table.fill', 'table', '@table.fill', REF)

// ---- SIMD (0xfd) ----
const V = 'v128'
simd(0x00, 'v128.load', 'memarg', `A > ${V}`, 4)
const extLoads = ['load8x8_s', 'load8x8_u', 'load16x4_s', 'load16x4_u', 'load32x2_s', 'load32x2_u']
extLoads.forEach((n, i) => simd(0x01 + i, `v128.${n}`, 'memarg', `A > ${V}`, 3))
;['load8_splat', 'load16_splat', 'load32_splat', 'load64_splat'].forEach((n, i) =>
  simd(0x07 + i, `v128.${n}`, 'memarg', `A > ${V}`, i),
)
simd(0x0b, 'v128.store', 'memarg', `A ${V} > `, 4)
def(0xfd, 0x0c, 'v128.const', 'v128', ` > ${V}`, { feature: 'simd', constant: true })
simd(0x0d, 'i8x16.shuffle', 'shuffle', `${V} ${V} > ${V}`)
simd(0x0e, 'i8x16.swizzle', '', `${V} ${V} > ${V}`)
;(
  [
    ['i8x16', 'i32'],
    ['i16x8', 'i32'],
    ['i32x4', 'i32'],
    ['i64x2', 'i64'],
    ['f32x4', 'f32'],
    ['f64x2', 'f64'],
  ] as const
).forEach(([shape, scalar], i) => simd(0x0f + i, `${shape}.splat`, '', `${scalar} > ${V}`))
const lanes: [number, string, string][] = [
  [0x15, 'i8x16.extract_lane_s', 'x:i32'],
  [0x16, 'i8x16.extract_lane_u', 'x:i32'],
  [0x17, 'i8x16.replace_lane', 'r:i32'],
  [0x18, 'i16x8.extract_lane_s', 'x:i32'],
  [0x19, 'i16x8.extract_lane_u', 'x:i32'],
  [0x1a, 'i16x8.replace_lane', 'r:i32'],
  [0x1b, 'i32x4.extract_lane', 'x:i32'],
  [0x1c, 'i32x4.replace_lane', 'r:i32'],
  [0x1d, 'i64x2.extract_lane', 'x:i64'],
  [0x1e, 'i64x2.replace_lane', 'r:i64'],
  [0x1f, 'f32x4.extract_lane', 'x:f32'],
  [0x20, 'f32x4.replace_lane', 'r:f32'],
  [0x21, 'f64x2.extract_lane', 'x:f64'],
  [0x22, 'f64x2.replace_lane', 'r:f64'],
]
for (const [code, name, how] of lanes) {
  const [kind, scalar] = how.split(':')
  simd(code, name, 'lane', kind === 'x' ? `${V} > ${scalar}` : `${V} ${scalar} > ${V}`)
}
const VV = `${V} ${V} > ${V}`
const V1 = `${V} > ${V}`
const VT = `${V} > i32`
const VS = `${V} i32 > ${V}`
const cmpInt = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u']
cmpInt.forEach((n, i) => simd(0x23 + i, `i8x16.${n}`, '', VV))
cmpInt.forEach((n, i) => simd(0x2d + i, `i16x8.${n}`, '', VV))
cmpInt.forEach((n, i) => simd(0x37 + i, `i32x4.${n}`, '', VV))
const cmpFloat = ['eq', 'ne', 'lt', 'gt', 'le', 'ge']
cmpFloat.forEach((n, i) => simd(0x41 + i, `f32x4.${n}`, '', VV))
cmpFloat.forEach((n, i) => simd(0x47 + i, `f64x2.${n}`, '', VV))
simd(0x4d, 'v128.not', '', V1)
simd(0x4e, 'v128.and', '', VV)
simd(0x4f, 'v128.andnot', '', VV)
simd(0x50, 'v128.or', '', VV)
simd(0x51, 'v128.xor', '', VV)
simd(0x52, 'v128.bitselect', '', `${V} ${V} ${V} > ${V}`)
simd(0x53, 'v128.any_true', '', VT)
;['load8_lane', 'load16_lane', 'load32_lane', 'load64_lane'].forEach((n, i) =>
  simd(0x54 + i, `v128.${n}`, 'memarg lane', `A ${V} > ${V}`, i),
)
;['store8_lane', 'store16_lane', 'store32_lane', 'store64_lane'].forEach((n, i) =>
  simd(0x58 + i, `v128.${n}`, 'memarg lane', `A ${V} > `, i),
)
simd(0x5c, 'v128.load32_zero', 'memarg', `A > ${V}`, 2)
simd(0x5d, 'v128.load64_zero', 'memarg', `A > ${V}`, 3)
simd(0x5e, 'f32x4.demote_f64x2_zero', '', V1)
simd(0x5f, 'f64x2.promote_low_f32x4', '', V1)

/** The rest of SIMD: [code, name, signature] with the shorthand signatures above. */
const simdRest: [number, string, string][] = [
  [0x60, 'i8x16.abs', V1],
  [0x61, 'i8x16.neg', V1],
  [0x62, 'i8x16.popcnt', V1],
  [0x63, 'i8x16.all_true', VT],
  [0x64, 'i8x16.bitmask', VT],
  [0x65, 'i8x16.narrow_i16x8_s', VV],
  [0x66, 'i8x16.narrow_i16x8_u', VV],
  [0x67, 'f32x4.ceil', V1],
  [0x68, 'f32x4.floor', V1],
  [0x69, 'f32x4.trunc', V1],
  [0x6a, 'f32x4.nearest', V1],
  [0x6b, 'i8x16.shl', VS],
  [0x6c, 'i8x16.shr_s', VS],
  [0x6d, 'i8x16.shr_u', VS],
  [0x6e, 'i8x16.add', VV],
  [0x6f, 'i8x16.add_sat_s', VV],
  [0x70, 'i8x16.add_sat_u', VV],
  [0x71, 'i8x16.sub', VV],
  [0x72, 'i8x16.sub_sat_s', VV],
  [0x73, 'i8x16.sub_sat_u', VV],
  [0x74, 'f64x2.ceil', V1],
  [0x75, 'f64x2.floor', V1],
  [0x76, 'i8x16.min_s', VV],
  [0x77, 'i8x16.min_u', VV],
  [0x78, 'i8x16.max_s', VV],
  [0x79, 'i8x16.max_u', VV],
  [0x7a, 'f64x2.trunc', V1],
  [0x7b, 'i8x16.avgr_u', VV],
  [0x7c, 'i16x8.extadd_pairwise_i8x16_s', V1],
  [0x7d, 'i16x8.extadd_pairwise_i8x16_u', V1],
  [0x7e, 'i32x4.extadd_pairwise_i16x8_s', V1],
  [0x7f, 'i32x4.extadd_pairwise_i16x8_u', V1],
  [0x80, 'i16x8.abs', V1],
  [0x81, 'i16x8.neg', V1],
  [0x82, 'i16x8.q15mulr_sat_s', VV],
  [0x83, 'i16x8.all_true', VT],
  [0x84, 'i16x8.bitmask', VT],
  [0x85, 'i16x8.narrow_i32x4_s', VV],
  [0x86, 'i16x8.narrow_i32x4_u', VV],
  [0x87, 'i16x8.extend_low_i8x16_s', V1],
  [0x88, 'i16x8.extend_high_i8x16_s', V1],
  [0x89, 'i16x8.extend_low_i8x16_u', V1],
  [0x8a, 'i16x8.extend_high_i8x16_u', V1],
  [0x8b, 'i16x8.shl', VS],
  [0x8c, 'i16x8.shr_s', VS],
  [0x8d, 'i16x8.shr_u', VS],
  [0x8e, 'i16x8.add', VV],
  [0x8f, 'i16x8.add_sat_s', VV],
  [0x90, 'i16x8.add_sat_u', VV],
  [0x91, 'i16x8.sub', VV],
  [0x92, 'i16x8.sub_sat_s', VV],
  [0x93, 'i16x8.sub_sat_u', VV],
  [0x94, 'f64x2.nearest', V1],
  [0x95, 'i16x8.mul', VV],
  [0x96, 'i16x8.min_s', VV],
  [0x97, 'i16x8.min_u', VV],
  [0x98, 'i16x8.max_s', VV],
  [0x99, 'i16x8.max_u', VV],
  [0x9b, 'i16x8.avgr_u', VV],
  [0x9c, 'i16x8.extmul_low_i8x16_s', VV],
  [0x9d, 'i16x8.extmul_high_i8x16_s', VV],
  [0x9e, 'i16x8.extmul_low_i8x16_u', VV],
  [0x9f, 'i16x8.extmul_high_i8x16_u', VV],
  [0xa0, 'i32x4.abs', V1],
  [0xa1, 'i32x4.neg', V1],
  [0xa3, 'i32x4.all_true', VT],
  [0xa4, 'i32x4.bitmask', VT],
  [0xa7, 'i32x4.extend_low_i16x8_s', V1],
  [0xa8, 'i32x4.extend_high_i16x8_s', V1],
  [0xa9, 'i32x4.extend_low_i16x8_u', V1],
  [0xaa, 'i32x4.extend_high_i16x8_u', V1],
  [0xab, 'i32x4.shl', VS],
  [0xac, 'i32x4.shr_s', VS],
  [0xad, 'i32x4.shr_u', VS],
  [0xae, 'i32x4.add', VV],
  [0xb1, 'i32x4.sub', VV],
  [0xb5, 'i32x4.mul', VV],
  [0xb6, 'i32x4.min_s', VV],
  [0xb7, 'i32x4.min_u', VV],
  [0xb8, 'i32x4.max_s', VV],
  [0xb9, 'i32x4.max_u', VV],
  [0xba, 'i32x4.dot_i16x8_s', VV],
  [0xbc, 'i32x4.extmul_low_i16x8_s', VV],
  [0xbd, 'i32x4.extmul_high_i16x8_s', VV],
  [0xbe, 'i32x4.extmul_low_i16x8_u', VV],
  [0xbf, 'i32x4.extmul_high_i16x8_u', VV],
  [0xc0, 'i64x2.abs', V1],
  [0xc1, 'i64x2.neg', V1],
  [0xc3, 'i64x2.all_true', VT],
  [0xc4, 'i64x2.bitmask', VT],
  [0xc7, 'i64x2.extend_low_i32x4_s', V1],
  [0xc8, 'i64x2.extend_high_i32x4_s', V1],
  [0xc9, 'i64x2.extend_low_i32x4_u', V1],
  [0xca, 'i64x2.extend_high_i32x4_u', V1],
  [0xcb, 'i64x2.shl', VS],
  [0xcc, 'i64x2.shr_s', VS],
  [0xcd, 'i64x2.shr_u', VS],
  [0xce, 'i64x2.add', VV],
  [0xd1, 'i64x2.sub', VV],
  [0xd5, 'i64x2.mul', VV],
  [0xd6, 'i64x2.eq', VV],
  [0xd7, 'i64x2.ne', VV],
  [0xd8, 'i64x2.lt_s', VV],
  [0xd9, 'i64x2.gt_s', VV],
  [0xda, 'i64x2.le_s', VV],
  [0xdb, 'i64x2.ge_s', VV],
  [0xdc, 'i64x2.extmul_low_i32x4_s', VV],
  [0xdd, 'i64x2.extmul_high_i32x4_s', VV],
  [0xde, 'i64x2.extmul_low_i32x4_u', VV],
  [0xdf, 'i64x2.extmul_high_i32x4_u', VV],
  [0xe0, 'f32x4.abs', V1],
  [0xe1, 'f32x4.neg', V1],
  [0xe3, 'f32x4.sqrt', V1],
  [0xe4, 'f32x4.add', VV],
  [0xe5, 'f32x4.sub', VV],
  [0xe6, 'f32x4.mul', VV],
  [0xe7, 'f32x4.div', VV],
  [0xe8, 'f32x4.min', VV],
  [0xe9, 'f32x4.max', VV],
  [0xea, 'f32x4.pmin', VV],
  [0xeb, 'f32x4.pmax', VV],
  [0xec, 'f64x2.abs', V1],
  [0xed, 'f64x2.neg', V1],
  [0xef, 'f64x2.sqrt', V1],
  [0xf0, 'f64x2.add', VV],
  [0xf1, 'f64x2.sub', VV],
  [0xf2, 'f64x2.mul', VV],
  [0xf3, 'f64x2.div', VV],
  [0xf4, 'f64x2.min', VV],
  [0xf5, 'f64x2.max', VV],
  [0xf6, 'f64x2.pmin', VV],
  [0xf7, 'f64x2.pmax', VV],
  [0xf8, 'i32x4.trunc_sat_f32x4_s', V1],
  [0xf9, 'i32x4.trunc_sat_f32x4_u', V1],
  [0xfa, 'f32x4.convert_i32x4_s', V1],
  [0xfb, 'f32x4.convert_i32x4_u', V1],
  [0xfc, 'i32x4.trunc_sat_f64x2_s_zero', V1],
  [0xfd, 'i32x4.trunc_sat_f64x2_u_zero', V1],
  [0xfe, 'f64x2.convert_low_i32x4_s', V1],
  [0xff, 'f64x2.convert_low_i32x4_u', V1],
  // relaxed SIMD
  [0x100, 'i8x16.relaxed_swizzle', VV],
  [0x101, 'i32x4.relaxed_trunc_f32x4_s', V1],
  [0x102, 'i32x4.relaxed_trunc_f32x4_u', V1],
  [0x103, 'i32x4.relaxed_trunc_f64x2_s_zero', V1],
  [0x104, 'i32x4.relaxed_trunc_f64x2_u_zero', V1],
  [0x105, 'f32x4.relaxed_madd', `${V} ${V} ${V} > ${V}`],
  [0x106, 'f32x4.relaxed_nmadd', `${V} ${V} ${V} > ${V}`],
  [0x107, 'f64x2.relaxed_madd', `${V} ${V} ${V} > ${V}`],
  [0x108, 'f64x2.relaxed_nmadd', `${V} ${V} ${V} > ${V}`],
  [0x109, 'i8x16.relaxed_laneselect', `${V} ${V} ${V} > ${V}`],
  [0x10a, 'i16x8.relaxed_laneselect', `${V} ${V} ${V} > ${V}`],
  [0x10b, 'i32x4.relaxed_laneselect', `${V} ${V} ${V} > ${V}`],
  [0x10c, 'i64x2.relaxed_laneselect', `${V} ${V} ${V} > ${V}`],
  [0x10d, 'f32x4.relaxed_min', VV],
  [0x10e, 'f32x4.relaxed_max', VV],
  [0x10f, 'f64x2.relaxed_min', VV],
  [0x110, 'f64x2.relaxed_max', VV],
  [0x111, 'i16x8.relaxed_q15mulr_s', VV],
  [0x112, 'i16x8.relaxed_dot_i8x16_i7x16_s', VV],
  [0x113, 'i32x4.relaxed_dot_i8x16_i7x16_add_s', `${V} ${V} ${V} > ${V}`],
]
for (const [code, name, sig] of simdRest) simd(code, name, '', sig)

// ---- threads / atomics (0xfe) ----
atomic(0x00, 'memory.atomic.notify', 'memarg', 'A i32 > i32', 2)
atomic(0x01, 'memory.atomic.wait32', 'memarg', 'A i32 i64 > i32', 2)
atomic(0x02, 'memory.atomic.wait64', 'memarg', 'A i64 i64 > i32', 3)
atomic(0x03, 'atomic.fence', 'zero', ' > ', 0)
/** Access widths of the atomic load/store/rmw families, in opcode order. */
const atomicWidths: [string, string, number][] = [
  ['i32', '', 2],
  ['i64', '', 3],
  ['i32', '8', 0],
  ['i32', '16', 1],
  ['i64', '8', 0],
  ['i64', '16', 1],
  ['i64', '32', 2],
]
atomicWidths.forEach(([t, w, align], i) =>
  atomic(0x10 + i, `${t}.atomic.load${w}${w ? '_u' : ''}`, 'memarg', `A > ${t}`, align),
)
atomicWidths.forEach(([t, w, align], i) =>
  atomic(0x17 + i, `${t}.atomic.store${w}`, 'memarg', `A ${t} > `, align),
)
;['add', 'sub', 'and', 'or', 'xor', 'xchg', 'cmpxchg'].forEach((rmw, r) => {
  atomicWidths.forEach(([t, w, align], i) => {
    const sig = rmw === 'cmpxchg' ? `A ${t} ${t} > ${t}` : `A ${t} > ${t}`
    atomic(0x1e + r * 7 + i, `${t}.atomic.rmw${w}.${rmw}${w ? '_u' : ''}`, 'memarg', sig, align)
  })
})

/** Every instruction, in table order. */
export const OPS: readonly OpInfo[] = all

const single: (OpInfo | undefined)[] = new Array(256)
const prefixed = new Map<number, (OpInfo | undefined)[]>()
for (const info of all) {
  if (info.prefix === 0) single[info.code] = info
  else {
    let t = prefixed.get(info.prefix)
    if (t === undefined) {
      t = []
      prefixed.set(info.prefix, t)
    }
    t[info.code] = info
  }
}

export const PREFIXES: readonly number[] = [0xfb, 0xfc, 0xfd, 0xfe]

/** Lookup for the decoder: a single-byte opcode, or the table of one prefix. */
export function opBySingleByte(code: number): OpInfo | undefined {
  return single[code]
}

const prefixTables: (OpInfo | undefined)[][] = [0xfb, 0xfc, 0xfd, 0xfe].map(p => prefixed.get(p) ?? [])

export function prefixTable(prefix: number): readonly (OpInfo | undefined)[] | undefined {
  return prefixTables[prefix - 0xfb]
}

const byName = new Map<string, OpInfo>()
for (const info of all) {
  // ref.test/ref.cast come in a nullable and a non-nullable encoding; the name finds the first.
  if (!byName.has(info.name)) byName.set(info.name, info)
}

/** Finds an instruction by its text name (`i32.add`). Throws for unknown names: a typo is a bug. */
export function opByName(name: string): OpInfo {
  const info = byName.get(name)
  if (info === undefined) throw new Error(`unknown instruction ${name}`)
  return info
}

/** Exact encoding lookup, for the rare names with two encodings (nullable ref.test/ref.cast, typed select). */
export function opByCode(prefix: number, code: number): OpInfo {
  const info = prefix === 0 ? single[code] : prefixed.get(prefix)?.[code]
  if (info === undefined) throw new Error(`no instruction 0x${prefix.toString(16)} 0x${code.toString(16)}`)
  return info
}

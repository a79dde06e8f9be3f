/** The module IR: what `decode` produces, transforms edit and `encode` writes. */
import type { OpInfo } from './opcodes.js'
import type { HeapType, RecGroup, RefType, SubType, ValType } from './types.js'

/** Empty (`null`), a single value type, or the index of a function type. */
export type BlockType = null | ValType | number

/** A branch target: a structured instruction, or the function body itself (depth = outermost). */
export type Label = Instr | FuncBody

/** try_table clause kinds, numbered as in the binary format. */
export type CatchKind = 0 | 1 | 2 | 3
export const CATCH = 0
export const CATCH_REF = 1
export const CATCH_ALL = 2
export const CATCH_ALL_REF = 3

/** One clause of a `try_table`. */
export interface TryTableCatch {
  kind: CatchKind
  tag: number
  target: Label
}

/** One `catch tag` / `catch_all` clause of a legacy `try`. */
export interface LegacyCatch {
  /** Tag index, or -1 for `catch_all`. */
  tag: number
  body: Instr[]
}

/**
 * One instruction. `op` points into the instruction table; which of the optional fields are set is
 * decided by the op's immediates there (see opcodes.ts).
 */
export interface Instr {
  op: OpInfo
  /** Never set: lets `label.kind === 'func'` tell a function body from an instruction. */
  kind?: undefined
  /** Index immediates, named after what they index. */
  func?: number
  local?: number
  global?: number
  table?: number
  table2?: number
  type?: number
  type2?: number
  field?: number
  tag?: number
  data?: number
  elem?: number
  mem?: number
  mem2?: number
  count?: number
  lane?: number
  /** Memory access: alignment exponent and constant offset. */
  align?: number
  offset?: number | bigint
  /** i32.const value; f32.const raw bits (uint32). */
  i32?: number
  i64?: bigint
  /** f64.const raw bits (uint64) so NaN payloads survive. */
  f64?: bigint
  /** v128.const bytes, or i8x16.shuffle lane indices. */
  v128?: Uint8Array
  heap?: HeapType
  heap2?: HeapType
  /** br_on_cast flags: bit 0 = first type nullable, bit 1 = second type nullable. */
  castFlags?: number
  /** Result types of a typed `select`. */
  selectTypes?: ValType[]
  target?: Label
  targets?: Label[]
  /** Structured instructions. */
  blockType?: BlockType
  body?: Instr[]
  else?: Instr[]
  catches?: TryTableCatch[]
  legacyCatches?: LegacyCatch[]
  /** Legacy `try ... delegate label`. */
  delegate?: Label
  /** Scratch slot for the encoder's depth computation. */
  depthMark?: number
}

export interface FuncBody {
  kind: 'func'
  /** Declared locals (not the parameters). */
  locals: ValType[]
  body: Instr[]
  depthMark?: number
}

export interface Func {
  /** Index into `module.types`. */
  type: number
  /** Lifted body; when set, the encoder writes the function from it. */
  body: FuncBody | null
  /** The original body bytes (locals + code, without the size prefix) when not lifted. */
  raw: Uint8Array | null
  /** Absolute offset of `raw` in the decoded input, for error messages. */
  rawOffset: number
  /** Width of the body's size field when the input padded it (see `Module.sizeWidths`); absent: shortest. */
  sizeWidth?: number
}

export interface Limits {
  min: number
  max: number | null
  shared: boolean
  /** memory64 / table64: addresses and limits are i64. */
  is64: boolean
}

export interface Table {
  refType: RefType
  limits: Limits
  /** Initializer expression (the 0x40 0x00 table form), or null. */
  init: Instr[] | null
}

export interface Memory {
  limits: Limits
  /** Custom page size exponent, when given (custom-page-sizes proposal). */
  pageSizeLog2: number | null
}

export interface Global {
  type: ValType
  mutable: boolean
  init: Instr[]
}

export interface GlobalType {
  type: ValType
  mutable: boolean
}

export interface Tag {
  type: number
}

export type ImportDesc =
  | { kind: 'func'; type: number }
  | { kind: 'table'; table: Omit<Table, 'init'> }
  | { kind: 'memory'; memory: Memory }
  | { kind: 'global'; global: GlobalType }
  | { kind: 'tag'; tag: Tag }

export interface Import {
  module: string
  name: string
  desc: ImportDesc
}

export type ExternKind = 'func' | 'table' | 'memory' | 'global' | 'tag'

export interface Export {
  name: string
  kind: ExternKind
  index: number
}

export type SegmentMode = 'active' | 'passive' | 'declarative'

export interface ElemSegment {
  mode: SegmentMode
  table: number
  offset: Instr[] | null
  refType: RefType
  /** Function indices (the compact forms) or one expression per element. */
  funcs: number[] | null
  exprs: Instr[][] | null
  /** The binary flag form (0..7), kept so an untouched segment is written as it came. */
  flags: number
}

export interface DataSegment {
  mode: 'active' | 'passive'
  mem: number
  offset: Instr[] | null
  bytes: Uint8Array
  flags: number
}

export interface CustomSection {
  name: string
  data: Uint8Array
  /** Id of the known section it followed (0 = before all of them). */
  after: number
  /** Width of the section's size field when the input padded it (see `Module.sizeWidths`). */
  sizeWidth?: number
}

export type NameMap = Map<number, string>

export interface NameSection {
  module: string | null
  /** Subsection id → name map (functions = 1, types = 4, tables = 5, memories = 6, globals = 7, elems = 8, datas = 9, tags = 11). */
  maps: Map<number, NameMap>
  /** Subsection id → indirect name map (locals = 2, labels = 3, fields = 10). */
  indirect: Map<number, Map<number, NameMap>>
  /** Subsections we do not interpret, in input order, written back unchanged. */
  unknown: { id: number; data: Uint8Array }[]
  /** Order of subsection ids as they appeared, so an untouched section is written the same way. */
  order: number[]
}

export const NAME_MODULE = 0
export const NAME_FUNCS = 1
export const NAME_LOCALS = 2
export const NAME_GLOBALS = 7

export interface Module {
  types: SubType[]
  recGroups: RecGroup[]
  imports: Import[]
  funcs: Func[]
  tables: Table[]
  memories: Memory[]
  tags: Tag[]
  globals: Global[]
  exports: Export[]
  start: number | null
  elems: ElemSegment[]
  datas: DataSegment[]
  /** Whether a data-count section is written (required when bodies use memory.init/data.drop). */
  hasDataCount: boolean
  customs: CustomSection[]
  names: NameSection | null
  /** Original bytes of sections whose shortest re-encoding differs from the input (see originals.ts). */
  originals: Map<number, { raw: Uint8Array; canonical: Uint8Array }>
  /**
   * Width in bytes of a known section's size field where the input wrote it longer than needed, by
   * section id (custom sections and function bodies carry theirs as `sizeWidth`). Go's linker reserves
   * 5 bytes for every size and patches them in place; the encoder writes each size field at least as
   * wide as it came, edited or not, so an untouched module keeps its exact bytes.
   */
  sizeWidths: Map<number, number>
}

export function emptyModule(): Module {
  return {
    types: [],
    recGroups: [],
    imports: [],
    funcs: [],
    tables: [],
    memories: [],
    tags: [],
    globals: [],
    exports: [],
    start: null,
    elems: [],
    datas: [],
    hasDataCount: false,
    customs: [],
    names: null,
    originals: new Map(),
    sizeWidths: new Map(),
  }
}

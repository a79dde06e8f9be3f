/** Value, heap and composite types of the module IR (WebAssembly 3.0 type system). */

export type NumType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128'

export type AbsHeapType =
  | 'func'
  | 'nofunc'
  | 'extern'
  | 'noextern'
  | 'any'
  | 'eq'
  | 'i31'
  | 'struct'
  | 'array'
  | 'none'
  | 'exn'
  | 'noexn'

/** An abstract heap type, or the index of a defined type. */
export type HeapType = AbsHeapType | number

export interface RefType {
  readonly nullable: boolean
  readonly heap: HeapType
}

export type ValType = NumType | RefType

/** Only produced by stack typing: the type of an operand popped in unreachable code. */
export type StackType = ValType | 'bot'

export type PackedType = 'i8' | 'i16'
export type StorageType = ValType | PackedType

export interface FieldType {
  type: StorageType
  mutable: boolean
}

export interface FuncType {
  kind: 'func'
  params: ValType[]
  results: ValType[]
}

export interface StructType {
  kind: 'struct'
  fields: FieldType[]
}

export interface ArrayType {
  kind: 'array'
  field: FieldType
}

export type CompositeType = FuncType | StructType | ArrayType

export interface SubType {
  composite: CompositeType
  final: boolean
  supers: number[]
  /** Whether the binary spelled out `sub`/`sub final` even where the short form would do. */
  explicitSub: boolean
}

export interface RecGroup {
  size: number
  /** Written with the `rec` prefix even when it holds a single type. */
  explicit: boolean
}

const refCache = new Map<string, RefType>()

/** Interned reference type: the same (nullable, heap) pair always yields the same object. */
export function ref(heap: HeapType, nullable = true): RefType {
  const key = `${nullable ? 'n' : 'r'}${heap}`
  let r = refCache.get(key)
  if (r === undefined) {
    r = Object.freeze({ nullable, heap })
    refCache.set(key, r)
  }
  return r
}

export const funcref = ref('func')
export const externref = ref('extern')
export const anyref = ref('any')
export const eqref = ref('eq')
export const i31ref = ref('i31')
export const structref = ref('struct')
export const arrayref = ref('array')
export const exnref = ref('exn')
export const nullref = ref('none')
export const nullfuncref = ref('nofunc')
export const nullexternref = ref('noextern')
export const nullexnref = ref('noexn')

export function isRef(t: StackType | StorageType): t is RefType {
  return typeof t === 'object'
}

export function sameValType(a: StackType, b: StackType): boolean {
  if (a === b) return true
  if (typeof a === 'string' || typeof b === 'string') return false
  return a.nullable === b.nullable && a.heap === b.heap
}

export function unpacked(t: StorageType): ValType {
  return t === 'i8' || t === 'i16' ? 'i32' : t
}

export function valTypeText(t: StackType | StorageType): string {
  if (typeof t === 'string') return t
  const heap = typeof t.heap === 'number' ? `${t.heap}` : t.heap
  return t.nullable ? `(ref null ${heap})` : `(ref ${heap})`
}

/** The top of the abstract hierarchy an abstract heap type belongs to. */
export function absHierarchyTop(h: AbsHeapType): 'func' | 'extern' | 'any' | 'exn' {
  switch (h) {
    case 'func':
    case 'nofunc':
      return 'func'
    case 'extern':
    case 'noextern':
      return 'extern'
    case 'exn':
    case 'noexn':
      return 'exn'
    default:
      return 'any'
  }
}

/** The bottom type of a hierarchy (used for the results of null-producing instructions). */
export function hierarchyBottom(top: 'func' | 'extern' | 'any' | 'exn'): AbsHeapType {
  return top === 'func' ? 'nofunc' : top === 'extern' ? 'noextern' : top === 'exn' ? 'noexn' : 'none'
}

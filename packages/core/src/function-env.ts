/** What the instrumentation of any one function needs to know about the module (made once per module). */
import type { BlockType, FuncBody, Instr, Module, TypingContext, ValType } from '@unplugin-asyncify/wasm'
import type { FrameHelpers } from './api.js'
import type { Hierarchy } from './ref-slots.js'

export interface FunctionEnv {
  module: Module
  typing: TypingContext
  stateGlobal: number
  dataGlobal: number
  /** Memory holding the asyncify data structure and buffer. */
  mem: number
  ptr: 'i32' | 'i64'
  /** Returns a block type for [params] → [results], adding a function type when needed. */
  blockType(params: ValType[], results: ValType[]): BlockType
  helpers: FrameHelpers
  /** Adds the function holding the rewritten body of a function with a normal-state copy; its index. */
  rewindFunction(name: string, type: number, body: FuncBody): number
  /** Function saving a reference of this hierarchy to a slot (ref → i32), and loading it back (i32 → ref). */
  refSlot(h: Hierarchy, dir: 'save' | 'load'): number
  /** Stand-in values (what an unwinding function returns), per type. */
  standIns: { of(t: ValType): Instr[] | null }
  /** Functions that leave by throwing while unwinding, and the sites that catch them (unwind-throw.ts). */
  throwing: {
    readonly tag: number | null
    isThrower(index: number): boolean
    mayThrowUnwind(call: Instr): boolean
  }
}

export { type BodyContext, MAX_LOCALS } from './decode-body.js'
export {
  bodyContext,
  type DecodeOptions,
  decode,
  decodeFunction,
  liftFunction,
  SECTION_NAMES,
} from './decode-module.js'
export { encode } from './encode-module.js'
export { type DecodeLocation, WasmDecodeError, WasmEncodeError } from './errors.js'
export * from './ir.js'
export { countImports, funcTypeAt, memoriesIs64 } from './module-info.js'
export { encodeNameSection, getNames, parseNameSection, setFunctionName, setLocalName } from './names.js'
export {
  type CallKind,
  type Control,
  type Feature,
  type Imm,
  OPS,
  type OpInfo,
  opByCode,
  opByName,
} from './opcodes.js'
export { printBody } from './print.js'
export { Reader } from './reader.js'
export * from './types.js'
export {
  blockSignature,
  type InstrTypes,
  labelTypesOf,
  nullHeapOf,
  type TypingContext,
  TypingError,
  type TypingOptions,
  typeFunctionBody,
  typingContext,
} from './typing.js'
export { hasLists, mapLists, type Visitor, Walk, walk } from './walk.js'
export { Writer } from './writer.js'

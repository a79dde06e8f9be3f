/**
 * Module bytes → module IR. Sections are checked for order, size and index bounds as they are read;
 * bodies stay as bytes in lazy mode (the default) and are lifted on demand (`liftFunction`). What the IR
 * does not capture of the input's encoding is recorded so that `encode` reproduces it: the width of
 * padded size fields (`Module.sizeWidths`) and, for a section with other non-shortest encodings, its raw
 * bytes (originals.ts).
 */
import { type BodyContext, decodeConstExpr, decodeFuncBody } from './decode-body.js'
import { canonicalSection } from './encode-section.js'
import { WasmDecodeError } from './errors.js'
import type {
  CustomSection,
  DataSegment,
  ElemSegment,
  Export,
  ExternKind,
  Func,
  FuncBody,
  Import,
  Instr,
  Module,
  Table,
} from './ir.js'
import { emptyModule } from './ir.js'
import { countImports, funcTypeAt, memoriesIs64 } from './module-info.js'
import { opByName } from './opcodes.js'
import { rememberOriginal } from './originals.js'
import { Reader } from './reader.js'
import { readLimits, readRefType, readSubType, readValType } from './type-codec.js'
import { funcref } from './types.js'
import { u32Width } from './writer.js'

export interface DecodeOptions {
  /** `lazy` (default) keeps function bodies as bytes; `eager` lifts every body into IR. */
  bodies?: 'lazy' | 'eager'
}

export const SECTION_NAMES: Record<number, string> = {
  0: 'custom',
  1: 'type',
  2: 'import',
  3: 'function',
  4: 'table',
  5: 'memory',
  6: 'global',
  7: 'export',
  8: 'start',
  9: 'element',
  10: 'code',
  11: 'data',
  12: 'datacount',
  13: 'tag',
}

/** Position of each known section in the required order (tag sits between memory and global). */
const SECTION_RANK: Record<number, number> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
}

const EXTERN_KINDS: ExternKind[] = ['func', 'table', 'memory', 'global', 'tag']

const MAGIC = [0x00, 0x61, 0x73, 0x6d]

/** Everything body decoding needs, computed from the module's declarations. */
export function bodyContext(module: Module): BodyContext {
  const memIs64 = memoriesIs64(module)
  return {
    types: module.types,
    funcCount: countImports(module, 'func') + module.funcs.length,
    globalCount: countImports(module, 'global') + module.globals.length,
    tableCount: countImports(module, 'table') + module.tables.length,
    tagCount: countImports(module, 'tag') + module.tags.length,
    elemCount: module.elems.length,
    dataCount: module.hasDataCount ? module.datas.length : null,
    memIs64,
  }
}

export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Module {
  const eager = options.bodies === 'eager'
  const r = new Reader(bytes)
  if (bytes.length < 8) r.fail('not a WebAssembly module: shorter than the 8-byte header', 0)
  for (let i = 0; i < 4; i++)
    if (bytes[i] !== MAGIC[i]) r.fail('not a WebAssembly module: bad magic number', 0)
  const version =
    (bytes[4] as number) |
    ((bytes[5] as number) << 8) |
    ((bytes[6] as number) << 16) |
    ((bytes[7] as number) << 24)
  if (version !== 1) {
    if (version === 0x1000d) r.fail('this is a component, not a core module', 4)
    r.fail(`unsupported WebAssembly version ${version}`, 4)
  }
  r.pos = 8
  const m = emptyModule()
  let lastRank = 0
  let lastId = 0
  let declaredFuncTypes: number[] = []
  let declaredDataCount: number | null = null
  let sawCode = false
  let ctx: BodyContext | null = null
  const getCtx = (): BodyContext => {
    if (ctx === null) ctx = bodyContext(m)
    return ctx
  }

  while (!r.atEnd()) {
    r.section = undefined
    r.funcIndex = undefined
    const headerAt = r.pos
    const id = r.u8()
    const size = r.u32()
    const start = r.pos
    const sizeWidth = paddedWidth(size, start - headerAt - 1)
    if (size > r.end - start) r.fail(`section size ${size} runs past the end of the module`, headerAt)
    const end = start + size
    const name = SECTION_NAMES[id]
    if (name === undefined) r.fail(`unknown section id ${id}`, headerAt)
    r.section = name
    if (id === 0) {
      const sr = new Reader(bytes, start, end)
      sr.section = 'custom'
      const cname = sr.name()
      r.section = `custom:${cname}`
      const custom: CustomSection = { name: cname, data: bytes.subarray(sr.pos, end), after: lastId }
      if (sizeWidth !== undefined) custom.sizeWidth = sizeWidth
      m.customs.push(custom)
      r.pos = end
      continue
    }
    const rank = SECTION_RANK[id] as number
    if (rank <= lastRank) r.fail(`section ${name} is out of order or repeated`, headerAt)
    lastRank = rank
    lastId = id
    if (sizeWidth !== undefined) m.sizeWidths.set(id, sizeWidth)
    const outer = r.end
    r.end = end
    r.nonCanonical = false
    switch (id) {
      case 1:
        readTypeSection(r, m)
        break
      case 2:
        readImportSection(r, m)
        break
      case 3: {
        const n = r.count()
        declaredFuncTypes = new Array(n)
        for (let i = 0; i < n; i++) {
          const at = r.pos
          const t = r.u32()
          if (m.types[t]?.composite.kind !== 'func')
            r.fail(`function ${i} has type ${t}, which is not a function type`, at)
          declaredFuncTypes[i] = t
        }
        prepareFuncs(m, declaredFuncTypes)
        break
      }
      case 4: {
        const n = r.count()
        for (let i = 0; i < n; i++) m.tables.push(readTable(r, m, getCtx))
        break
      }
      case 5: {
        const n = r.count()
        for (let i = 0; i < n; i++) {
          const { limits, pageSizeLog2 } = readLimits(r, 'memory')
          m.memories.push({ limits, pageSizeLog2 })
        }
        break
      }
      case 13: {
        const n = r.count(2)
        for (let i = 0; i < n; i++) m.tags.push({ type: readTagType(r, m) })
        break
      }
      case 6: {
        ctx = null
        const importedGlobals = countImports(m, 'global')
        const n = r.count(2)
        for (let i = 0; i < n; i++) {
          const type = readValType(r, m.types.length)
          const at = r.pos
          const mut = r.u8()
          if (mut > 1) r.fail(`malformed global mutability 0x${mut.toString(16)}`, at)
          const c = getCtx()
          // Initializers may read the globals defined before them (extended-const, GC).
          c.globalCount = importedGlobals + m.globals.length
          m.globals.push({ type, mutable: mut === 1, init: readConstExpr(r, c) })
        }
        break
      }
      case 7:
        readExportSection(r, m)
        break
      case 8: {
        const at = r.pos
        m.start = r.u32()
        if (m.start >= countImports(m, 'func') + declaredFuncTypes.length)
          r.fail(`start function ${m.start} out of range`, at)
        break
      }
      case 9: {
        ctx = null
        prepareFuncs(m, declaredFuncTypes)
        const n = r.count()
        for (let i = 0; i < n; i++) m.elems.push(readElemSegment(r, m, getCtx()))
        break
      }
      case 12:
        declaredDataCount = r.u32()
        m.hasDataCount = true
        break
      case 10: {
        sawCode = true
        prepareFuncs(m, declaredFuncTypes)
        ctx = null
        const bctx = getCtx()
        if (declaredDataCount !== null) bctx.dataCount = declaredDataCount
        readCodeSection(r, m, bctx, eager)
        break
      }
      case 11: {
        ctx = null
        const n = r.count()
        if (declaredDataCount !== null && n !== declaredDataCount)
          r.fail(`data count section says ${declaredDataCount} segments but the data section has ${n}`)
        for (let i = 0; i < n; i++) m.datas.push(readDataSegment(r, m, getCtx()))
        break
      }
    }
    if (r.pos !== end) r.fail(`section ${name} has ${end - r.pos} unread bytes at its end`)
    r.end = outer
    if (r.nonCanonical && !(id === 10 && eager)) {
      const canonical = canonicalSection(m, id)
      if (canonical !== null) rememberOriginal(m, id, bytes.subarray(start, end), canonical)
    }
  }
  r.section = undefined
  if (!sawCode) {
    if (declaredFuncTypes.length > 0)
      r.fail(`function section declares ${declaredFuncTypes.length} functions but there is no code section`)
    prepareFuncs(m, declaredFuncTypes)
  }
  return m
}

/** The width of a size field that took `width` bytes, if that is more than `size` needs. */
function paddedWidth(size: number, width: number): number | undefined {
  return width > 1 && width > u32Width(size) ? width : undefined
}

const I32_CONST = opByName('i32.const')
const I64_CONST = opByName('i64.const')
const END = 0x0b

/**
 * A constant expression. The usual one, a lone `i32.const`/`i64.const` (Go writes one data segment
 * per run of non-zero bytes, tens of thousands of them), is read here without setting up the general
 * decoder; anything else goes to decodeConstExpr, which yields the same IR for these two.
 */
function readConstExpr(r: Reader, ctx: BodyContext): Instr[] {
  const start = r.pos
  const op = r.bytes[start]
  if ((op === I32_CONST.code || op === I64_CONST.code) && start < r.end) {
    r.pos++
    const instr: Instr =
      op === I32_CONST.code ? { op: I32_CONST, i32: r.s32() } : { op: I64_CONST, i64: r.s64() }
    if (r.pos < r.end && r.bytes[r.pos] === END) {
      r.pos++
      return [instr]
    }
    r.pos = start
  }
  return decodeConstExpr(r, ctx)
}

/** Creates the defined-function entries once their types are known (before elements refer to them). */
function prepareFuncs(m: Module, types: number[]): void {
  if (m.funcs.length === types.length) return
  m.funcs = types.map(type => ({ type, body: null, raw: null, rawOffset: 0 }))
}

function readTypeSection(r: Reader, m: Module): void {
  const n = r.count()
  for (let g = 0; g < n; g++) {
    if (r.peek() === 0x4e) {
      r.pos++
      const size = r.count()
      const end = m.types.length + size
      for (let i = 0; i < size; i++) m.types.push(readSubType(r, end))
      m.recGroups.push({ size, explicit: true })
    } else {
      m.types.push(readSubType(r, m.types.length + 1))
      m.recGroups.push({ size: 1, explicit: false })
    }
  }
}

function readTagType(r: Reader, m: Module): number {
  const at = r.pos
  const attr = r.u8()
  if (attr !== 0) r.fail(`unknown tag attribute ${attr}`, at)
  const ta = r.pos
  const t = r.u32()
  const ft = m.types[t]?.composite
  if (ft === undefined || ft.kind !== 'func') r.fail(`tag type ${t} is not a function type`, ta)
  return t
}

function readTable(r: Reader, m: Module, getCtx: () => BodyContext): Table {
  if (r.peek() === 0x40) {
    const at = r.pos
    r.pos++
    if (r.u8() !== 0) r.fail('malformed table with initializer', at)
    const refType = readRefType(r, m.types.length)
    const { limits } = readLimits(r, 'table')
    return { refType, limits, init: readConstExpr(r, getCtx()) }
  }
  const refType = readRefType(r, m.types.length)
  const { limits } = readLimits(r, 'table')
  return { refType, limits, init: null }
}

function readImportSection(r: Reader, m: Module): void {
  const n = r.count(3)
  for (let i = 0; i < n; i++) {
    const module = r.name()
    const name = r.name()
    const at = r.pos
    const kind = r.u8()
    let imp: Import
    switch (kind) {
      case 0: {
        const ta = r.pos
        const type = r.u32()
        if (m.types[type]?.composite.kind !== 'func')
          r.fail(`import ${module}.${name} has non-function type ${type}`, ta)
        imp = { module, name, desc: { kind: 'func', type } }
        break
      }
      case 1: {
        const refType = readRefType(r, m.types.length)
        const { limits } = readLimits(r, 'table')
        imp = { module, name, desc: { kind: 'table', table: { refType, limits } } }
        break
      }
      case 2: {
        const { limits, pageSizeLog2 } = readLimits(r, 'memory')
        imp = { module, name, desc: { kind: 'memory', memory: { limits, pageSizeLog2 } } }
        break
      }
      case 3: {
        const type = readValType(r, m.types.length)
        const ma = r.pos
        const mut = r.u8()
        if (mut > 1) r.fail(`malformed global mutability 0x${mut.toString(16)}`, ma)
        imp = { module, name, desc: { kind: 'global', global: { type, mutable: mut === 1 } } }
        break
      }
      case 4:
        imp = { module, name, desc: { kind: 'tag', tag: { type: readTagType(r, m) } } }
        break
      default:
        if (kind === 0x7e || kind === 0x7f) r.fail('compact import encoding is not supported', at)
        r.fail(`unknown import kind 0x${kind.toString(16)}`, at)
    }
    m.imports.push(imp)
  }
}

function readExportSection(r: Reader, m: Module): void {
  const n = r.count(3)
  const counts: Record<ExternKind, number> = {
    func: countImports(m, 'func') + m.funcs.length,
    table: countImports(m, 'table') + m.tables.length,
    memory: countImports(m, 'memory') + m.memories.length,
    global: countImports(m, 'global') + m.globals.length,
    tag: countImports(m, 'tag') + m.tags.length,
  }
  for (let i = 0; i < n; i++) {
    const name = r.name()
    const at = r.pos
    const k = r.u8()
    const kind = EXTERN_KINDS[k]
    if (kind === undefined) r.fail(`unknown export kind 0x${k.toString(16)}`, at)
    const ia = r.pos
    const index = r.u32()
    if (index >= counts[kind]) r.fail(`export ${name} refers to ${kind} ${index}, which does not exist`, ia)
    const exp: Export = { name, kind, index }
    m.exports.push(exp)
  }
}

function readElemSegment(r: Reader, m: Module, ctx: BodyContext): ElemSegment {
  const at = r.pos
  const flags = r.u32()
  if (flags > 7) r.fail(`malformed element segment flags ${flags}`, at)
  const mode = (flags & 1) === 0 ? 'active' : (flags & 2) === 0 ? 'passive' : 'declarative'
  let table = 0
  let offset = null
  if (mode === 'active') {
    if ((flags & 2) !== 0) {
      const ta = r.pos
      table = r.u32()
      if (table >= ctx.tableCount) r.fail(`element segment table ${table} out of range`, ta)
    } else if (ctx.tableCount === 0) r.fail('active element segment without a table', at)
    offset = readConstExpr(r, ctx)
  }
  const usesExprs = (flags & 4) !== 0
  let refType = funcref
  if (mode !== 'active' || (flags & 2) !== 0) {
    if (usesExprs) refType = readRefType(r, m.types.length)
    else {
      const ka = r.pos
      if (r.u8() !== 0) r.fail('unknown element kind', ka)
    }
  }
  if (usesExprs) {
    const n = r.count()
    const exprs = new Array(n)
    for (let i = 0; i < n; i++) exprs[i] = readConstExpr(r, ctx)
    return { mode, table, offset, refType, funcs: null, exprs, flags }
  }
  const n = r.count()
  const funcs: number[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const fa = r.pos
    const f = r.u32()
    if (f >= ctx.funcCount) r.fail(`element refers to function ${f}, which does not exist`, fa)
    funcs[i] = f
  }
  return { mode, table, offset, refType, funcs, exprs: null, flags }
}

function readDataSegment(r: Reader, _m: Module, ctx: BodyContext): DataSegment {
  const at = r.pos
  const flags = r.u32()
  if (flags > 2) r.fail(`malformed data segment flags ${flags}`, at)
  let mem = 0
  let offset = null
  if (flags !== 1) {
    if (flags === 2) {
      const ma = r.pos
      mem = r.u32()
      if (mem >= ctx.memIs64.length) r.fail(`data segment memory ${mem} out of range`, ma)
    } else if (ctx.memIs64.length === 0) r.fail('active data segment without a memory', at)
    offset = readConstExpr(r, ctx)
  }
  const len = r.u32()
  return { mode: flags === 1 ? 'passive' : 'active', mem, offset, bytes: r.take(len), flags }
}

function readCodeSection(r: Reader, m: Module, ctx: BodyContext, eager: boolean): void {
  const at = r.pos
  const n = r.u32()
  if (n !== m.funcs.length)
    r.fail(`code section has ${n} bodies but the function section declares ${m.funcs.length}`, at)
  const importedFuncs = countImports(m, 'func')
  for (let i = 0; i < n; i++) {
    const sa = r.pos
    // A padded body size is kept as the function's sizeWidth, not as a reason to keep the section's bytes.
    const nonCanonical = r.nonCanonical
    const size = r.u32()
    r.nonCanonical = nonCanonical
    if (size > r.end - r.pos) r.fail(`function body size ${size} runs past the end of the section`, sa)
    const func = m.funcs[i] as Func
    func.rawOffset = r.pos
    const sizeWidth = paddedWidth(size, r.pos - sa)
    if (sizeWidth !== undefined) func.sizeWidth = sizeWidth
    if (eager) {
      const br = new Reader(r.bytes, r.pos, r.pos + size)
      br.section = 'code'
      br.funcIndex = importedFuncs + i
      func.body = decodeFuncBody(br, ctx, funcTypeAt(m, func.type).params)
    } else {
      func.raw = r.bytes.subarray(r.pos, r.pos + size)
    }
    r.pos += size
  }
}

/** Decodes a lazy function's bytes into IR without attaching it (for analyses that only read). */
export function decodeFunction(
  module: Module,
  definedIndex: number,
  ctx: BodyContext = bodyContext(module),
): FuncBody {
  const func = module.funcs[definedIndex]
  if (func === undefined) throw new RangeError(`no defined function ${definedIndex}`)
  if (func.body !== null) return func.body
  if (func.raw === null) throw new Error(`function ${definedIndex} has neither a body nor raw bytes`)
  const raw = func.raw
  const br = new Reader(raw)
  br.section = 'code'
  br.funcIndex = countImports(module, 'func') + definedIndex
  try {
    return decodeFuncBody(br, ctx, funcTypeAt(module, func.type).params)
  } catch (e) {
    if (e instanceof WasmDecodeError) {
      // Report the offset in the original module, not in the body slice.
      throw new WasmDecodeError(e.reason, {
        offset: func.rawOffset + e.offset,
        section: 'code',
        funcIndex: e.funcIndex,
      })
    }
    throw e
  }
}

/** Lifts a lazy function into IR; from then on the encoder writes it from `func.body`. */
export function liftFunction(module: Module, definedIndex: number, ctx?: BodyContext): FuncBody {
  const body = decodeFunction(module, definedIndex, ctx)
  const func = module.funcs[definedIndex] as Func
  func.body = body
  return body
}

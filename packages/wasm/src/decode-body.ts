/** Function bodies and constant expressions: bytes → structured instructions, driven by the op table. */
import type { FuncBody, Instr, Label, LegacyCatch, TryTableCatch } from './ir.js'
import { type OpInfo, opBySingleByte, prefixTable, Shape, unhandled } from './opcodes.js'
import type { Reader } from './reader.js'
import { readBlockType, readHeapType, readValType } from './type-codec.js'
import type { SubType, ValType } from './types.js'

/** What body decoding needs to know about the rest of the module (index bounds, memory widths). */
export interface BodyContext {
  types: SubType[]
  funcCount: number
  globalCount: number
  tableCount: number
  tagCount: number
  elemCount: number
  /** Known only when a data-count section is present. */
  dataCount: number | null
  /** Per memory index: whether it is a memory64. */
  memIs64: boolean[]
  /**
   * Reused across bodies: instructions are collected here and each finished list is sliced out at
   * its exact length, so lists never carry growth slack and growing them makes no garbage.
   */
  scratch?: Instr[]
}

/** V8's limit; also keeps a malicious local count from allocating gigabytes. */
export const MAX_LOCALS = 50000

// What the innermost open structure is, which decides what `else`/`catch`/`delegate`/`end` may do.
const FrameKind = { Func: 0, Block: 1, IfThen: 2, IfElse: 3, Try: 4, TryCatch: 5 } as const
type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

interface Frame {
  kind: FrameKind
  label: Label
  /** Where the list being collected for this structure starts in the scratch stack. */
  start: number
}

const NO_INSTRS: Instr[] = []

function checkIndex(r: Reader, what: string, idx: number, count: number, at: number): void {
  if (idx >= count) r.fail(`${what} index ${idx} out of range (${count} defined)`, at)
}

function readIndexImm(r: Reader, what: string, count: number): number {
  const at = r.pos
  const idx = r.u32()
  checkIndex(r, what, idx, count, at)
  return idx
}

function readMemArg(r: Reader, op: OpInfo, ctx: BodyContext): Instr {
  const at = r.pos
  let flags = r.u32()
  let mem = 0
  if ((flags & 0x40) !== 0) {
    flags &= ~0x40
    mem = readIndexImm(r, 'memory', ctx.memIs64.length)
  } else if (ctx.memIs64.length === 0) r.fail('memory instruction without a memory', at)
  if (flags >= 64) r.fail(`malformed memory alignment flags ${flags}`, at)
  const offset = ctx.memIs64[mem] ? r.u64() : r.u32()
  return { op, align: flags, mem, offset }
}

function resolveLabel(r: Reader, labels: Label[], depth: number, at: number): Label {
  if (depth >= labels.length)
    r.fail(`branch depth ${depth} exceeds the ${labels.length} enclosing labels`, at)
  return labels[labels.length - 1 - depth] as Label
}

function readImmediates(
  r: Reader,
  instr: Instr,
  info: OpInfo,
  ctx: BodyContext,
  labels: Label[],
  localCount: number,
): void {
  const types = ctx.types
  for (const imm of info.imms) {
    const at = r.pos
    switch (imm) {
      case 'label':
        instr.target = resolveLabel(r, labels, r.u32(), at)
        break
      case 'labels': {
        const n = r.count()
        const targets: Label[] = new Array(n)
        for (let i = 0; i < n; i++) {
          const a = r.pos
          targets[i] = resolveLabel(r, labels, r.u32(), a)
        }
        instr.targets = targets
        const a = r.pos
        instr.target = resolveLabel(r, labels, r.u32(), a)
        break
      }
      case 'func':
        instr.func = readIndexImm(r, 'function', ctx.funcCount)
        break
      case 'local':
        instr.local = readIndexImm(r, 'local', localCount)
        break
      case 'global':
        instr.global = readIndexImm(r, 'global', ctx.globalCount)
        break
      case 'table':
        instr.table = readIndexImm(r, 'table', ctx.tableCount)
        break
      case 'table2':
        instr.table2 = readIndexImm(r, 'table', ctx.tableCount)
        break
      case 'type':
        instr.type = readIndexImm(r, 'type', types.length)
        break
      case 'type2':
        instr.type2 = readIndexImm(r, 'type', types.length)
        break
      case 'field': {
        const idx = r.u32()
        const st = types[instr.type as number]?.composite
        if (st === undefined || st.kind !== 'struct') r.fail(`type ${instr.type} is not a struct type`, at)
        checkIndex(r, 'field', idx, st.fields.length, at)
        instr.field = idx
        break
      }
      case 'tag':
        instr.tag = readIndexImm(r, 'tag', ctx.tagCount)
        break
      case 'data':
        instr.data = ctx.dataCount === null ? r.u32() : readIndexImm(r, 'data segment', ctx.dataCount)
        if (ctx.dataCount === null) r.fail('data segment index used without a data count section', at)
        break
      case 'elem':
        instr.elem = readIndexImm(r, 'element segment', ctx.elemCount)
        break
      case 'mem':
        instr.mem = readIndexImm(r, 'memory', ctx.memIs64.length)
        break
      case 'mem2':
        instr.mem2 = readIndexImm(r, 'memory', ctx.memIs64.length)
        break
      case 'count':
        instr.count = r.u32()
        break
      case 'lane':
        instr.lane = r.u8()
        break
      case 'memarg': {
        const ma = readMemArg(r, info, ctx)
        instr.align = ma.align
        instr.mem = ma.mem
        instr.offset = ma.offset
        break
      }
      case 'i32':
        instr.i32 = r.s32()
        break
      case 'i64':
        instr.i64 = r.s64()
        break
      case 'f32':
        instr.i32 = r.f32bits()
        break
      case 'f64':
        instr.f64 = r.f64bits()
        break
      case 'v128':
      case 'shuffle':
        instr.v128 = r.take(16).slice()
        break
      case 'heap':
        instr.heap = readHeapType(r, types.length)
        break
      case 'cast': {
        const flags = r.u8()
        if (flags > 3) r.fail(`malformed br_on_cast flags ${flags}`, at)
        instr.castFlags = flags
        const a = r.pos
        instr.target = resolveLabel(r, labels, r.u32(), a)
        instr.heap = readHeapType(r, types.length)
        instr.heap2 = readHeapType(r, types.length)
        break
      }
      case 'select': {
        const n = r.count()
        if (n !== 1) r.fail(`typed select must have exactly one type, has ${n}`, at)
        instr.selectTypes = [readValType(r, types.length)]
        break
      }
      case 'zero': {
        const z = r.u8()
        if (z !== 0) r.fail(`expected a zero byte, found 0x${z.toString(16)}`, at)
        break
      }
      case 'blocktype':
      case 'trytable':
        break // structured instructions are read by decodeInstructions itself
      default:
        unhandled(imm)
    }
  }
}

/** Stores the list collected for the innermost structure's current part where it belongs. */
function closePart(f: Frame, list: Instr[]): void {
  switch (f.kind) {
    case FrameKind.Func:
      ;(f.label as FuncBody).body = list
      break
    case FrameKind.IfElse:
      ;(f.label as Instr).else = list
      break
    case FrameKind.TryCatch: {
      const catches = (f.label as Instr).legacyCatches as LegacyCatch[]
      ;(catches[catches.length - 1] as LegacyCatch).body = list
      break
    }
    default:
      ;(f.label as Instr).body = list
  }
}

/**
 * Decodes instructions up to the `end` that closes `root` (a function body or a constant expression).
 * Iterative, with an explicit control stack, so deeply nested code cannot overflow the JS stack.
 */
export function decodeInstructions(r: Reader, root: FuncBody, ctx: BodyContext, localCount: number): void {
  const frames: Frame[] = [{ kind: FrameKind.Func, label: root, start: 0 }]
  const labels: Label[] = [root]
  if (ctx.scratch === undefined) ctx.scratch = []
  const scratch = ctx.scratch
  let top = 0
  const types = ctx.types
  for (;;) {
    const at = r.pos
    const b = r.u8()
    let info: OpInfo | undefined
    if (b >= 0xfb && b <= 0xfe) {
      const sub = r.u32()
      info = prefixTable(b)?.[sub]
      if (info === undefined) r.fail(`unknown opcode 0x${b.toString(16)} ${sub}`, at)
    } else {
      info = opBySingleByte(b)
      if (info === undefined) r.fail(`unknown opcode 0x${b.toString(16)}`, at)
    }
    switch (info.control) {
      case 'none': {
        let instr: Instr
        switch (info.shape) {
          case Shape.None:
            instr = { op: info }
            break
          case Shape.Local: {
            const a = r.pos
            const local = r.u32()
            if (local >= localCount) checkIndex(r, 'local', local, localCount, a)
            instr = { op: info, local }
            break
          }
          case Shape.Global:
            instr = { op: info, global: readIndexImm(r, 'global', ctx.globalCount) }
            break
          case Shape.Func:
            instr = { op: info, func: readIndexImm(r, 'function', ctx.funcCount) }
            break
          case Shape.I32:
            instr = { op: info, i32: r.s32() }
            break
          case Shape.I64:
            instr = { op: info, i64: r.s64() }
            break
          case Shape.F32:
            instr = { op: info, i32: r.f32bits() }
            break
          case Shape.F64:
            instr = { op: info, f64: r.f64bits() }
            break
          case Shape.MemArg:
            instr = readMemArg(r, info, ctx)
            break
          case Shape.Label: {
            const a = r.pos
            instr = { op: info, target: resolveLabel(r, labels, r.u32(), a) }
            break
          }
          default:
            instr = { op: info }
            readImmediates(r, instr, info, ctx, labels, localCount)
        }
        scratch[top++] = instr
        break
      }
      case 'block':
      case 'loop':
      case 'if':
      case 'try': {
        const blockType = readBlockType(r, types.length)
        // An `if` gets its else slot up front so closing the else does not change the object's shape.
        const instr: Instr =
          info.control === 'if'
            ? { op: info, blockType, body: NO_INSTRS, else: undefined }
            : { op: info, blockType, body: NO_INSTRS }
        scratch[top++] = instr
        const kind: FrameKind =
          info.control === 'if' ? FrameKind.IfThen : info.control === 'try' ? FrameKind.Try : FrameKind.Block
        frames.push({ kind, label: instr, start: top })
        labels.push(instr)
        break
      }
      case 'try_table': {
        const blockType = readBlockType(r, types.length)
        const n = r.count(2)
        const catches: TryTableCatch[] = new Array(n)
        for (let i = 0; i < n; i++) {
          const ca = r.pos
          const kind = r.u8()
          if (kind > 3) r.fail(`malformed try_table catch kind ${kind}`, ca)
          const tag = kind < 2 ? readIndexImm(r, 'tag', ctx.tagCount) : -1
          const la = r.pos
          // Catch labels are resolved outside the try_table: its own label is not yet in scope.
          const target = resolveLabel(r, labels, r.u32(), la)
          catches[i] = { kind: kind as 0 | 1 | 2 | 3, tag, target }
        }
        const instr: Instr = { op: info, blockType, catches, body: NO_INSTRS }
        scratch[top++] = instr
        frames.push({ kind: FrameKind.Block, label: instr, start: top })
        labels.push(instr)
        break
      }
      case 'else': {
        const f = frames[frames.length - 1] as Frame
        if (f.kind !== FrameKind.IfThen) r.fail('else without a matching if', at)
        closePart(f, scratch.slice(f.start, top))
        top = f.start
        f.kind = FrameKind.IfElse
        break
      }
      case 'catch':
      case 'catch_all': {
        const f = frames[frames.length - 1] as Frame
        if (f.kind !== FrameKind.Try && f.kind !== FrameKind.TryCatch)
          r.fail(`${info.name} outside a try`, at)
        const instr = f.label as Instr
        const tag = info.control === 'catch' ? readIndexImm(r, 'tag', ctx.tagCount) : -1
        if (
          instr.legacyCatches !== undefined &&
          instr.legacyCatches[instr.legacyCatches.length - 1]?.tag === -1
        )
          r.fail('catch after catch_all in a try', at)
        closePart(f, scratch.slice(f.start, top))
        top = f.start
        if (instr.legacyCatches === undefined) instr.legacyCatches = []
        instr.legacyCatches.push({ tag, body: NO_INSTRS })
        f.kind = FrameKind.TryCatch
        break
      }
      case 'delegate': {
        const f = frames[frames.length - 1] as Frame
        if (f.kind !== FrameKind.Try) r.fail('delegate outside a try (or after a catch)', at)
        closePart(f, scratch.slice(f.start, top))
        top = f.start
        frames.pop()
        labels.pop()
        const la = r.pos
        // The delegate label is counted from outside the try block.
        ;(f.label as Instr).delegate = resolveLabel(r, labels, r.u32(), la)
        break
      }
      case 'end': {
        const f = frames.pop() as Frame
        closePart(f, scratch.slice(f.start, top))
        top = f.start
        if (f.kind === FrameKind.Func) return
        labels.pop()
        break
      }
      default:
        unhandled(info.control)
    }
  }
}

/** Reads the local declarations at the start of a body. */
export function readLocals(r: Reader, typeCount: number, paramCount: number): ValType[] {
  const groups = r.count(2)
  const locals: ValType[] = []
  let total = paramCount
  for (let g = 0; g < groups; g++) {
    const at = r.pos
    const n = r.u32()
    total += n
    if (total > MAX_LOCALS) r.fail(`too many locals (more than ${MAX_LOCALS})`, at)
    const t = readValType(r, typeCount)
    for (let i = 0; i < n; i++) locals.push(t)
  }
  return locals
}

/** Decodes one function body (locals + code) from `r`, which must span exactly that body. */
export function decodeFuncBody(r: Reader, ctx: BodyContext, params: readonly ValType[]): FuncBody {
  const locals = readLocals(r, ctx.types.length, params.length)
  const body: FuncBody = { kind: 'func', locals, body: [] }
  decodeInstructions(r, body, ctx, params.length + locals.length)
  if (!r.atEnd()) r.fail('function body continues after its final end')
  return body
}

/** Decodes a constant expression (global init, segment offsets, table init) up to and including its end. */
export function decodeConstExpr(r: Reader, ctx: BodyContext): Instr[] {
  const root: FuncBody = { kind: 'func', locals: [], body: [] }
  decodeInstructions(r, root, ctx, 0)
  return root.body
}

/** Structured instructions → bytes, driven by the op table. Label depths are computed here. */
import type { BodyContext } from './decode-body.js'
import { WasmEncodeError } from './errors.js'
import type { FuncBody, Instr, Label } from './ir.js'
import { isIndexImm, type OpInfo, Shape, unhandled } from './opcodes.js'
import { writeBlockType, writeHeapType, writeValType } from './type-codec.js'
import type { ValType } from './types.js'
import type { Writer } from './writer.js'

/** One list being written: the body of `owner` (part 0), its else arm (1) or legacy catch `part - 1`. */
interface Work {
  list: Instr[]
  i: number
  owner: Label
  part: number
}

function writeOpcode(w: Writer, op: OpInfo): void {
  if (op.prefix !== 0) {
    w.u8(op.prefix)
    w.u32(op.code)
  } else w.u8(op.code)
}

class LabelStack {
  private labels: Label[] = []

  push(l: Label): void {
    l.depthMark = this.labels.length
    this.labels.push(l)
  }

  pop(): void {
    this.labels.pop()
  }

  depth(target: Label | undefined, what: string): number {
    const mark = target?.depthMark
    if (target === undefined || mark === undefined || this.labels[mark] !== target)
      throw new WasmEncodeError(`${what} targets a label that does not enclose it`)
    return this.labels.length - 1 - mark
  }
}

function need<T>(v: T | undefined, op: OpInfo, field: string): T {
  if (v === undefined) throw new WasmEncodeError(`${op.name} is missing its ${field} immediate`)
  return v
}

function writeMemArg(w: Writer, ins: Instr, memIs64: readonly boolean[]): void {
  const mem = ins.mem ?? 0
  const align = need(ins.align, ins.op, 'align')
  if (mem !== 0) {
    w.u32(align | 0x40)
    w.u32(mem)
  } else w.u32(align)
  const offset = ins.offset ?? 0
  if (memIs64[mem]) w.u64(offset)
  else if (typeof offset === 'bigint' || offset > 0xffffffff)
    throw new WasmEncodeError(`${ins.op.name} offset ${offset} does not fit a 32-bit memory`)
  else w.u32(offset)
}

function writeImmediates(w: Writer, ins: Instr, labels: LabelStack, memIs64: readonly boolean[]): void {
  const op = ins.op
  for (const imm of op.imms) {
    if (isIndexImm(imm)) {
      w.u32(need(ins[imm], op, imm))
      continue
    }
    switch (imm) {
      case 'label':
        w.u32(labels.depth(ins.target, op.name))
        break
      case 'labels': {
        const targets = need(ins.targets, op, 'targets')
        w.u32(targets.length)
        for (const t of targets) w.u32(labels.depth(t, op.name))
        w.u32(labels.depth(ins.target, op.name))
        break
      }
      case 'lane':
        w.u8(need(ins.lane, op, 'lane'))
        break
      case 'memarg':
        writeMemArg(w, ins, memIs64)
        break
      case 'i32':
        w.s32(need(ins.i32, op, 'i32'))
        break
      case 'i64':
        w.s64(need(ins.i64, op, 'i64'))
        break
      case 'f32':
        w.f32bits(need(ins.i32, op, 'f32 bits'))
        break
      case 'f64':
        w.f64bits(need(ins.f64, op, 'f64 bits'))
        break
      case 'v128':
      case 'shuffle': {
        const v = need(ins.v128, op, 'v128')
        if (v.length !== 16) throw new WasmEncodeError(`${op.name} needs 16 bytes, has ${v.length}`)
        w.bytes(v)
        break
      }
      case 'heap':
        writeHeapType(w, need(ins.heap, op, 'heap'))
        break
      case 'cast':
        w.u8(need(ins.castFlags, op, 'cast flags'))
        w.u32(labels.depth(ins.target, op.name))
        writeHeapType(w, need(ins.heap, op, 'heap'))
        writeHeapType(w, need(ins.heap2, op, 'heap2'))
        break
      case 'select': {
        const ts = need(ins.selectTypes, op, 'select types')
        w.u32(ts.length)
        for (const t of ts) writeValType(w, t)
        break
      }
      case 'zero':
        w.u8(0)
        break
      case 'blocktype':
      case 'trytable':
        break
      default:
        unhandled(imm)
    }
  }
}

/** Writes the instructions of `root` followed by its closing `end`. */
export function encodeInstructions(w: Writer, root: FuncBody, memIs64: readonly boolean[]): void {
  const labels = new LabelStack()
  labels.push(root)
  const stack: Work[] = [{ list: root.body, i: 0, owner: root, part: 0 }]
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Work
    if (top.i < top.list.length) {
      const ins = top.list[top.i++] as Instr
      const op = ins.op
      writeOpcode(w, op)
      switch (op.control) {
        case 'none':
          switch (op.shape) {
            case Shape.None:
              break
            case Shape.Local:
              w.u32(ins.local as number)
              break
            case Shape.Global:
              w.u32(ins.global as number)
              break
            case Shape.Func:
              w.u32(ins.func as number)
              break
            case Shape.I32:
              w.s32(ins.i32 as number)
              break
            case Shape.I64:
              w.s64(need(ins.i64, op, 'i64'))
              break
            case Shape.F32:
              w.f32bits(need(ins.i32, op, 'f32 bits'))
              break
            case Shape.F64:
              w.f64bits(need(ins.f64, op, 'f64 bits'))
              break
            case Shape.MemArg:
              writeMemArg(w, ins, memIs64)
              break
            case Shape.Label:
              w.u32(labels.depth(ins.target, op.name))
              break
            default:
              writeImmediates(w, ins, labels, memIs64)
          }
          break
        case 'block':
        case 'loop':
        case 'if':
        case 'try':
          writeBlockType(w, ins.blockType ?? null)
          labels.push(ins)
          stack.push({ list: need(ins.body, op, 'body'), i: 0, owner: ins, part: 0 })
          break
        case 'try_table': {
          writeBlockType(w, ins.blockType ?? null)
          const catches = need(ins.catches, op, 'catches')
          w.u32(catches.length)
          for (const c of catches) {
            w.u8(c.kind)
            if (c.kind < 2) w.u32(c.tag)
            w.u32(labels.depth(c.target, 'try_table catch'))
          }
          labels.push(ins)
          stack.push({ list: need(ins.body, op, 'body'), i: 0, owner: ins, part: 0 })
          break
        }
        default:
          throw new WasmEncodeError(`${op.name} is a structural marker, not an instruction`)
      }
      continue
    }
    stack.pop()
    const owner = top.owner
    if (owner.kind === 'func') {
      w.u8(0x0b)
      continue
    }
    const control = (owner as Instr).op.control
    const ins = owner as Instr
    if (control === 'if' && top.part === 0 && ins.else !== undefined) {
      w.u8(0x05)
      stack.push({ list: ins.else, i: 0, owner: ins, part: 1 })
      continue
    }
    if (control === 'try') {
      const catches = ins.legacyCatches ?? []
      const next = top.part
      if (next < catches.length) {
        const c = catches[next] as (typeof catches)[number]
        if (c.tag < 0) w.u8(0x19)
        else {
          w.u8(0x07)
          w.u32(c.tag)
        }
        stack.push({ list: c.body, i: 0, owner: ins, part: next + 1 })
        continue
      }
      if (ins.delegate !== undefined) {
        labels.pop()
        w.u8(0x18)
        w.u32(labels.depth(ins.delegate, 'delegate'))
        continue
      }
    }
    labels.pop()
    w.u8(0x0b)
  }
}

/** Writes a lifted function body: compressed local declarations, then the code. */
export function encodeFuncBody(w: Writer, body: FuncBody, ctx: Pick<BodyContext, 'memIs64'>): void {
  const groups: [number, ValType][] = []
  for (const t of body.locals) {
    const last = groups[groups.length - 1]
    if (last !== undefined && sameLocalType(last[1], t)) last[0]++
    else groups.push([1, t])
  }
  w.u32(groups.length)
  for (const [n, t] of groups) {
    w.u32(n)
    writeValType(w, t)
  }
  encodeInstructions(w, body, ctx.memIs64)
}

function sameLocalType(a: ValType, b: ValType): boolean {
  if (a === b) return true
  return typeof a === 'object' && typeof b === 'object' && a.nullable === b.nullable && a.heap === b.heap
}

export function encodeConstExpr(w: Writer, expr: Instr[], memIs64: readonly boolean[]): void {
  encodeInstructions(w, { kind: 'func', locals: [], body: expr }, memIs64)
}

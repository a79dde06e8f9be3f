/** Flat text of a lifted body (stack-machine form, one instruction per line), for debugging and reports. */
import type { FuncBody, Instr, Label } from './ir.js'
import { isIndexImm, unhandled } from './opcodes.js'
import { valTypeText } from './types.js'
import { walk } from './walk.js'

function immediates(ins: Instr, labelName: (l: Label | undefined) => string): string {
  const parts: string[] = []
  for (const imm of ins.op.imms) {
    if (isIndexImm(imm)) {
      parts.push(`${ins[imm]}`)
      continue
    }
    switch (imm) {
      case 'label':
        parts.push(labelName(ins.target))
        break
      case 'labels':
        parts.push(...(ins.targets ?? []).map(labelName), labelName(ins.target))
        break
      case 'memarg':
        if (ins.mem) parts.push(`${ins.mem}`)
        if (ins.offset) parts.push(`offset=${ins.offset}`)
        break
      case 'i32':
      case 'f32':
        parts.push(`${ins.i32}`)
        break
      case 'i64':
        parts.push(`${ins.i64}`)
        break
      case 'f64':
        parts.push(`0x${ins.f64?.toString(16)}`)
        break
      case 'heap':
        parts.push(`${ins.heap}`)
        break
      case 'select':
        parts.push(`(result ${(ins.selectTypes ?? []).map(valTypeText).join(' ')})`)
        break
      case 'blocktype':
      case 'trytable':
      case 'zero':
        break
      case 'v128':
      case 'shuffle':
        parts.push(Array.from(ins.v128 ?? []).join(' '))
        break
      case 'cast':
        parts.push(`${ins.castFlags}`, labelName(ins.target), `${ins.heap}`, `${ins.heap2}`)
        break
      case 'lane':
        parts.push(`${ins.lane}`)
        break
      default:
        unhandled(imm)
    }
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : ''
}

export function printBody(body: FuncBody): string {
  const out: string[] = []
  const names = new Map<Label, string>([[body, '$func']])
  let next = 0
  const labelName = (l: Label | undefined): string => (l === undefined ? '?' : (names.get(l) ?? '?'))
  const bt = (ins: Instr): string => {
    const t = ins.blockType
    if (t === null || t === undefined) return ''
    return typeof t === 'number' ? ` (type ${t})` : ` (result ${valTypeText(t)})`
  }
  if (body.locals.length > 0) out.push(`(locals ${body.locals.map(valTypeText).join(' ')})`)
  let depth = 0
  const pad = (): string => '  '.repeat(depth)
  walk(body.body, {
    enter(ins) {
      if (ins.op.control === 'none') {
        out.push(`${pad()}${ins.op.name}${immediates(ins, labelName)}`)
        return undefined
      }
      const name = `$L${next++}`
      names.set(ins, name)
      const catches = (ins.catches ?? []).map(
        c =>
          ` (catch${['', '_ref', '_all', '_all_ref'][c.kind]}${c.kind < 2 ? ` ${c.tag}` : ''} ${labelName(c.target)})`,
      )
      out.push(`${pad()}${ins.op.name} ${name}${bt(ins)}${catches.join('')}`)
      depth++
      return undefined
    },
    startList(owner, part) {
      if (part === 0) return
      depth--
      const c = owner.legacyCatches?.[part - 2]
      out.push(
        `${pad()}${part === 1 ? 'else' : c !== undefined && c.tag >= 0 ? `catch ${c.tag}` : 'catch_all'}`,
      )
      depth++
    },
    leave(ins) {
      depth--
      out.push(ins.delegate !== undefined ? `${pad()}delegate ${labelName(ins.delegate)}` : `${pad()}end`)
    },
  })
  return out.join('\n')
}

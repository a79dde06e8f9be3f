// The iterative instruction walker (walk.ts) and the instruction facts of the op table (opcodes.ts).
import {
  decode,
  encode,
  type FuncBody,
  type Instr,
  mapLists,
  OPS,
  opByName,
  printBody,
  Walk,
  walk,
} from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'

const plain = (name: string): Instr => ({ op: opByName(name) })
const i32 = (v: number): Instr => ({ op: opByName('i32.const'), i32: v })
const block = (body: Instr[]): Instr => ({ op: opByName('block'), blockType: null, body })

/** `if (then) (else)` and a legacy `try` with a `catch 0` and a `catch_all`, so every list kind is there. */
function sample(): Instr[] {
  const ifElse: Instr = {
    op: opByName('if'),
    blockType: null,
    body: [i32(1), plain('drop')],
    else: [i32(2), plain('drop')],
  }
  const tryIns: Instr = {
    op: opByName('try'),
    blockType: null,
    body: [i32(3), plain('drop')],
    legacyCatches: [
      { tag: 0, body: [plain('drop')] },
      { tag: -1, body: [i32(4), plain('drop')] },
    ],
  }
  return [i32(0), ifElse, tryIns, plain('nop')]
}

/** A body nested `depth` blocks deep with `inner` at the bottom, built without recursion. */
function nested(depth: number, inner: Instr[]): Instr[] {
  let list = inner
  for (let d = 0; d < depth; d++) list = [block(list)]
  return list
}

describe('walk', () => {
  it('visits in program order, a structure before its lists, every list kind included', () => {
    const seen: string[] = []
    walk(sample(), {
      enter: ins => {
        seen.push(ins.op.name === 'i32.const' ? `const ${ins.i32}` : ins.op.name)
        return undefined
      },
      startList: (owner, part) => {
        seen.push(`[${owner.op.name} ${part}]`)
      },
      leave: ins => {
        seen.push(`/${ins.op.name}`)
      },
    })
    expect(seen).toEqual([
      'const 0',
      'if',
      '[if 0]',
      'const 1',
      'drop',
      '[if 1]',
      'const 2',
      'drop',
      '/if',
      'try',
      '[try 0]',
      'const 3',
      'drop',
      '[try 2]',
      'drop',
      '[try 3]',
      'const 4',
      'drop',
      '/try',
      'nop',
    ])
  })

  it('skips a structure’s lists and ends a list when asked', () => {
    const seen: string[] = []
    walk(sample(), {
      enter: ins => {
        seen.push(ins.op.name)
        if (ins.op.name === 'if') return Walk.SkipLists
        if (ins.op.name === 'i32.const' && ins.i32 === 3) return Walk.EndList
        return undefined
      },
      leave: ins => {
        seen.push(`/${ins.op.name}`)
      },
    })
    // The `if` is neither entered nor left; after const 3 its list (the try body) ends.
    expect(seen).toEqual(['i32.const', 'if', 'try', 'i32.const', 'drop', 'i32.const', 'drop', '/try', 'nop'])
  })

  it('walks a body nested 200,000 blocks deep (a recursive walk overflows the JS stack)', () => {
    const list = nested(200_000, [i32(7), plain('drop')])
    let count = 0
    let maxDepth = 0
    let depth = 0
    walk(list, {
      enter: () => {
        count++
        return undefined
      },
      startList: () => {
        maxDepth = Math.max(maxDepth, ++depth)
      },
      leave: () => {
        depth--
      },
    })
    expect(count).toBe(200_002)
    expect(maxDepth).toBe(200_000)
    expect(depth).toBe(0)
  })
})

describe('mapLists', () => {
  it('rewrites the innermost lists first and puts each result in place', () => {
    const order: number[] = []
    const list = nested(3, [i32(0)])
    const out = mapLists(list, l => {
      order.push(l.length)
      // Each list gains a nop: the outer lists see the inner ones already rewritten.
      return [...l, plain('nop')]
    })
    expect(order).toEqual([1, 1, 1, 1])
    const text = printBody({ kind: 'func', locals: [], body: out })
    expect(text.split('\n').filter(l => l.trim() === 'nop')).toHaveLength(4)
  })

  it('reaches else arms and legacy catch bodies', () => {
    const out = mapLists(sample(), l => l.filter(ins => ins.op.name !== 'drop'))
    const text = printBody({ kind: 'func', locals: [], body: out })
    expect(text).not.toContain('drop')
    expect(text).toContain('catch_all')
  })

  it('rewrites a body nested 100,000 deep, which the codec then encodes and decodes', () => {
    const body: FuncBody = { kind: 'func', locals: [], body: nested(100_000, [plain('nop')]) }
    body.body = mapLists(body.body, l => l.filter(ins => ins.op.name !== 'nop'))
    const m = decode(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))
    m.types.push({
      composite: { kind: 'func', params: [], results: [] },
      final: true,
      supers: [],
      explicitSub: false,
    })
    m.recGroups.push({ size: 1, explicit: false })
    m.funcs.push({ type: 0, body, raw: null, rawOffset: 0 })
    const back = decode(encode(m), { bodies: 'eager' })
    let blocks = 0
    walk((back.funcs[0] as { body: FuncBody }).body.body, ins => {
      if (ins.op.name === 'block') blocks++
      else throw new Error(`unexpected ${ins.op.name}`)
    })
    expect(blocks).toBe(100_000)
  })
})

describe('instruction facts in the op table', () => {
  const op = (name: string) => opByName(name)
  it('calls: what they call, and whether their exceptions reach this function', () => {
    expect([op('call').call, op('call_indirect').call, op('call_ref').call]).toEqual([
      'direct',
      'indirect',
      'ref',
    ])
    expect([op('return_call').call, op('return_call_indirect').call, op('return_call_ref').call]).toEqual([
      'direct',
      'indirect',
      'ref',
    ])
    expect(OPS.filter(o => o.mayThrow).map(o => o.name)).toEqual([
      'throw',
      'rethrow',
      'throw_ref',
      'call',
      'call_indirect',
      'call_ref',
    ])
    expect(OPS.filter(o => o.call !== null && o.terminal).every(o => o.feature === 'tail-call')).toBe(true)
  })

  it('pure: reads, constants and arithmetic that cannot trap', () => {
    for (const name of [
      'local.get',
      'global.get',
      'i32.add',
      'f64.div',
      'i64.extend_i32_s',
      'i32.trunc_sat_f32_s',
    ])
      expect(op(name).pure, name).toBe(true)
    for (const name of [
      'i32.div_s',
      'i64.rem_u',
      'i32.trunc_f32_s',
      'i32.load',
      'local.set',
      'call',
      'memory.grow',
    ])
      expect(op(name).pure, name).toBe(false)
  })

  it('constants: the same value wherever they run', () => {
    expect(OPS.filter(o => o.constant).map(o => o.name)).toEqual([
      'i32.const',
      'i64.const',
      'f32.const',
      'f64.const',
      'ref.null',
      'ref.func',
      'v128.const',
    ])
    expect(OPS.filter(o => o.constant).every(o => o.pure)).toBe(true)
  })

  it('features: the proposal each instruction came with', () => {
    expect(op('i32.add').feature).toBe('mvp')
    expect(op('i32.extend8_s').feature).toBe('sign-extension')
    expect(op('i32.trunc_sat_f32_s').feature).toBe('nontrapping-fptoint')
    expect(op('memory.copy').feature).toBe('bulk-memory')
    expect(op('table.grow').feature).toBe('reference-types')
    expect(op('ref.as_non_null').feature).toBe('function-references')
    expect(op('struct.new').feature).toBe('gc')
    expect(op('i8x16.add').feature).toBe('simd')
    expect(op('f32x4.relaxed_madd').feature).toBe('relaxed-simd')
    expect(op('memory.atomic.notify').feature).toBe('threads')
    expect(op('try_table').feature).toBe('exceptions')
  })
})

// Part 1 of the rewrite (prepare-function.ts) on small hand-built bodies.
import type { FuncBody, Instr } from '@unplugin-asyncify/wasm'
import { ref, typingContext } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import {
  convertReturnCalls,
  LocalWrites,
  numberSites,
  prepareFunction,
  relaxNonNullableLocals,
} from '../src/prepare-function.js'
import { get, i32, moduleWith, op, set, shape, sleep } from './parts.js'

describe('numberSites', () => {
  it('numbers sites in program order and gives every holder its range; dead code after a br is left out', () => {
    const a = sleep()
    const b = sleep()
    const c = sleep()
    const dead = sleep()
    const inner = op('block', { blockType: null, body: [i32(1), b, op('drop')] })
    const outer = op('loop', { blockType: null, body: [i32(0), a, op('drop'), inner, i32(2), c, op('drop')] })
    const exit = op('block', { blockType: null, body: [] })
    exit.body = [op('br', { target: exit }), i32(3), dead, op('drop')]
    const list = [outer, exit]
    const { siteIndex, ranges, count } = numberSites(list, new Set([a, b, c, dead]))
    expect(count).toBe(3)
    expect([siteIndex.get(a), siteIndex.get(b), siteIndex.get(c), siteIndex.get(dead)]).toEqual([
      0,
      1,
      2,
      undefined,
    ])
    expect(ranges.get(outer)).toEqual([0, 2])
    expect(ranges.get(inner)).toEqual([1, 1])
    expect(ranges.get(exit)).toBeUndefined()
  })
})

describe('relaxNonNullableLocals', () => {
  it('declares non-nullable locals nullable and reads them through ref.as_non_null, in nested lists too', () => {
    const body: FuncBody = {
      kind: 'func',
      locals: [ref('any', false), 'i32'],
      body: [op('block', { blockType: null, body: [get(1), op('drop'), get(2), op('drop')] })],
    }
    relaxNonNullableLocals(body, 1)
    expect(body.locals).toEqual([ref('any', true), 'i32'])
    expect(shape(body.body)).toBe('block[local.get 1 ref.as_non_null drop local.get 2 drop]')
  })
})

describe('convertReturnCalls', () => {
  it('turns a return_call site into call + return and updates the site sets', () => {
    const tail = op('return_call', { func: 0 })
    const other = op('return_call', { func: 0 })
    const body: FuncBody = {
      kind: 'func',
      locals: [],
      body: [op('block', { blockType: null, body: [i32(1), tail] }), i32(2), other],
    }
    const sites = new Set<Instr>([tail])
    const host = new Set<Instr>([tail])
    convertReturnCalls(body, sites, host)
    expect(shape(body.body)).toBe('block[i32.const 1 call return] i32.const 2 return_call')
    const [call] = [...sites]
    expect(call?.op.name).toBe('call')
    expect(host.has(call as Instr)).toBe(true)
    expect(sites.has(tail)).toBe(false)
  })
})

describe('LocalWrites', () => {
  it('answers "is local L written between these positions", counting writes inside structures', () => {
    const inner = op('block', { blockType: null, body: [i32(1), set(0)] })
    const later = op('block', { blockType: null, body: [i32(2), set(1)] })
    const list = [get(0), inner, get(1), later, get(2)]
    const end = list[4] as Instr
    for (const visited of [() => true, (s: Instr) => s !== later]) {
      const w = new LocalWrites(list, visited)
      const from = w.first(list[0] as Instr)
      expect(w.writtenBetween(0, from, w.lastInside(inner))).toBe(true)
      expect(w.writtenBetween(1, from, w.lastInside(inner))).toBe(false)
      expect(w.writtenBetween(1, from, w.lastInside(later))).toBe(true)
      // A structure whose lists are not asked about still counts its writes.
      expect(w.writtenBetween(1, w.first(list[2] as Instr), w.lastInside(end))).toBe(true)
      expect(w.writtenBetween(2, from, w.lastInside(end))).toBe(false)
    }
  })
})

describe('prepareFunction', () => {
  it('types every instruction and numbers the sites', () => {
    const s = sleep()
    const body: FuncBody = { kind: 'func', locals: [], body: [get(0), s] }
    const { m, type } = moduleWith(['i32'], ['i32'], body)
    const fn = prepareFunction(typingContext(m), 'f', type, body, new Set([s]), new Set())
    expect(fn.siteCount).toBe(1)
    expect(fn.typeOf(s)).toEqual({ params: ['i32'], results: ['i32'] })
    expect(fn.locals.types).toEqual(['i32'])
    expect(fn.locals.add('i64')).toBe(1)
    expect(body.locals).toEqual(['i64'])
  })
})

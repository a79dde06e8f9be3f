// Async imports and exports, in both modes: the same cases run on the instrumented binary (asyncify)
// and on the original (JSPI), through `instantiate` with the `{ asyncify, original }` pair.
import { describe, expect, it } from 'vitest'
import { delay, fixture, MODES, run } from './helpers.js'

const BASICS = `(module
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "fetch" (func $fetch (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (global (export "answer") i32 (i32.const 42))
  (table (export "table") 1 funcref)
  ;; Sleeps n times; returns how often it woke up.
  (func (export "sleepLoop") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $sleep (i32.const 1))
        (call $log (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  ;; Fetches "resource" id into memory at 1024 (the import returns the length) and sums the bytes.
  (func (export "fetchSum") (param $id i32) (result i32)
    (local $len i32) (local $i i32) (local $sum i32)
    (local.set $len (call $fetch (local.get $id) (i32.const 1024)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $sum (i32.add (local.get $sum) (i32.load8_u offset=1024 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $sum))
  (func (export "pure") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))`

const TYPES = `(module
  (import "env" "i64" (func $i64 (result i64)))
  (import "env" "f32" (func $f32 (result f32)))
  (import "env" "f64" (func $f64 (result f64)))
  (import "env" "multi" (func $multi (result i32 i64 f64)))
  (import "env" "ext" (func $ext (result externref)))
  (import "env" "extNonNull" (func $extNonNull (result (ref extern))))
  (memory (export "memory") 1)
  (func (export "i64") (param i64) (result i64) (i64.add (local.get 0) (call $i64)))
  (func (export "f32") (result f32) (f32.mul (call $f32) (f32.const 2)))
  (func (export "f64") (result f64) (f64.add (call $f64) (f64.const 0.25)))
  (func (export "multi") (result i32 i64 f64) (call $multi))
  (func (export "ext") (result externref) (call $ext))
  (func (export "extNonNull") (result externref) (call $extNonNull)))`

/** WAT modules have no allocator: the rewrite gives the data a memory of its own. */
const SECONDARY = { imports: ['env.sleep', 'env.fetch'], inSecondaryMemory: true }

for (const mode of MODES)
  describe(`${mode} mode`, () => {
    it('a sleep loop: every import call suspends and resumes', async () => {
      const f = await fixture(BASICS, SECONDARY)
      const logged: number[] = []
      const { exports, mode: m } = await run<{ sleepLoop(n: number): Promise<number> }>(f, mode, {
        env: { sleep: () => delay(1), fetch: () => 0, log: (i: number) => logged.push(i) },
      })
      expect(m).toBe(mode)
      expect(await exports.sleepLoop(5)).toBe(5)
      expect(logged).toEqual([0, 1, 2, 3, 4])
    })

    it('an async fetch-like import writes bytes into memory and returns their length', async () => {
      const f = await fixture(BASICS, SECONDARY)
      const resources = new Map([
        [1, new TextEncoder().encode('hello, asyncify')],
        [2, new Uint8Array(300).map((_, i) => i & 0xff)],
      ])
      const r = await run<{ fetchSum(id: number): Promise<number>; memory: WebAssembly.Memory }>(f, mode, {
        env: {
          sleep: () => {},
          log: () => {},
          fetch: async (id: number, at: number) => {
            await delay(2)
            const bytes = resources.get(id) as Uint8Array
            new Uint8Array(r.exports.memory.buffer, at, bytes.length).set(bytes)
            return bytes.length
          },
        },
      })
      const sum = (b: Uint8Array) => b.reduce((a, x) => a + x, 0)
      expect(await r.exports.fetchSum(1)).toBe(sum(resources.get(1) as Uint8Array))
      expect(await r.exports.fetchSum(2)).toBe(sum(resources.get(2) as Uint8Array))
    })

    it('exports that cannot suspend are the raw exports; other exports pass through', async () => {
      const f = await fixture(BASICS, SECONDARY)
      const { exports, instance } = await run(f, mode, {
        env: { sleep: () => {}, fetch: () => 0, log: () => {} },
      })
      const raw = instance.exports
      expect(exports.pure).toBe(raw.pure)
      expect((exports.pure as (x: number) => number)(5)).toBe(15)
      expect(exports.sleepLoop).not.toBe(raw.sleepLoop)
      const p = (exports.sleepLoop as (n: number) => Promise<number>)(0)
      expect(p).toBeInstanceOf(Promise)
      expect(await p).toBe(0)
      for (const name of ['memory', 'answer', 'table']) expect(exports[name]).toBe(raw[name])
    })

    it('import results of every type come back converted: i64, f32, f64, multi-value, externref', async () => {
      const f = await fixture(TYPES, { inSecondaryMemory: true })
      const object = { any: 'thing' }
      const later = <T>(v: T) => delay(1).then(() => v)
      const { exports } = await run<{
        i64(x: bigint): Promise<bigint>
        f32(): Promise<number>
        f64(): Promise<number>
        multi(): Promise<[number, bigint, number]>
        ext(): Promise<unknown>
        extNonNull(): Promise<unknown>
      }>(f, mode, {
        env: {
          i64: () => later(0x1_0000_0000n),
          f32: () => later(1.5),
          f64: () => later(Math.PI),
          multi: () => later([7, -3n, 0.5]),
          ext: () => later(object),
          extNonNull: () => later('a string'),
        },
      })
      expect(await exports.i64(5n)).toBe(0x1_0000_0005n)
      expect(await exports.f32()).toBe(3)
      expect(await exports.f64()).toBe(Math.PI + 0.25)
      expect(await exports.multi()).toEqual([7, -3n, 0.5])
      expect(await exports.ext()).toBe(object)
      expect(await exports.extNonNull()).toBe('a string')
    })
  })

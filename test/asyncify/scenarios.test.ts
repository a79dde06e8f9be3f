// Asyncify scenarios run end to end in Node: WAT → rewrite (at several optimize levels) → binaryen
// validation → the raw-ABI driver, checking results, side effects and how many unwinds happened.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OptimizeLevel } from '@unplugin-asyncify/core'
import { decode } from '@unplugin-asyncify/wasm'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type AsyncifyControl,
  instantiateAsyncified,
  STATE_NORMAL,
  writeAsyncifyData,
} from '../helpers/asyncify-driver.js'
import { binaryenValidate, features, runWasmOpt } from '../helpers/binaryen.js'
import { build, DRIVER, instrumentedNames, LEVELS, macrotask, sleeper, wat } from './shared.js'

const i32 = (x: number): number => x | 0

// ---------------------------------------------------------------------------------------------------
// Modules.

const SINGLE = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $main (export "main") (param $x i32) (result i32)
    (i32.add (local.get $x) (call $sleep (i32.const 5)))))`

const REPEAT = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $repeat (export "repeat") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (call $sleep (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $sleep (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s)))`

// Values of every numeric type live across the sleep; stored to memory after it.
const LOCALS = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $keep (param $a i32) (param $b i64) (param $c f32) (param $d f64) (param $v v128)
    (local $la i32) (local $lb i64) (local $lc f32) (local $ld f64) (local $lv v128) (local $dead i32)
    (local.set $la (i32.xor (local.get $a) (i32.const 0x5a5a5a5a)))
    (local.set $lb (i64.mul (local.get $b) (i64.const 3)))
    (local.set $lc (f32.neg (local.get $c)))
    (local.set $ld (f64.sqrt (local.get $d)))
    (local.set $lv (i32x4.add (local.get $v) (v128.const i32x4 1 2 3 4)))
    (local.set $dead (i32.const 77))
    (local.set $dead (call $sleep (local.get $dead)))
    (i32.store (i32.const 256) (local.get $a))
    (i64.store (i32.const 264) (local.get $b))
    (f32.store (i32.const 272) (local.get $c))
    (f64.store (i32.const 280) (local.get $d))
    (v128.store (i32.const 288) (local.get $v))
    (i32.store (i32.const 304) (local.get $la))
    (i64.store (i32.const 312) (local.get $lb))
    (f32.store (i32.const 320) (local.get $lc))
    (f64.store (i32.const 328) (local.get $ld))
    (v128.store (i32.const 336) (local.get $lv))
    (i32.store (i32.const 352) (local.get $dead)))
  (func $main (export "main") (param $a i32) (param $b i64) (param $c f32) (param $d f64)
    (call $keep (local.get $a) (local.get $b) (local.get $c) (local.get $d)
      (i64x2.splat (i64.xor (local.get $b) (i64.const -1))))))`

/** f0 → f1 → … → f19; f2, f7, f12, f17 sleep; f18, f19 and $pure reach no sleep. */
function chainModule(depth: number, sleepsAt: (i: number) => boolean): string {
  const funcs: string[] = []
  for (let i = 0; i < depth; i++) {
    const parts = [
      `(func $f${i} (param $x i32) (result i32) (local $t i32)`,
      `  (local.set $t (i32.add (i32.mul (local.get $x) (i32.const ${i + 1})) (call $pure (local.get $x))))`,
    ]
    if (sleepsAt(i)) parts.push(`  (local.set $t (i32.add (local.get $t) (call $sleep (i32.const ${i}))))`)
    parts.push(
      i < depth - 1
        ? `  (i32.sub (call $f${i + 1} (i32.add (local.get $t) (i32.const 1))) (local.get $t)))`
        : '  (local.get $t))',
    )
    funcs.push(parts.join('\n'))
  }
  return `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $pure (param $x i32) (result i32) (i32.xor (i32.mul (local.get $x) (i32.const 7)) (i32.const 3)))
  ${funcs.join('\n  ')}
  (export "chain" (func $f0)))`
}
const CHAIN_DEPTH = 20
const chainSleeps = (i: number): boolean => i % 5 === 2
const CHAIN = chainModule(CHAIN_DEPTH, chainSleeps)
function chainExpected(x: number, sleep: (v: number) => number): number {
  const f = (i: number, x: number): number => {
    let t = i32(Math.imul(x, i + 1) + (Math.imul(x, 7) ^ 3))
    if (chainSleeps(i)) t = i32(t + sleep(i))
    return i < CHAIN_DEPTH - 1 ? i32(f(i + 1, i32(t + 1)) - t) : t
  }
  return f(0, x)
}

const FACT = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $fact (export "fact") (param $n i32) (result i64) (local $t i32)
    (local.set $t (call $sleep (local.get $n)))
    (if (result i64) (i32.le_s (local.get $t) (i32.const 1))
      (then (i64.const 1))
      (else (i64.mul (i64.extend_i32_s (local.get $t))
                     (call $fact (i32.sub (local.get $t) (i32.const 1))))))))`

const INDIRECT = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (type $bin (func (param i32) (result i32)))
  (type $fl (func (param f64) (result f64)))
  (memory (export "memory") 1)
  (table 6 funcref)
  (elem (i32.const 0) $s_add $mul $s_sub $neg $half $twice)
  (func $s_add (type $bin) (i32.add (local.get 0) (call $sleep (i32.const 1))))
  (func $mul (type $bin) (i32.mul (local.get 0) (i32.const 3)))
  (func $s_sub (type $bin) (i32.sub (local.get 0) (call $sleep (i32.const 2))))
  (func $neg (type $bin) (i32.sub (i32.const 0) (local.get 0)))
  (func $half (type $fl) (f64.mul (local.get 0) (f64.const 0.5)))
  (func $twice (type $fl) (f64.add (local.get 0) (local.get 0)))
  (func $dispatch (export "dispatch") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $bin) (local.get $x) (local.get $i)))
  (func $fdispatch (export "fdispatch") (param $i i32) (param $x f64) (result f64)
    (call_indirect (type $fl) (local.get $x) (local.get $i)))
  (func $all (export "all") (param $x i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 10))
                               (call $dispatch (local.get $i) (local.get $x))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (local.get $acc)))`

// Arms picked on rewind must be the ones picked on the way down, even when re-evaluating the condition
// would now pick another (the conditions read globals the arms change before sleeping).
const BRANCHES = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $flag (mut i32) (i32.const 0))
  (global $sel (mut i32) (i32.const 0))
  (func (export "get_flag") (result i32) (global.get $flag))
  (func $toggle (export "toggle") (param $x i32) (result i32)
    (if (result i32) (global.get $flag)
      (then (global.set $flag (i32.const 0)) (i32.add (call $sleep (local.get $x)) (i32.const 1000)))
      (else (global.set $flag (i32.const 1)) (i32.add (call $sleep (local.get $x)) (i32.const 2000)))))
  (func $nested (export "nested") (param $a i32) (param $b i32) (result i32) (local $r i32)
    (if (local.get $a)
      (then (if (local.get $b)
        (then (local.set $r (call $sleep (i32.const 1))))
        (else (local.set $r (call $sleep (i32.const 2))))))
      (else (if (local.get $b)
        (then (local.set $r (call $sleep (i32.const 3))))
        (else (local.set $r (i32.const 40))))))
    (local.set $r (i32.add (i32.mul (local.get $r) (i32.const 10)) (call $sleep (i32.const 9))))
    (local.get $r))
  (func $switch (export "switch") (param $k i32) (result i32) (local $r i32)
    (global.set $sel (local.get $k))
    (block $out
      (block $d
        (block $c2
          (block $c1
            (block $c0
              (br_table $c0 $c1 $c2 $d (global.get $sel)))
            (global.set $sel (i32.const 3))
            (local.set $r (call $sleep (i32.const 10)))
            (br $out))
          (global.set $sel (i32.const 0))
          (local.set $r (i32.add (call $sleep (i32.const 11)) (call $sleep (i32.const 12))))
          (br $out))
        (global.set $sel (i32.const 1))
        (local.set $r (call $sleep (i32.const 13))))
      (global.set $sel (i32.const 2))
      (local.set $r (i32.add (local.get $r) (call $sleep (i32.const 14)))))
    (local.get $r))
  (func $cond (export "cond") (param $x i32) (result i32)
    (if (result i32) (call $sleep (local.get $x))
      (then (i32.const 111))
      (else (i32.const 222)))))`

// Values below the call on the operand stack, computed by calls with side effects ($count, the JS
// import tick) that must not run again on rewind.
const STACK = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "tick" (func $tick (result i32)))
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (func $count (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "counter") (result i32) (global.get $counter))
  (func $three (param i32 i32 i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 10000))
             (i32.add (i32.mul (local.get 1) (i32.const 100)) (local.get 2))))
  (func (export "simple") (param $x i32) (result i32)
    (i32.add (local.get $x) (call $sleep (i32.const 1))))
  (func (export "mixed") (param $x i32) (result i32)
    (i32.add
      (i32.add (call $count) (i32.mul (call $tick) (i32.const 1000)))
      (i32.trunc_f64_s
        (f64.add (f64.convert_i32_s (local.get $x))
                 (f64.mul (f64.const 0.5) (f64.convert_i32_s (call $sleep (i32.const 2))))))))
  (func (export "args") (result i32)
    (call $three (call $count) (call $sleep (i32.const 3)) (call $sleep (i32.const 4))))
  (func (export "blocks") (param $x i32) (result i32)
    (block $a (result i32)
      (i32.add (i32.const 100)
        (block $b (result i32)
          (i32.mul (local.get $x)
            (block $c (result i32)
              (drop (br_if $c (i32.const 7) (i32.eqz (local.get $x))))
              (i32.sub (call $sleep (i32.const 5)) (call $count))))))))
  (func (export "wide") (param $x i64) (result i64)
    (i64.add (i64.mul (local.get $x) (i64.const 0x100000001))
             (i64.extend_i32_u (call $sleep (i32.const 6)))))
  (func (export "select") (param $x i32) (result i32)
    (select (call $sleep (local.get $x)) (i32.mul (call $count) (i32.const -1)) (local.get $x))))`

// Multi-value: a block with a parameter and a function returning two values around sleeps.
const MULTI = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $pair (param $x i32) (result i32 i32)
    (call $sleep (local.get $x))
    (i32.add (call $sleep (i32.add (local.get $x) (i32.const 1))) (i32.const 1)))
  (func (export "pair") (param $x i32) (result i32 i32) (call $pair (local.get $x)))
  (func (export "combine") (param $x i32) (result i32)
    (i32.const 3)
    (i32.const 4)
    (block (param i32 i32) (result i32)
      (call $sleep (i32.const 7))
      (i32.mul)
      (i32.add))
    (call $pair (local.get $x))
    (i32.add)
    (block (param i32 i32) (result i32)
      (call $sleep (i32.const 8))
      (i32.add)
      (i32.add))))`

// JS between two wasm frames: A → env.callB (JS) → export B → env.sleep.
const JS_MIDDLE = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "callB" (func $callB (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $A (export "A") (param $x i32) (result i32) (local $before i32)
    (local.set $before (i32.mul (local.get $x) (i32.const 3)))
    (i32.add (local.get $before) (call $callB (i32.add (local.get $x) (i32.const 1)))))
  (func $B (export "B") (param $y i32) (result i32)
    (i32.mul (call $sleep (local.get $y)) (i32.const 2))))`

// Exception handling: sleeps inside try_table, in the thrown payload, after the handler, and a JS error
// (a rejected sleep) thrown into wasm after the rewind and caught by catch_all.
const EXCEPTIONS = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $thrower (param $x i32)
    (if (local.get $x) (then (throw $e (i32.add (call $sleep (i32.const 7)) (local.get $x))))))
  (func (export "eh") (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (drop (call $sleep (local.get $x)))
        (call $thrower (local.get $x))
        (i32.const -1)))
    (i32.add (call $sleep (i32.const 1))))
  (func (export "catch_js") (param $x i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (return (i32.add (call $sleep (local.get $x)) (i32.const 1)))))
    (i32.add (call $sleep (i32.const 50)) (i32.const -100))))`

// Odds and ends of control flow: recursion through call_indirect, a loop with a result left by br_if,
// early return, local.tee, global.set and store operands, code ending in unreachable, a tail call.
const CONTROL = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $ind_rec $ind_rec)
  (func $ind_rec (type $t) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $sleep (i32.const 0)))
      (else (i32.add
        (call_indirect (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $n) (i32.const 1)))
        (call $sleep (local.get $n))))))
  (func (export "ind") (param $n i32) (result i32) (call $ind_rec (local.get $n)))
  (func (export "loopval") (param $n i32) (result i32) (local $i i32)
    (block $out (result i32)
      (loop $l (result i32)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.mul (local.get $i) (i32.const 100))
                    (i32.ge_u (call $sleep (local.get $i)) (local.get $n)))
        (br $l))))
  (func (export "early") (param $x i32) (result i32)
    (if (i32.gt_s (call $sleep (local.get $x)) (i32.const 10)) (then (return (i32.const 1))))
    (drop (call $sleep (i32.const 2)))
    (i32.const 2))
  (func (export "tee") (param $x i32) (result i32) (local $a i32)
    (i32.add (local.tee $a (call $sleep (local.get $x))) (local.get $a)))
  (func (export "gset") (param $x i32) (result i32)
    (global.set $g (i32.add (global.get $g) (call $sleep (local.get $x))))
    (i32.store (global.get $g) (call $sleep (i32.const 3)))
    (i32.add (global.get $g) (i32.load (global.get $g))))
  (func (export "unreach") (param $x i32) (result i32)
    (if (local.get $x) (then (return (call $sleep (local.get $x)))))
    (drop (call $sleep (i32.const 9)))
    (unreachable))
  (func $tail (param $x i32) (result i32) (return_call $sleep (i32.add (local.get $x) (i32.const 1))))
  (func (export "tail") (param $x i32) (result i32) (i32.mul (call $tail (local.get $x)) (i32.const 2))))`

// The argument of the import is computed from a local that is dead after the call.
const REWIND_ARGS = `(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $x i32) (result i32) (local $y i32)
    (local.set $y (i32.mul (local.get $x) (i32.const 2)))
    (i32.add (call $f (local.get $y)) (local.get $x))))`

const COROUTINE = `(module
  (import "env" "emit" (func $emit (param i32)))
  (import "env" "yield" (func $yield))
  (memory (export "memory") 1)
  (func $co (export "co") (param $id i32) (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $v i32)
    (loop $l
      (local.set $v (i32.add (i32.mul (local.get $id) (i32.const 100)) (local.get $i)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (local.get $v)))
      (call $emit (local.get $v))
      (call $yield)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))`

// ---------------------------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'asyncify-scenarios-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** binaryen's own asyncify (wasm-opt --asyncify) followed by its optimizer at the same level. */
function binaryenAsyncify(input: Uint8Array, optimize: OptimizeLevel, tag: string): Uint8Array {
  const inPath = join(tmp, `${tag}-${optimize}.in.wasm`)
  const outPath = join(tmp, `${tag}-${optimize}.out.wasm`)
  writeFileSync(inPath, input)
  const level = optimize === 0 ? [] : [`-O${optimize}`]
  runWasmOpt([inPath, '--asyncify', ...level, '-o', outPath])
  return new Uint8Array(readFileSync(outPath))
}

/**
 * Each level with the default options, and three with every function that can have one given a
 * normal-state copy (normal-copy.ts; the default budget admits none in modules this small), so that each
 * scenario also unwinds from the copies and rewinds into the rewritten bodies.
 */
const CASES: [OptimizeLevel, { normalCopies?: number }][] = [
  ...LEVELS.map((o): [OptimizeLevel, { normalCopies?: number }] => [o, {}]),
  [0, { normalCopies: 100 }],
  [1, { normalCopies: 100 }],
  // binaryen inlines from -O2 on.
  [3, { normalCopies: 100 }],
]

describe.each(CASES)('optimize %s %o', (optimize, copies) => {
  it('functions whose loops hold sites get normal-state copies exactly when asked', async () => {
    const { binary, report } = await build(wat(REPEAT), { optimize, ...copies })
    const copied = report.instrumented.filter(f => f.normalCopy).map(f => f.name)
    expect(copied.sort()).toEqual(copies.normalCopies === 100 ? ['repeat', 'sum'] : [])
    // Each rewritten body lives in a function of its own, which binaryen's inliner (-O2 and above)
    // must not put back into its one caller.
    const { binary: plain } = await build(wat(REPEAT), { optimize, normalCopies: 0 })
    expect(decode(binary).funcs.length - decode(plain).funcs.length).toBe(copied.length)
  })

  it('single sleep', async () => {
    const { binary, report } = await build(wat(SINGLE), { optimize, ...copies })
    expect(instrumentedNames({ binary, report })).toEqual(['main'])
    expect(report.suspendingExports).toEqual(['main'])
    const sleep = sleeper((v: number) => v * 10)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('main', 3)).toEqual({ result: 53, unwinds: 1 })
    expect(sleep.calls).toEqual([[5]])
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
    // A second call on the same instance works the same.
    expect(await d.callWithStats('main', -3)).toEqual({ result: 47, unwinds: 1 })
    expect(d.unwinds).toBe(2)
    expect(d.rewinds).toBe(2)
  })

  it("a loop that leaves by a branch to the function's own label", async () => {
    // (binaryen's text parser turns the branch into one to a block around the body; a branch to the
    // function's label itself is covered by normal-copy.test.ts and, end to end, by vips and DuckDB.)
    const text = `(module
      (import "env" "sleep" (func $sleep (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "until") (param $n i32) (result i32) (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (call $sleep (local.get $i))))
          (br_if 1 (local.get $i) (i32.ge_u (local.get $i) (local.get $n)))
          (br $l))
        (unreachable)))`
    const { binary, report } = await build(wat(text), { optimize, ...copies })
    expect(report.instrumented[0]?.normalCopy).toBe(copies.normalCopies === 100)
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: sleeper((v: number) => v + 1).fn } },
      DRIVER,
    )
    // i: 0 → 1 → 3 → 7 → 15
    expect(await d.callWithStats('until', 10)).toEqual({ result: 15, unwinds: 4 })
  })

  it('repeated sleeps in a loop (10)', async () => {
    const { binary } = await build(wat(REPEAT), { optimize, ...copies })
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    let acc = 0
    for (let i = 0; i < 10; i++) acc = i32(Math.imul(acc, 3) + i + 100)
    expect(await d.callWithStats('repeat', 10)).toEqual({ result: acc, unwinds: 10 })
    expect(sleep.calls.map(c => c[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('a loop computing a sum, sleeping each iteration', async () => {
    const { binary } = await build(wat(REPEAT), { optimize, ...copies })
    const sleep = sleeper((v: number) => v * v)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    let sum = 0
    for (let i = 0; i < 50; i++) sum += i * i
    expect(await d.callWithStats('sum', 50)).toEqual({ result: sum, unwinds: 50 })
    expect(await d.callWithStats('sum', 0)).toEqual({ result: 0, unwinds: 0 })
  })

  it('locals and params of every numeric type and v128 survive the sleep', async () => {
    const { binary } = await build(wat(LOCALS, features.SIMD128), { optimize, ...copies })
    const sleep = sleeper((v: number) => v + 1)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    const a = 0x12345678
    const b = -0x7fffffffffffffffn // 0x8000000000000001
    const c = 1.5
    const dd = 6.25
    const { result, unwinds } = await d.callWithStats('main', a, b, c, dd)
    expect(result).toBeUndefined()
    expect(unwinds).toBe(1)
    const view = new DataView(d.memory.buffer)
    expect(view.getInt32(256, true)).toBe(a)
    expect(view.getBigInt64(264, true)).toBe(b)
    expect(view.getFloat32(272, true)).toBe(c)
    expect(view.getFloat64(280, true)).toBe(dd)
    expect(view.getBigInt64(288, true)).toBe(~b)
    expect(view.getBigInt64(296, true)).toBe(~b)
    expect(view.getInt32(304, true)).toBe(a ^ 0x5a5a5a5a)
    expect(view.getBigInt64(312, true)).toBe(BigInt.asIntN(64, b * 3n))
    expect(view.getFloat32(320, true)).toBe(-c)
    expect(view.getFloat64(328, true)).toBe(2.5)
    const lanes = new Uint32Array(new BigUint64Array([BigInt.asUintN(64, ~b), BigInt.asUintN(64, ~b)]).buffer)
    const expectedLanes = [...lanes].map((x, k) => (x + k + 1) >>> 0)
    expect([0, 1, 2, 3].map(k => view.getUint32(336 + 4 * k, true))).toEqual(expectedLanes)
    expect(view.getInt32(352, true)).toBe(78)
  })

  it('deep call chain (depth 20) where only some callees sleep', async () => {
    const result = await build(wat(CHAIN), { optimize, ...copies })
    // f18, f19 and $pure reach no sleep: not instrumented.
    expect(instrumentedNames(result)).toEqual(Array.from({ length: 18 }, (_, i) => `f${i}`).sort())
    const sleep = sleeper((v: number) => v * 1000 + 1)
    const d = await instantiateAsyncified(result.binary, { env: { sleep: sleep.fn } }, DRIVER)
    const expected = chainExpected(5, v => v * 1000 + 1)
    expect(await d.callWithStats('chain', 5)).toEqual({ result: expected, unwinds: 4 })
    expect(sleep.calls.map(c => c[0])).toEqual([2, 7, 12, 17])
  })

  it('recursive factorial sleeping at each step', async () => {
    const { binary } = await build(wat(FACT), { optimize, ...copies })
    const sleep = sleeper((v: number) => v)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('fact', 20)).toEqual({ result: 2432902008176640000n, unwinds: 20 })
    expect(sleep.calls.map(c => c[0])).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i))
    expect(await d.callWithStats('fact', 1)).toEqual({ result: 1n, unwinds: 1 })
  })

  it('call_indirect through a table', async () => {
    const result = await build(wat(INDIRECT), { optimize, ...copies, ignoreIndirect: false })
    const names = instrumentedNames(result)
    // The indirect caller and its caller are instrumented; targets of other signatures are not.
    expect(names).toEqual(['all', 'dispatch', 's_add', 's_sub'])
    expect(result.report.indirectTargetsKnown).toBe(true)
    const sleep = sleeper((v: number) => v * 100)
    const d = await instantiateAsyncified(result.binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('dispatch', 0, 5)).toEqual({ result: 105, unwinds: 1 })
    expect(await d.callWithStats('dispatch', 1, 5)).toEqual({ result: 15, unwinds: 0 })
    expect(await d.callWithStats('dispatch', 2, 5)).toEqual({ result: -195, unwinds: 1 })
    expect(await d.callWithStats('fdispatch', 4, 5)).toEqual({ result: 2.5, unwinds: 0 })
    const x = 7
    let acc = 0
    for (const v of [x + 100, x * 3, x - 200, -x]) acc = i32(acc * 10 + v)
    expect(await d.callWithStats('all', x)).toEqual({ result: acc, unwinds: 2 })
    await expect(d.call('dispatch', 9, 1)).rejects.toThrow(WebAssembly.RuntimeError)
  })

  it('call_indirect with ignoreIndirect: the indirect caller is not instrumented', async () => {
    const result = await build(wat(INDIRECT), { optimize, ...copies, ignoreIndirect: true })
    expect(instrumentedNames(result)).toEqual(['s_add', 's_sub'])
    const d = await instantiateAsyncified(result.binary, { env: { sleep: async () => 0 } }, DRIVER)
    // A non-sleeping target still runs normally.
    expect(await d.callWithStats('dispatch', 3, 5)).toEqual({ result: -5, unwinds: 0 })
  })

  it('if/else: the arm taken on the way down is the one rewound into', async () => {
    const { binary } = await build(wat(BRANCHES), { optimize, ...copies })
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    const x = d.exports as { get_flag(): number }
    expect(await d.callWithStats('toggle', 5)).toEqual({ result: 2105, unwinds: 1 })
    expect(x.get_flag()).toBe(1)
    expect(await d.callWithStats('toggle', 6)).toEqual({ result: 1106, unwinds: 1 })
    expect(x.get_flag()).toBe(0)
    expect(await d.callWithStats('cond', 0)).toEqual({ result: 111, unwinds: 1 })
    expect(await d.callWithStats('cond', -100)).toEqual({ result: 222, unwinds: 1 })
  })

  it('nested ifs', async () => {
    const { binary } = await build(wat(BRANCHES), { optimize, ...copies })
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    const cases: [number, number, number, number, number[]][] = [
      [1, 1, 101 * 10 + 109, 2, [1, 9]],
      [1, 0, 102 * 10 + 109, 2, [2, 9]],
      [0, 1, 103 * 10 + 109, 2, [3, 9]],
      [0, 0, 40 * 10 + 109, 1, [9]],
    ]
    for (const [a, b, result, unwinds, args] of cases) {
      sleep.calls.length = 0
      expect(await d.callWithStats('nested', a, b)).toEqual({ result, unwinds })
      expect(sleep.calls.map(c => c[0])).toEqual(args)
    }
  })

  it('sleeps inside a br_table switch (its index changed before the sleep)', async () => {
    const { binary } = await build(wat(BRANCHES), { optimize, ...copies })
    const sleep = sleeper((v: number) => v * 2)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    const cases: [number, number, number, number[]][] = [
      [0, 20, 1, [10]],
      [1, 46, 2, [11, 12]],
      [2, 54, 2, [13, 14]],
      [3, 28, 1, [14]],
      [7, 28, 1, [14]],
    ]
    for (const [k, result, unwinds, args] of cases) {
      sleep.calls.length = 0
      expect(await d.callWithStats('switch', k)).toEqual({ result, unwinds })
      expect(sleep.calls.map(c => c[0])).toEqual(args)
    }
  })

  it('values on the operand stack below the sleeping call', async () => {
    const { binary } = await build(wat(STACK), { optimize, ...copies })
    const sleep = sleeper((v: number) => v * 3)
    let ticks = 0
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn, tick: () => ++ticks } }, DRIVER)
    const counter = (): number => (d.exports as { counter(): number }).counter()
    expect(await d.callWithStats('simple', 10)).toEqual({ result: 13, unwinds: 1 })
    // count() = 1, tick() = 1, sleep(2) = 6: 1 + 1000 + trunc(10 + 3)
    expect(await d.callWithStats('mixed', 10)).toEqual({ result: 1014, unwinds: 1 })
    expect([counter(), ticks]).toEqual([1, 1])
    // three(count() = 2, sleep(3) = 9, sleep(4) = 12)
    expect(await d.callWithStats('args')).toEqual({ result: 2 * 10000 + 9 * 100 + 12, unwinds: 2 })
    expect(counter()).toBe(2)
    // 100 + 4 * (sleep(5) - count()) = 100 + 4 * (15 - 3)
    expect(await d.callWithStats('blocks', 4)).toEqual({ result: 148, unwinds: 1 })
    expect(counter()).toBe(3)
    expect(await d.callWithStats('blocks', 0)).toEqual({ result: 100, unwinds: 0 })
    expect(await d.callWithStats('wide', 3n)).toEqual({ result: 0x300000003n + 18n, unwinds: 1 })
    // select(sleep(x), -count(), x): count() runs once (4)
    expect(await d.callWithStats('select', 5)).toEqual({ result: 15, unwinds: 1 })
    expect(await d.callWithStats('select', 0)).toEqual({ result: -5, unwinds: 1 })
    expect([counter(), ticks]).toEqual([5, 1])
  })

  it('multi-value results and block parameters across sleeps', async () => {
    const { binary } = await build(wat(MULTI, features.Multivalue), { optimize, ...copies })
    const sleep = sleeper((v: number) => v * 2)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('pair', 5)).toEqual({ result: [10, 13], unwinds: 2 })
    // 3 + 4 * sleep(7), then + pair(5) = 10 + 13, then + sleep(8)
    sleep.calls.length = 0
    expect(await d.callWithStats('combine', 5)).toEqual({ result: 3 + 4 * 14 + 10 + 13 + 16, unwinds: 4 })
    expect(sleep.calls.map(c => c[0])).toEqual([7, 5, 6, 8])
  })

  it('control flow odds and ends (indirect recursion, br_if values, return, tee, tail call)', async () => {
    const { binary } = await build(wat(CONTROL, features.TailCall), { optimize, ...copies })
    const d = await instantiateAsyncified(binary, { env: { sleep: async (v: number) => v * 3 } }, DRIVER)
    expect(await d.callWithStats('ind', 4)).toEqual({ result: 3 * (4 + 3 + 2 + 1), unwinds: 5 })
    expect(await d.callWithStats('loopval', 10)).toEqual({ result: 400, unwinds: 4 })
    expect(await d.callWithStats('early', 5)).toEqual({ result: 1, unwinds: 1 })
    expect(await d.callWithStats('early', 1)).toEqual({ result: 2, unwinds: 2 })
    expect(await d.callWithStats('tee', 5)).toEqual({ result: 30, unwinds: 1 })
    // g = 300, memory[300] = 9
    expect(await d.callWithStats('gset', 100)).toEqual({ result: 309, unwinds: 2 })
    expect(await d.callWithStats('unreach', 2)).toEqual({ result: 6, unwinds: 1 })
    await expect(d.call('unreach', 0)).rejects.toThrow(WebAssembly.RuntimeError)
    expect(await d.callWithStats('tail', 2)).toEqual({ result: 18, unwinds: 1 })
  })

  it('exception handling: sleeps in try_table bodies, payloads and after handlers', async () => {
    const { binary } = await build(wat(EXCEPTIONS, features.ExceptionHandling | features.ReferenceTypes), {
      optimize,
      ...copies,
    })
    const sleep = async (v: number): Promise<number> => {
      await Promise.resolve()
      if (v < 0) throw new Error(`negative ${v}`)
      return v * 2
    }
    const d = await instantiateAsyncified(binary, { env: { sleep } }, DRIVER)
    // sleep(5), thrown 14 + 5 caught, + sleep(1)
    expect(await d.callWithStats('eh', 5)).toEqual({ result: 21, unwinds: 3 })
    expect(await d.callWithStats('eh', 0)).toEqual({ result: 1, unwinds: 2 })
    expect(await d.callWithStats('catch_js', 4)).toEqual({ result: 9, unwinds: 1 })
    // The rejection is thrown from the import after the rewind, caught by catch_all, then one more sleep.
    expect(await d.callWithStats('catch_js', -4)).toEqual({ result: 0, unwinds: 2 })
  })

  // JS between two wasm frames. What happens (binaryen asyncify and the ABI): B unwinds through callB,
  // which returns B's garbage result to A; A is instrumented (every import may suspend) and unwinds
  // too. On the rewind A calls env.callB again with state 2, so the JS function runs a second time and
  // calls B again, which rewinds into the sleep and finishes normally. callB must therefore be
  // re-enterable: it sees state 2 on entry and state 0 after B returns.
  const jsMiddleExpected = {
    result: 15 + 106 * 2,
    unwinds: 1,
    log: [
      ['enter', 6, 0],
      ['leave', 1, '?'],
      ['enter', 6, 2],
      ['leave', 0, 212],
    ],
  }
  async function runJsMiddle(
    binary: Uint8Array,
  ): Promise<{ result: unknown; unwinds: number; log: unknown[] }> {
    const log: unknown[] = []
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(
      binary,
      driver => ({
        env: {
          sleep: sleep.fn,
          callB: (y: number) => {
            log.push(['enter', y, driver.control.asyncify_get_state()])
            const r = (driver.exports as { B(y: number): number }).B(y)
            const after = driver.control.asyncify_get_state()
            // While unwinding B returns garbage: leave its value out.
            log.push(['leave', after, after === 1 ? '?' : r])
            return r
          },
        },
      }),
      DRIVER,
    )
    const { result, unwinds } = await d.callWithStats('A', 5)
    return { result, unwinds, log }
  }

  it('JS in the middle (A → JS → B → sleep) under binaryen asyncify', async () => {
    const theirs = binaryenAsyncify(wat(JS_MIDDLE), optimize, 'js-middle')
    expect(binaryenValidate(theirs)).toBe(true)
    expect(await runJsMiddle(theirs)).toEqual(jsMiddleExpected)
  })

  // Calls that may reach host code keep their operands for the rewind, as binaryen's do: the import that
  // JS re-enters while rewinding sees the same arguments.
  it('JS in the middle (A → JS → B → sleep) matches binaryen asyncify', async () => {
    const ours = (await build(wat(JS_MIDDLE), { optimize, ...copies })).binary
    expect(await runJsMiddle(ours)).toEqual(jsMiddleExpected)
  })

  // The import that suspended is itself called again while rewinding, with its original argument.
  it('an import called again while rewinding gets its original arguments', async () => {
    const { binary } = await build(wat(REWIND_ARGS), { optimize, ...copies })
    const seen: number[][] = []
    let ex: AsyncifyControl & { memory: WebAssembly.Memory; main(x: number): number }
    const { instance } = await WebAssembly.instantiate(binary, {
      env: {
        f: (v: number) => {
          const state = ex.asyncify_get_state()
          seen.push([v, state])
          if (state === 2) {
            ex.asyncify_stop_rewind()
            return 1
          }
          ex.asyncify_start_unwind(writeAsyncifyData(ex.memory, 1024, 256, false))
          return 0
        },
      },
    })
    ex = instance.exports as unknown as typeof ex
    ex.main(21)
    ex.asyncify_stop_unwind()
    ex.asyncify_start_rewind(1024)
    expect(ex.main(21)).toBe(22)
    expect(seen).toEqual([
      [42, 0],
      [42, 2],
    ])
  })

  it('three coroutines with separate buffers, resumed in rotating order', async () => {
    const { binary } = await build(wat(COROUTINE), { optimize, ...copies })
    const output: number[] = []
    const parked = new Map<number, () => void>()
    let current = -1
    const d = await instantiateAsyncified(
      binary,
      {
        env: {
          emit: (v: number) => {
            current = Math.floor(v / 100)
            output.push(v)
          },
          yield: () => new Promise<void>(resolve => parked.set(current, resolve)),
        },
      },
      { ...DRIVER, buffers: 3, bufferSize: 256 },
    )
    const n = 4
    const calls = [0, 1, 2].map(id => d.callWithStats('co', id, n))
    await macrotask()
    // Round r resumes r % 3, (r + 1) % 3, (r + 2) % 3, one at a time.
    for (let round = 0; parked.size > 0; round++) {
      for (let j = 0; j < 3; j++) {
        const id = (round + j) % 3
        const resume = parked.get(id)
        if (resume === undefined) continue
        parked.delete(id)
        resume()
        await macrotask()
      }
    }
    const results = await Promise.all(calls)
    // Mirror of the schedule.
    const expected: number[] = [0, 100, 200]
    const next = [1, 1, 1]
    for (let round = 0; next.some(i => i < n); round++) {
      for (let j = 0; j < 3; j++) {
        const id = (round + j) % 3
        if (next[id]! < n) expected.push(id * 100 + next[id]!++)
        else if (next[id] === n) next[id]!++
      }
    }
    expect(output).toEqual(expected)
    results.forEach((r, id) => {
      let acc = 0
      for (let i = 0; i < n; i++) acc = acc * 3 + id * 100 + i
      expect(r).toEqual({ result: acc, unwinds: n })
    })
    expect(new Set([0, 1, 2].map(i => d.slotAddress(i))).size).toBe(3)
  })
})

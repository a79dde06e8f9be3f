// Exception handling across suspensions: try_table with every catch kind (catch, catch_ref, catch_all,
// catch_all_ref), nested, in several frames, with suspensions in try bodies and in handlers; JS exceptions
// (an import throwing, an async import rejecting) caught as exnref or through WebAssembly.JSTag, kept across
// a suspension and rethrown to JS; legacy try/catch/delegate/rethrow translated to try_table first.
// Every module runs through the raw-ABI driver at optimize 0, 1, 3 and 's' after binaryen validated it.
import { asyncify } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import { instantiateAsyncified, STATE_NORMAL } from '../helpers/asyncify-driver.js'
import { binaryenText } from '../helpers/binaryen.js'
import { build, DRIVER, LEVELS, NODE_FEATURES, wat, watAll } from './shared.js'

/** sleep(v) resolves to v + 100 after a microtask; a negative v rejects with `rejections.get(v)`. */
function makeSleep(rejections: Map<number, unknown> = new Map()): {
  fn: (v: number) => Promise<number>
  calls: number[]
} {
  const calls: number[] = []
  return {
    calls,
    fn: async (v: number): Promise<number> => {
      calls.push(v)
      await Promise.resolve()
      if (v < 0) throw rejections.get(v) ?? new Error(`sleep(${v}) rejected`)
      return v + 100
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// try_table with every catch kind.

const TRY_TABLE = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (export "e") (param i32))
  (tag $f (param i32))
  (tag $g (param i32))
  (tag $none)

  ;; The suspension is inside the try body; the throw after resuming is caught by the same try_table.
  (func (export "body_catch") (param $x i32) (result i32) (local $v i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (local.set $v (call $sleep (local.get $x)))
        (if (local.get $x) (then (throw $e (local.get $v)))))
      (return (i32.sub (i32.const 0) (local.get $v))))
    (i32.add (i32.const 1000)))

  (func (export "body_catch_ref") (param $x i32) (result i32) (local $v i32) (local $ex exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h)
        (local.set $v (call $sleep (local.get $x)))
        (if (local.get $x) (then (throw $e (local.get $v)))))
      (return (i32.sub (i32.const 0) (local.get $v))))
    (local.set $ex)
    (if (ref.is_null (local.get $ex)) (then (unreachable)))
    (i32.add (i32.const 2000)))

  ;; $v is set in the body before the throw and read by the handler.
  (func (export "body_catch_all") (param $x i32) (result i32) (local $v i32)
    (block $h
      (try_table (catch_all $h)
        (local.set $v (call $sleep (local.get $x)))
        (if (local.get $x) (then (throw $f (local.get $v))))
        (if (i32.eqz (local.get $x)) (then (throw $none))))
      (unreachable))
    (i32.add (local.get $v) (i32.const 3000)))

  ;; The caught exnref is rethrown into a catch $e to read its payload.
  (func (export "body_catch_all_ref") (param $x i32) (result i32) (local $v i32) (local $ex exnref)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (local.set $v (call $sleep (local.get $x)))
          (throw $e (local.get $v)))
        (unreachable)))
    (block $p (result i32)
      (try_table (catch $e $p) (throw_ref (local.get $ex)))
      (unreachable))
    (i32.add (i32.const 4000)))

  ;; Five nested try_tables, one sleep in the outer two bodies and one in the innermost; $k picks what the
  ;; innermost body throws after resuming. Handlers sleep too; level 3 sleeps, then rethrows its exnref.
  (func (export "nested") (param $k i32) (result i32) (local $v i32) (local $ex exnref) (local $acc i32)
    (block $l5
      (try_table (catch_all $l5)
        (block $l4 (result i32)
          (try_table (catch $e $l4)
            (local.set $acc (call $sleep (i32.const 1)))
            (local.set $ex
              (block $l3 (result exnref)
                (try_table (catch_all_ref $l3)
                  (block $l2 (result i32 exnref)
                    (try_table (catch_ref $f $l2)
                      (block $l1 (result i32)
                        (try_table (catch $g $l1)
                          (local.set $v (call $sleep (i32.add (local.get $k) (i32.const 10))))
                          (if (i32.eq (local.get $k) (i32.const 0)) (then (throw $g (local.get $v))))
                          (if (i32.eq (local.get $k) (i32.const 1)) (then (throw $f (local.get $v))))
                          (if (i32.eq (local.get $k) (i32.const 2)) (then (throw $e (local.get $v))))
                          (if (i32.eq (local.get $k) (i32.const 3)) (then (throw $none)))
                          (return (i32.add (local.get $acc) (local.get $v))))
                        (unreachable))
                      ;; level 1: payload of $g
                      (local.set $v)
                      (return (i32.add (i32.add (i32.const 1000) (local.get $acc)) (call $sleep (local.get $v)))))
                    (unreachable))
                  ;; level 2: payload and exnref of $f; sleeps with the exnref live
                  (local.set $ex)
                  (local.set $v)
                  (local.set $v (i32.add (local.get $v) (call $sleep (i32.const 20))))
                  (if (ref.is_null (local.get $ex)) (then (unreachable)))
                  (return (i32.add (i32.const 2000) (local.get $v))))
                (unreachable)))
            ;; level 3: sleep, then rethrow the exnref
            (local.set $acc (i32.add (local.get $acc) (call $sleep (i32.const 30))))
            (throw_ref (local.get $ex)))
          (unreachable))
        ;; level 4: payload of $e
        (local.set $v)
        (return (i32.add (i32.const 4000) (i32.add (local.get $acc) (local.get $v)))))
      (unreachable))
    ;; level 5
    (i32.add (i32.const 5000) (local.get $acc)))

  ;; Suspends twice in one handler, then rethrows the caught exnref to an outer try_table.
  (func (export "handler") (param $x i32) (result i32) (local $v i32) (local $ex exnref) (local $a i32) (local $b i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $h (result i32 exnref)
          (try_table (catch_ref $e $h)
            (throw $e (local.get $x)))
          (unreachable))
        (local.set $ex)
        (local.set $v)
        (local.set $a (call $sleep (local.get $v)))
        (local.set $b (call $sleep (i32.add (local.get $a) (i32.const 1))))
        (throw_ref (local.get $ex)))
      (unreachable))
    ;; payload (= x), a = x + 100, b = x + 201
    (i32.add (i32.mul (local.get $a) (i32.const 1000)))
    (i32.add (i32.mul (local.get $b) (i32.const 1000000))))

  ;; Suspends in the handler of a catch_all_ref, then returns the exnref to JS-facing code that throws it.
  (func (export "handler_rethrow_out") (param $x i32) (result i32) (local $ex exnref)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (throw $e (call $sleep (local.get $x))))
        (unreachable)))
    (drop (call $sleep (i32.const 2)))
    (throw_ref (local.get $ex)))

  ;; Four frames, each inside its own try_table. The deepest sleeps, then throws $e: it passes f3's catch $g,
  ;; is caught by f2's catch_all_ref (which sleeps and rethrows), passes f1's catch_ref $f and lands in
  ;; frames' catch $e. Every frame slept before calling deeper.
  (func $f3 (param $x i32) (result i32) (local $v i32)
    (block $h (result i32)
      (try_table (catch $g $h)
        (local.set $v (call $sleep (local.get $x)))
        (throw $e (i32.add (local.get $v) (local.get $x))))
      (unreachable))
    (drop)
    (i32.const -3))
  (func $f2 (param $x i32) (result i32) (local $v i32) (local $ex exnref)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (local.set $v (call $sleep (i32.add (local.get $x) (i32.const 2))))
          (return (i32.add (local.get $v) (call $f3 (i32.add (local.get $x) (i32.const 3))))))
        (unreachable)))
    (drop (call $sleep (i32.const 50)))
    (throw_ref (local.get $ex)))
  (func $f1 (param $x i32) (result i32) (local $v i32)
    (block $h (result i32 exnref)
      (try_table (catch_ref $f $h)
        (local.set $v (call $sleep (i32.add (local.get $x) (i32.const 1))))
        (return (i32.add (local.get $v) (call $f2 (local.get $v)))))
      (unreachable))
    (drop)
    (drop)
    (i32.const -1))
  (func (export "frames") (param $x i32) (result i32) (local $v i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (local.set $v (call $sleep (local.get $x)))
        (return (call $f1 (local.get $v))))
      (unreachable))
    (i32.add (local.get $v))
    (i32.add (call $sleep (i32.const 7))))
  ;; The same, with $v also read after the call on the normal path (so it is live there too).
  (func (export "frames_live") (param $x i32) (result i32) (local $v i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (local.set $v (call $sleep (local.get $x)))
        (return (i32.add (call $f1 (local.get $v)) (local.get $v))))
      (unreachable))
    (i32.add (local.get $v))
    (i32.add (call $sleep (i32.const 7))))

  ;; Minimal: $v is live only on the exception path out of the call (the return skips the normal path).
  (func $thrower (drop (call $sleep (i32.const 0))) (throw $none))
  (func (export "handler_reads_local") (param $x i32) (result i32) (local $v i32)
    (local.set $v (i32.mul (local.get $x) (i32.const 2)))
    (block $h
      (try_table (catch_all $h)
        (call $thrower)
        (return (i32.const -1))))
    (local.get $v)))`

// ---------------------------------------------------------------------------------------------------
// JS exceptions: from an import that throws, from an async import that rejects (thrown into wasm after the
// rewind); caught as catch_all_ref or with WebAssembly.JSTag; kept across a suspension; rethrown.

const JS_EXCEPTIONS = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "seen" (func $seen (param externref)))
  (import "env" "js" (tag $js (param externref)))
  (memory (export "memory") 1)
  (tag $e (export "e") (param i32))

  ;; catch_all_ref of a JS exception, kept in an exnref local across a sleep, rethrown to JS.
  (func (export "all_ref") (param $x i32) (result i32) (local $ex exnref) (local $v i32)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (call $fail (local.get $x))
          (return (i32.const -1)))
        (unreachable)))
    (local.set $v (call $sleep (local.get $x)))
    (if (i32.gt_s (local.get $v) (i32.const 100)) (then (throw_ref (local.get $ex))))
    (local.get $v))

  ;; The same with the rejection of an async import (thrown into wasm from the import after the rewind).
  (func (export "rejected_all_ref") (param $x i32) (result i32) (local $ex exnref)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (return (call $sleep (local.get $x))))
        (unreachable)))
    (drop (call $sleep (i32.const 1)))
    (drop (call $sleep (i32.const 2)))
    (throw_ref (local.get $ex)))

  ;; catch with JSTag: the payload is the thrown JS value itself (an externref), kept across a sleep.
  (func (export "js_tag") (param $x i32) (result externref) (local $e externref)
    (local.set $e
      (block $h (result externref)
        (try_table (catch $js $h)
          (call $fail (local.get $x))
          (return (ref.null extern)))
        (unreachable)))
    (drop (call $sleep (local.get $x)))
    (local.get $e))

  ;; catch_ref with JSTag on a rejected sleep: the payload and the exnref live across a sleep; the payload
  ;; goes to JS through an import, the exnref is rethrown.
  (func (export "js_tag_ref") (param $x i32) (result i32) (local $e externref) (local $ex exnref)
    (block $h (result externref exnref)
      (try_table (catch_ref $js $h)
        (return (call $sleep (local.get $x))))
      (unreachable))
    (local.set $ex)
    (local.set $e)
    (drop (call $sleep (i32.const 3)))
    (call $seen (local.get $e))
    (throw_ref (local.get $ex)))

  ;; A JS value thrown from wasm with JSTag after a sleep reaches JS as itself.
  (func (export "throw_js") (param $v externref) (param $x i32)
    (drop (call $sleep (local.get $x)))
    (throw $js (local.get $v)))

  ;; A wasm exception (tag $e) caught as exnref, kept across a sleep, rethrown to JS.
  (func (export "wasm_all_ref") (param $x i32) (local $ex exnref)
    (local.set $ex
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (throw $e (call $sleep (local.get $x))))
        (unreachable)))
    (drop (call $sleep (i32.const 4)))
    (throw_ref (local.get $ex))))`

// ---------------------------------------------------------------------------------------------------
// Legacy exception handling: try/catch/catch_all/rethrow/delegate, with sleeps inside catch bodies.

const LEGACY = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (export "e") (param i32))
  (tag $f (param i32))

  (func $inner (param $x i32) (result i32)
    (try (result i32)
      (do (throw $e (call $sleep (local.get $x))))
      (catch $f (drop) (i32.const -1))))

  ;; The inner catch $e body sleeps; for x > 10 it then rethrows to the outer catch $e, which sleeps too.
  ;; catch_all sleeps as well (reached by a $f from $x = 0).
  (func (export "legacy") (param $x i32) (result i32) (local $v i32) (local $p i32)
    (try $outer (result i32)
      (do
        (try $t (result i32)
          (do
            (if (i32.eqz (local.get $x)) (then (throw $f (i32.const 0))))
            (call $inner (local.get $x)))
          (catch $e
            (local.set $v)
            (local.set $v (i32.add (local.get $v) (call $sleep (i32.const 1))))
            (if (i32.gt_s (local.get $x) (i32.const 10)) (then (rethrow $t)))
            (local.get $v))
          (catch_all (call $sleep (i32.const 2)))))
      (catch $e
        (local.set $p)
        (i32.add (i32.add (i32.const 1000) (local.get $p))
                 (i32.add (local.get $v) (call $sleep (i32.const 3)))))))

  ;; delegate skips the middle try's catch $e and hands the exception to $outer's catch.
  (func (export "delegate") (param $x i32) (result i32) (local $p i32)
    (try $outer (result i32)
      (do
        (try (result i32)
          (do
            (try
              (do
                (drop (call $sleep (local.get $x)))
                (throw $e (local.get $x)))
              (delegate $outer))
            (i32.const -2))
          (catch $e (drop) (i32.const -1))))
      (catch $e
        (local.set $p)
        (i32.add (local.get $p) (call $sleep (i32.const 5))))))

  ;; A legacy try in a function that never suspends.
  (func (export "quiet") (param $x i32) (result i32)
    (try (result i32)
      (do (throw $e (local.get $x)))
      (catch $e (i32.add (i32.const 1))))))`

const LEGACY_OFF_PATH = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $legacy_helper (param $x i32) (result i32)
    (try (result i32)
      (do (throw $e (local.get $x)))
      (catch $e (i32.add (i32.const 1)))))
  (func (export "main") (param $x i32) (result i32)
    (i32.add (call $legacy_helper (local.get $x)) (call $sleep (local.get $x)))))`

// A call resumed by a rewind throws, the handler is inside a loop, and the loop's next iteration reaches
// an earlier call: that call must run (the call index is back to 0 once the rewind has reached its call).
const LOOP_THROW_AFTER_RESUME = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $sleep_then_throw (param $x i32)
    (drop (call $sleep (local.get $x)))
    (throw $e (local.get $x)))
  (func (export "loop_throw_after_resume") (param $n i32) (result i32) (local $sum i32) (local $i i32) (local $p i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h)
          (local.set $sum (i32.add (local.get $sum) (call $sleep (local.get $i))))
          (call $sleep_then_throw (local.get $i)))
        (unreachable))
      (local.set $p)
      (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $p) (i32.const 1000))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))`

// ---------------------------------------------------------------------------------------------------

describe.each(LEVELS)('optimize %s', optimize => {
  it('try_table catch kinds: suspend in the body, throw after resuming, caught by the same try_table', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('body_catch', 5)).toEqual({ result: 1105, unwinds: 1 })
    expect(await d.callWithStats('body_catch', 0)).toEqual({ result: -100, unwinds: 1 })
    expect(await d.callWithStats('body_catch_ref', 6)).toEqual({ result: 2106, unwinds: 1 })
    expect(await d.callWithStats('body_catch_ref', 0)).toEqual({ result: -100, unwinds: 1 })
    // $f (x ≠ 0) and $none (x = 0) both land in catch_all; $v was set before the throw.
    expect(await d.callWithStats('body_catch_all', 7)).toEqual({ result: 3107, unwinds: 1 })
    expect(await d.callWithStats('body_catch_all', 0)).toEqual({ result: 3100, unwinds: 1 })
    expect(await d.callWithStats('body_catch_all_ref', 8)).toEqual({ result: 4108, unwinds: 1 })
    expect(sleep.calls).toEqual([5, 0, 6, 0, 7, 0, 8])
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  it('a resumed call throws inside a loop; the next iteration runs the calls before it', async () => {
    const { binary } = await build(watAll(LOOP_THROW_AFTER_RESUME), { optimize })
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    // Each iteration i: sleep(i) adds i + 100, the throw's payload i adds 1000 i.
    expect(await d.callWithStats('loop_throw_after_resume', 3)).toEqual({ result: 303 + 3000, unwinds: 6 })
    expect(sleep.calls).toEqual([0, 0, 1, 1, 2, 2])
  })

  it('nested try_tables of every kind, suspending in bodies and handlers', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    // acc = sleep(1) = 101, v = sleep(10 + k) = 110 + k.
    // k = 0: $g → level 1: 1000 + 101 + sleep(110)
    expect(await d.callWithStats('nested', 0)).toEqual({ result: 1000 + 101 + 210, unwinds: 3 })
    // k = 1: $f → level 2: 2000 + 111 + sleep(20)
    expect(await d.callWithStats('nested', 1)).toEqual({ result: 2000 + 111 + 120, unwinds: 3 })
    // k = 2: $e → level 3 (catch_all_ref: acc += sleep(30), throw_ref) → level 4: 4000 + 231 + 112
    expect(await d.callWithStats('nested', 2)).toEqual({ result: 4000 + 231 + 112, unwinds: 3 })
    // k = 3: $none → level 3 → throw_ref → passes level 4 → level 5: 5000 + 231
    expect(await d.callWithStats('nested', 3)).toEqual({ result: 5000 + 231, unwinds: 3 })
    // k = 4: no throw
    expect(await d.callWithStats('nested', 4)).toEqual({ result: 101 + 114, unwinds: 2 })
    expect(sleep.calls).toEqual([1, 10, 110, 1, 11, 20, 1, 12, 30, 1, 13, 30, 1, 14])
  })

  it('suspending twice in a handler, then throw_ref of the caught exnref', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    // payload 5, a = 105, b = sleep(106) = 206
    expect(await d.callWithStats('handler', 5)).toEqual({ result: 5 + 105_000 + 206_000_000, unwinds: 2 })
    expect(sleep.calls).toEqual([5, 106])
    // The exnref outlives two suspensions in the handler and reaches JS as the same wasm exception.
    const tag = d.exports.e as WebAssembly.Tag
    const thrown = await d.call('handler_rethrow_out', 9).then(
      () => null,
      (e: unknown) => e,
    )
    expect(thrown).toBeInstanceOf(WebAssembly.Exception)
    expect((thrown as WebAssembly.Exception).is(tag)).toBe(true)
    expect((thrown as WebAssembly.Exception).getArg(tag, 0)).toBe(109)
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  // frames: v0 = sleep(1) = 101; f1(101): sleep(102) = 202, f2(202): sleep(204) = 304, f3(205):
  // sleep(205) = 305, throws $e(305 + 205 = 510) → f2 catch_all_ref: sleep(50), throw_ref → f1 passes →
  // frames catches: 510 + v0 + sleep(7)
  it('several frames, each inside its own try_table; the deepest throws after resuming', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    expect(await d.callWithStats('frames_live', 1)).toEqual({ result: 510 + 101 + 107, unwinds: 6 })
    expect(sleep.calls).toEqual([1, 102, 204, 205, 50, 7])
  })

  // A call inside a try_table may throw after the rewind resumed it, so what its catch targets read is
  // saved with it: in "frames" the handler reads $v, which is dead on the normal path (return).
  it('several frames: a local read only by the handler survives', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: makeSleep().fn } }, DRIVER)
    expect(await d.callWithStats('frames', 1)).toEqual({ result: 510 + 101 + 107, unwinds: 6 })
  })

  // The same, minimal.
  it('a local read only by the catch target of a call that throws after resuming', async () => {
    const { binary } = await build(watAll(TRY_TABLE), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: makeSleep().fn } }, DRIVER)
    expect(await d.callWithStats('handler_reads_local', 21)).toEqual({ result: 42, unwinds: 1 })
  })

  /** JS_EXCEPTIONS, instrumented: `fail(x)` throws `boom` unless x is 0, `sleep(rejectAt)` rejects. */
  const jsExceptions = async (rejectAt: number, rejection: Error) => {
    const { binary } = await build(watAll(JS_EXCEPTIONS), { optimize })
    const boom = new Error('boom')
    const sleep = makeSleep(new Map([[rejectAt, rejection]]))
    const seen: unknown[] = []
    const fail = (x: number): void => {
      if (x !== 0) throw boom
    }
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: sleep.fn, fail, seen: (v: unknown) => void seen.push(v), js: WebAssembly.JSTag } },
      DRIVER,
    )
    return { d, boom, sleep, seen }
  }

  it('JS exceptions caught as catch_all_ref, kept across a suspension, reach JS unchanged', async () => {
    const rejection = new TypeError('rejected')
    const { d, boom, sleep } = await jsExceptions(-5, rejection)
    await expect(d.call('all_ref', 3)).rejects.toBe(boom)
    expect(await d.call('all_ref', 0)).toBe(-1)
    // A rejection thrown into wasm after the rewind, caught, held across two sleeps, rethrown.
    await expect(d.call('rejected_all_ref', -5)).rejects.toBe(rejection)
    expect(await d.callWithStats('rejected_all_ref', 5)).toEqual({ result: 105, unwinds: 1 })
    expect(sleep.calls).toEqual([3, -5, 1, 2, 5])
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  it('JS exceptions caught with WebAssembly.JSTag (catch and catch_ref) across suspensions', async () => {
    const rejection = new RangeError('rejected')
    const { d, boom, seen } = await jsExceptions(-7, rejection)
    // The payload is the Error object itself.
    expect(await d.callWithStats('js_tag', 4)).toEqual({ result: boom, unwinds: 1 })
    expect((await d.call('js_tag', 4)) === boom).toBe(true)
    expect(await d.call('js_tag', 0)).toBe(null)
    // The rejection caught by catch_ref $js: payload to JS via seen(), exnref rethrown.
    const { unwinds } = await d.callWithStats('js_tag_ref', 9)
    expect(unwinds).toBe(1)
    await expect(d.call('js_tag_ref', -7)).rejects.toBe(rejection)
    expect(seen).toEqual([rejection])
    expect(seen[0]).toBe(rejection)
    // Non-Error JS values thrown with JSTag from wasm after a sleep.
    const payload = { tag: 'payload' }
    await expect(d.call('throw_js', payload, 1)).rejects.toBe(payload)
    await expect(d.call('throw_js', 'a string', 1)).rejects.toBe('a string')
    // A wasm exception caught as exnref and rethrown after a sleep keeps its tag and payload.
    const thrown = await d.call('wasm_all_ref', 6).then(
      () => null,
      (e: unknown) => e,
    )
    const tag = d.exports.e as WebAssembly.Tag
    expect(thrown).toBeInstanceOf(WebAssembly.Exception)
    expect((thrown as WebAssembly.Exception).getArg(tag, 0)).toBe(106)
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
  })

  it('legacy try/catch/catch_all/rethrow/delegate: translated to try_table, then suspending in catch bodies', async () => {
    const input = wat(LEGACY, NODE_FEATURES)
    const { binary, report } = await build(input, { optimize })
    expect(report.legacyExceptionsTranslated).toBe(true)
    // No legacy instruction is left.
    expect(binaryenText(binary)).not.toMatch(/\((try|rethrow|delegate)\b/)
    const sleep = makeSleep()
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    // x = 5: inner throws $e(sleep(5) = 105) → $t catch $e: v = 105 + sleep(1) = 206
    expect(await d.callWithStats('legacy', 5)).toEqual({ result: 206, unwinds: 2 })
    // x = 20: payload 120, v = 221, rethrow → outer catch $e: 1000 + 120 + 221 + sleep(3)
    expect(await d.callWithStats('legacy', 20)).toEqual({ result: 1000 + 120 + 221 + 103, unwinds: 3 })
    // x = 0: $f → catch_all: sleep(2)
    expect(await d.callWithStats('legacy', 0)).toEqual({ result: 102, unwinds: 1 })
    // delegate: x + sleep(5)
    expect(await d.callWithStats('delegate', 8)).toEqual({ result: 8 + 105, unwinds: 2 })
    expect(await d.callWithStats('quiet', 8)).toEqual({ result: 9, unwinds: 0 })
    expect(sleep.calls).toEqual([5, 1, 20, 1, 3, 2, 8, 5])
  })

  it('legacy try in a function off the unwinding path is translated too', async () => {
    const { binary, report } = await build(wat(LEGACY_OFF_PATH, NODE_FEATURES), { optimize })
    expect(report.legacyExceptionsTranslated).toBe(true)
    const d = await instantiateAsyncified(binary, { env: { sleep: makeSleep().fn } }, DRIVER)
    expect(await d.callWithStats('main', 4)).toEqual({ result: 5 + 104, unwinds: 1 })
  })
})

describe("legacyExceptions: 'error'", () => {
  it('refuses a module with legacy try/catch, naming the function', async () => {
    const input = wat(LEGACY, NODE_FEATURES)
    // $inner is function 1 (after the import): the first one with a legacy try; named from the name section.
    await expect(asyncify(input, { legacyExceptions: 'error' })).rejects.toThrow(
      /function inner\b.*legacy exception handling.*legacyExceptions is 'error'/,
    )
    await expect(
      asyncify(wat(LEGACY_OFF_PATH, NODE_FEATURES), { legacyExceptions: 'error' }),
    ).rejects.toThrow(/legacy exception handling/)
  })

  // The message names the function from the name section.
  it('names the function by its name-section name (legacy_helper)', async () => {
    await expect(
      asyncify(wat(LEGACY_OFF_PATH, NODE_FEATURES), { legacyExceptions: 'error' }),
    ).rejects.toThrow(/legacy_helper/)
  })

  it('a module with only try_table is accepted', async () => {
    const { report } = await asyncify(watAll(TRY_TABLE), { legacyExceptions: 'error' })
    expect(report.legacyExceptionsTranslated).toBe(false)
  })
})

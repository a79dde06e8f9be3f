// Reference-typed values across suspensions: locals and parameters of every hierarchy (extern, func, any,
// exn) and of the types below them (eqref, i31ref, structs, arrays, typed function references), nullable and
// not; reference values on the operand stack and at catch targets (tag payloads, catch_ref's exnref, branch
// values); ref-typed results of functions on the unwinding path (stand-ins while unwinding), and functions
// whose result type has no stand-in (refused, unless they never unwind).
// Every module runs through the raw-ABI driver at optimize 0, 1, 3 and 's' after binaryen validated it.
import { asyncify } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import { instantiateAsyncified, STATE_NORMAL } from '../helpers/asyncify-driver.js'
import { build, DRIVER, instrumentedNames, LEVELS, sleeper, watAll } from './shared.js'

const TYPES = `
  (type $fn (func (param i32) (result i32)))
  (type $pt (struct (field (mut i32)) (field (ref null $pt))))
  (type $arr (array (mut i32)))
  (type $box (struct (field (ref $pt))))`

const REFS = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  ${TYPES}
  (tag $ex (param externref))
  (tag $exs (param (ref $pt)))
  (tag $ei (param i32))
  (elem declare func $double $triple $sleepy)

  (func $double (type $fn) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (type $fn) (i32.mul (local.get 0) (i32.const 3)))
  (func $sleepy (type $fn) (i32.add (call $sleep (local.get 0)) (i32.const 1)))

  ;; externref locals (nullable, non-nullable, null) and parameters overwritten before the sleep.
  (func (export "externs") (param $p externref) (param $q externref) (param $sel i32) (result externref)
    (local $a externref) (local $b (ref extern)) (local $n externref)
    (local.set $a (local.get $p))
    (local.set $b (ref.as_non_null (local.get $q)))
    (local.set $n (ref.null extern))
    (local.set $q (local.get $p))
    (local.set $p (ref.null extern))
    (drop (call $sleep (i32.const 1)))
    (if (i32.eqz (ref.is_null (local.get $n))) (then (unreachable)))
    (if (i32.eqz (ref.is_null (local.get $p))) (then (unreachable)))
    (if (local.get $sel) (then (return (local.get $b))))
    (drop (call $sleep (i32.const 2)))
    (select (result externref) (local.get $a) (local.get $q) (i32.const 1)))

  ;; anyref from JS (internalized), kept across a sleep and returned.
  (func (export "any_js") (param $a anyref) (result anyref) (local $l anyref)
    (local.set $l (local.get $a))
    (local.set $a (ref.null any))
    (drop (call $sleep (i32.const 3)))
    (local.get $l))

  ;; funcref, a non-nullable typed function reference and a nullable one, all called through call_ref after
  ;; the sleep; the last callee sleeps itself inside the call_ref (two i32 results wait below it).
  (func (export "funcs") (param $x i32) (param $k i32) (result i32)
    (local $f funcref) (local $g (ref $fn)) (local $h (ref null $fn))
    (local.set $f (ref.func $double))
    (local.set $g (select (result (ref $fn)) (ref.func $triple) (ref.func $double) (local.get $k)))
    (local.set $h (ref.func $sleepy))
    (local.set $x (i32.add (local.get $x) (call $sleep (local.get $x))))
    (i32.add
      (call_ref $fn (local.get $x) (ref.cast (ref $fn) (local.get $f)))
      (i32.add (call_ref $fn (local.get $x) (local.get $g))
               (call_ref $fn (local.get $x) (local.get $h)))))

  ;; A typed function reference as a parameter (from JS: an exported function), called after a sleep.
  (func (export "call_param") (param $f (ref null $fn)) (param $x i32) (result i32) (local $l (ref $fn))
    (local.set $l (ref.as_non_null (local.get $f)))
    (local.set $f (ref.null $fn))
    (call_ref $fn (call $sleep (local.get $x)) (local.get $l)))
  (func (export "double") (type $fn) (i32.mul (local.get 0) (i32.const 2)))

  ;; anyref, eqref, i31ref (nullable and not), structs (aliased, nested, with a non-nullable field), an array,
  ;; and a null anyref across two sleeps, with mutations between them. Returns a bit per check (all: 0x3ff).
  (func (export "gc") (param $x i32) (result i32)
    (local $any anyref) (local $eq eqref) (local $i31 i31ref) (local $i31nn (ref i31))
    (local $s (ref $pt)) (local $s2 (ref null $pt)) (local $arr (ref $arr)) (local $anyS anyref)
    (local $nul anyref) (local $box (ref null $box)) (local $m i32)
    (local.set $s (struct.new $pt (local.get $x) (ref.null $pt)))
    (local.set $s2 (struct.new $pt (i32.const 7) (local.get $s)))
    (local.set $eq (local.get $s))
    (local.set $anyS (local.get $s2))
    (local.set $any (ref.i31 (i32.const -5)))
    (local.set $i31 (ref.i31 (i32.add (local.get $x) (i32.const 1))))
    (local.set $i31nn (ref.i31 (i32.const 0x3fffffff)))
    (local.set $arr (array.new $arr (local.get $x) (i32.const 4)))
    (local.set $box (struct.new $box (local.get $s)))
    (drop (call $sleep (i32.const 1)))
    (struct.set $pt 0 (local.get $s) (i32.const 1000))
    (array.set $arr (local.get $arr) (i32.const 2) (i32.const 50))
    (drop (call $sleep (i32.const 2)))
    (local.set $m (ref.eq (local.get $eq) (local.get $s)))
    (local.set $m (i32.or (local.get $m) (i32.shl (i32.eq (struct.get $pt 0 (ref.cast (ref $pt) (local.get $eq))) (i32.const 1000)) (i32.const 1))))
    (local.set $m (i32.or (local.get $m) (i32.shl (ref.eq (struct.get $pt 1 (ref.cast (ref $pt) (local.get $anyS))) (local.get $s)) (i32.const 2))))
    (local.set $m (i32.or (local.get $m) (i32.shl (i32.eq (i31.get_s (ref.cast (ref i31) (local.get $any))) (i32.const -5)) (i32.const 3))))
    (local.set $m (i32.or (local.get $m) (i32.shl (i32.eq (i31.get_s (local.get $i31)) (i32.add (local.get $x) (i32.const 1))) (i32.const 4))))
    (local.set $m (i32.or (local.get $m) (i32.shl (i32.eq (i31.get_s (local.get $i31nn)) (i32.const 0x3fffffff)) (i32.const 5))))
    (local.set $m (i32.or (local.get $m) (i32.shl
      (i32.and (i32.and (i32.eq (array.get $arr (local.get $arr) (i32.const 2)) (i32.const 50))
                        (i32.eq (array.len (local.get $arr)) (i32.const 4)))
               (i32.eq (array.get $arr (local.get $arr) (i32.const 0)) (local.get $x)))
      (i32.const 6))))
    (local.set $m (i32.or (local.get $m) (i32.shl (ref.is_null (local.get $nul)) (i32.const 7))))
    (local.set $m (i32.or (local.get $m) (i32.shl (ref.eq (struct.get $box 0 (local.get $box)) (local.get $s)) (i32.const 8))))
    (local.set $m (i32.or (local.get $m) (i32.shl (ref.test (ref $pt) (local.get $anyS)) (i32.const 9))))
    (local.get $m))

  ;; exnref locals, nullable and not: caught by catch_all_ref, kept across a sleep, rethrown to read them.
  (func (export "exns") (param $x i32) (result i32) (local $e (ref exn)) (local $n exnref) (local $z exnref)
    (local.set $e
      (block $h (result (ref exn))
        (try_table (catch_all_ref $h) (throw $ei (local.get $x)))
        (unreachable)))
    (local.set $n
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $ei (i32.mul (local.get $x) (i32.const 10))))
        (unreachable)))
    (drop (call $sleep (i32.const 1)))
    (if (i32.eqz (ref.is_null (local.get $z))) (then (unreachable)))
    (i32.add
      (block $c (result i32) (try_table (catch $ei $c) (throw_ref (local.get $e))) (unreachable))
      (block $c (result i32) (try_table (catch $ei $c) (throw_ref (local.get $n))) (unreachable))))

  ;; A tag with an externref payload caught with catch: the try body sleeps before throwing; the payload
  ;; stays on the operand stack below another sleep (the next operand) and is returned.
  (func $first_extern (param $e externref) (param $x i32) (result externref) (local.get $e))
  (func (export "tag_extern") (param $v externref) (param $x i32) (result externref)
    (call $first_extern
      (block $h (result externref)
        (try_table (catch $ex $h)
          (drop (call $sleep (local.get $x)))
          (throw $ex (local.get $v)))
        (unreachable))
      (call $sleep (i32.const 2))))

  ;; A non-nullable struct payload on the stack below a sleep; then catch_ref's payload and (ref exn) kept in
  ;; locals across a sleep, the exnref rethrown and the payload caught again compared by identity. (That
  ;; try body does not sleep: a (ref exn) block result around a sleeping body is refused, see BLOCK_REF_EXN.)
  (func $pt_plus (param $s (ref $pt)) (param $x i32) (result i32)
    (i32.add (struct.get $pt 0 (local.get $s)) (local.get $x)))
  (global $kept_pt (mut (ref null $pt)) (ref.null $pt))
  (global $kept_exn (mut exnref) (ref.null exn))
  (func $keep_pt_exn (param $s (ref $pt)) (param $e (ref exn))
    (global.set $kept_pt (local.get $s))
    (global.set $kept_exn (local.get $e)))
  (func (export "tag_struct") (param $x i32) (result i32) (local $s (ref null $pt)) (local $e exnref) (local $r i32)
    (local.set $r
      (call $pt_plus
        (block $h (result (ref $pt))
          (try_table (catch $exs $h)
            (throw $exs (struct.new $pt (call $sleep (local.get $x)) (ref.null $pt))))
          (unreachable))
        (call $sleep (i32.const 5))))
    (call $keep_pt_exn
      (block $h (result (ref $pt) (ref exn))
        (try_table (catch_ref $exs $h)
          (throw $exs (struct.new $pt (i32.const 106) (ref.null $pt))))
        (unreachable)))
    (local.set $s (global.get $kept_pt))
    (local.set $e (global.get $kept_exn))
    (global.set $kept_pt (ref.null $pt))
    (global.set $kept_exn (ref.null exn))
    (drop (call $sleep (i32.const 7)))
    (i32.add
      (i32.mul (local.get $r) (i32.const 1000))
      (i32.add
        (i32.mul (struct.get $pt 0 (local.get $s)) (i32.const 10))
        (ref.eq
          (local.get $s)
          (block $c (result (ref $pt)) (try_table (catch $exs $c) (throw_ref (local.get $e))) (unreachable))))))

  ;; A struct passed as a br_if value while the condition sleeps.
  (func (export "br_value") (param $x i32) (result i32) (local $s (ref null $pt))
    (local.set $s (struct.new $pt (local.get $x) (ref.null $pt)))
    (struct.get $pt 0
      (ref.cast (ref $pt)
        (block $b (result anyref)
          (drop (br_if $b (local.get $s) (call $sleep (local.get $x))))
          (ref.i31 (i32.const 0))))))

  ;; Non-nullable results with stand-ins (what an unwinding function returns): (ref $pt) (defaultable
  ;; fields), (ref any), (ref extern), (ref $arr), (ref i31), (ref eq).
  (func $mk_pt (param $x i32) (result (ref $pt)) (struct.new $pt (call $sleep (local.get $x)) (ref.null $pt)))
  (func $mk_any (param $x i32) (result (ref any)) (ref.i31 (call $sleep (local.get $x))))
  (func $mk_extern (param $e externref) (result (ref extern))
    (drop (call $sleep (i32.const 1)))
    (ref.as_non_null (local.get $e)))
  (func $mk_arr (param $x i32) (result (ref $arr)) (array.new $arr (call $sleep (local.get $x)) (i32.const 3)))
  (func $mk_i31 (param $x i32) (result (ref i31)) (ref.i31 (call $sleep (local.get $x))))
  (func $mk_eq (param $x i32) (result (ref eq)) (struct.new $pt (call $sleep (local.get $x)) (ref.null $pt)))
  (func $results (export "results") (param $x i32) (param $e externref) (result externref)
    (local $sum i32)
    (local.set $sum (struct.get $pt 0 (call $mk_pt (local.get $x))))
    (local.set $sum (i32.add (local.get $sum) (i31.get_s (ref.cast (ref i31) (call $mk_any (i32.const 1))))))
    (local.set $sum (i32.add (local.get $sum) (array.get $arr (call $mk_arr (i32.const 2)) (i32.const 2))))
    (local.set $sum (i32.add (local.get $sum) (i31.get_s (call $mk_i31 (i32.const 3)))))
    (local.set $sum (i32.add (local.get $sum) (struct.get $pt 0 (ref.cast (ref $pt) (call $mk_eq (i32.const 4))))))
    (i32.store (i32.const 0) (local.get $sum))
    (call $mk_extern (local.get $e))))`

// A function on the unwinding path whose result type has no stand-in value: it leaves by throwing the
// rewrite's private tag, which its caller's call site catches (see unwind-throw.ts).
const NO_STANDIN_EXN = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $t (param i32))
  (func $catch_one (param $x i32) (result (ref exn))
    (drop (call $sleep (local.get $x)))
    (block $h (result (ref exn))
      (try_table (catch_all_ref $h) (throw $t (local.get $x)))
      (unreachable)))
  (func (export "main") (param $x i32) (result i32)
    (block $c (result i32)
      (try_table (catch $t $c) (throw_ref (call $catch_one (local.get $x))))
      (unreachable))))`

// (ref none) has no value at all: $never cannot return normally either. It sleeps, then throws $done
// with the sum, which its callers catch. Reached directly (main), through call_ref (via_ref, also with
// the callee in a table: via_table) and from JS (exported as "never": through a wrapper returning a
// nullable result while unwinding).
const NO_VALUE_AT_ALL = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (type $ft (func (param i32) (result (ref none))))
  (tag $done (export "done") (param i32))
  (table 1 funcref)
  (elem (i32.const 0) func $never)
  (func $never (export "never") (type $ft)
    (local $keep i32)
    (local.set $keep (i32.mul (local.get 0) (i32.const 10)))
    (throw $done (i32.add (call $sleep (local.get 0)) (local.get $keep))))
  (func (export "main") (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $done $h) (drop (call $never (local.get $x))))
      (i32.const -1)))
  (func (export "via_ref") (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $done $h) (drop (call_ref $ft (local.get $x) (ref.func $never))))
      (i32.const -1)))
  (func (export "via_table") (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $done $h) (drop (call_indirect (type $ft) (local.get $x) (i32.const 0))))
      (i32.const -1))))`

// Unwinding through $pick_fn needs some (ref $fn) to return: $inc is one.
const NO_STANDIN_FUNC = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (type $fn (func (param i32) (result i32)))
  (elem declare func $inc)
  (func $inc (type $fn) (i32.add (local.get 0) (i32.const 1)))
  (func $pick_fn (param $x i32) (result (ref $fn))
    (drop (call $sleep (local.get $x)))
    (ref.func $inc))
  (func (export "main") (param $x i32) (result i32)
    (call_ref $fn (local.get $x) (call $pick_fn (local.get $x)))))`

// The same kind of function, never on an unwinding path: fine (its callers still unwind around it).
const NO_STANDIN_OFF_PATH = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (type $fn (func (param i32) (result i32)))
  (tag $t (param i32))
  (elem declare func $inc)
  (func $inc (type $fn) (i32.add (local.get 0) (i32.const 1)))
  (func $catch_one (param $x i32) (result (ref exn))
    (block $h (result (ref exn))
      (try_table (catch_all_ref $h) (throw $t (local.get $x)))
      (unreachable)))
  (func $pick_fn (result (ref $fn)) (ref.func $inc))
  (func $main (export "main") (param $x i32) (result i32) (local $e (ref exn))
    (local.set $e (call $catch_one (local.get $x)))
    (local.set $x (call $sleep (local.get $x)))
    (i32.add
      (call_ref $fn (local.get $x) (call $pick_fn))
      (block $c (result i32)
        (try_table (catch $t $c) (throw_ref (local.get $e)))
        (unreachable)))))`

// A block yielding a non-nullable exnref around a try body that sleeps.
const BLOCK_REF_EXN = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $t (param i32))
  (func (export "main") (param $x i32) (result i32) (local $e exnref)
    (local.set $e
      (block $h (result (ref exn))
        (try_table (catch_all_ref $h)
          (throw $t (call $sleep (local.get $x))))
        (unreachable)))
    (block $c (result i32)
      (try_table (catch $t $c) (throw_ref (local.get $e)))
      (unreachable))))`

describe.each(LEVELS)('optimize %s', optimize => {
  it('externref locals and overwritten parameters keep their JS values (identity)', async () => {
    const { binary } = await build(watAll(REFS), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: sleeper((v: number) => v).fn } }, DRIVER)
    const a = { a: 1 }
    const b = ['b']
    expect(await d.callWithStats('externs', a, b, 1)).toEqual({ result: b, unwinds: 1 })
    expect(await d.call('externs', a, b, 1)).toBe(b)
    expect(await d.call('externs', a, b, 0)).toBe(a)
    const sym = Symbol('s')
    expect(await d.call('externs', sym, 'str', 1)).toBe('str')
    expect(await d.call('externs', undefined, 42, 0)).toBe(undefined)
    const f = (): void => {}
    expect(await d.callWithStats('externs', f, 1.5, 0)).toEqual({ result: f, unwinds: 2 })
    // anyref from JS: objects come back as themselves, small integers as numbers.
    const o = { o: true }
    expect(await d.call('any_js', o)).toBe(o)
    expect(await d.call('any_js', 12)).toBe(12)
    expect(await d.call('any_js', null)).toBe(null)
    expect(d.control.asyncify_get_state()).toBe(STATE_NORMAL)
    // The references went through the slot tables.
    expect(typeof d.exports.asyncify_release_refs).toBe('function')
  })

  it('funcref and typed function references: call_ref after resuming, and a call_ref that sleeps', async () => {
    const { binary } = await build(watAll(REFS), { optimize })
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    // x = 3 + sleep(3) = 106; double(106) + triple|double(106) + sleepy(106) = sleep(106) + 1 = 207
    expect(await d.callWithStats('funcs', 3, 1)).toEqual({ result: 212 + 318 + 207, unwinds: 2 })
    expect(await d.callWithStats('funcs', 3, 0)).toEqual({ result: 212 + 212 + 207, unwinds: 2 })
    expect(sleep.calls.map(c => c[0])).toEqual([3, 106, 3, 106])
    expect(await d.callWithStats('call_param', d.exports.double, 5)).toEqual({ result: 210, unwinds: 1 })
    await expect(d.call('call_param', null, 5)).rejects.toThrow(WebAssembly.RuntimeError)
  })

  it('anyref, eqref, i31ref, structs and arrays, nullable and not, keep identity and contents', async () => {
    const { binary } = await build(watAll(REFS), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: sleeper((v: number) => v).fn } }, DRIVER)
    expect(await d.callWithStats('gc', 9)).toEqual({ result: 0x3ff, unwinds: 2 })
    expect(await d.callWithStats('gc', -3)).toEqual({ result: 0x3ff, unwinds: 2 })
  })

  it('exnref locals, nullable and non-nullable', async () => {
    const { binary } = await build(watAll(REFS), { optimize })
    const d = await instantiateAsyncified(binary, { env: { sleep: sleeper((v: number) => v).fn } }, DRIVER)
    expect(await d.callWithStats('exns', 4)).toEqual({ result: 44, unwinds: 1 })
  })

  it('reference payloads at catch targets, on the stack across a sleep; a br_if value', async () => {
    const { binary } = await build(watAll(REFS), { optimize })
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
    const payload = new Map([[1, 2]])
    expect(await d.callWithStats('tag_extern', payload, 1)).toEqual({ result: payload, unwinds: 2 })
    expect(await d.call('tag_extern', payload, 1)).toBe(payload)
    // r = (sleep(7) = 107) + sleep(5) = 212; payload 106, same identity after the rethrow
    expect(await d.callWithStats('tag_struct', 7)).toEqual({ result: 212_000 + 1060 + 1, unwinds: 3 })
    expect(await d.callWithStats('br_value', 8)).toEqual({ result: 8, unwinds: 1 })
  })

  it('non-nullable reference results of functions that unwind (stand-ins while unwinding)', async () => {
    const result = await build(watAll(REFS), { optimize })
    if (optimize === 0)
      expect(instrumentedNames(result)).toEqual(
        expect.arrayContaining(['mk_pt', 'mk_any', 'mk_extern', 'mk_arr', 'mk_i31', 'mk_eq', 'results']),
      )
    const sleep = sleeper((v: number) => v + 100)
    const d = await instantiateAsyncified(result.binary, { env: { sleep: sleep.fn } }, DRIVER)
    const e = { e: 'extern' }
    expect(await d.callWithStats('results', 10, e)).toEqual({ result: e, unwinds: 6 })
    expect(new DataView(d.memory.buffer).getInt32(0, true)).toBe(110 + 101 + 102 + 103 + 104)
    await expect(d.call('results', 10, null)).rejects.toThrow(WebAssembly.RuntimeError)
  })

  it('a function returning (ref exn) or (ref $fn) never on an unwinding path is fine', async () => {
    const result = await build(watAll(NO_STANDIN_OFF_PATH), { optimize })
    if (optimize === 0) expect(instrumentedNames(result)).toEqual(['main'])
    const d = await instantiateAsyncified(
      result.binary,
      { env: { sleep: sleeper((v: number) => v * 2).fn } },
      DRIVER,
    )
    // x = sleep(5) = 10; inc(10) + payload 5
    expect(await d.callWithStats('main', 5)).toEqual({ result: 16, unwinds: 1 })
  })

  // A block of type (result (ref exn)) around a catch_all_ref whose body sleeps — the common shape of a
  // caught exception: a rewind passing through the block leaves it by a branch, needing no stand-in exnref.
  it('a (block (result (ref exn))) around a try body that sleeps', async () => {
    const { binary } = await build(watAll(BLOCK_REF_EXN), { optimize })
    const d = await instantiateAsyncified(
      binary,
      { env: { sleep: sleeper((v: number) => v + 1).fn } },
      DRIVER,
    )
    expect(await d.callWithStats('main', 5)).toEqual({ result: 6, unwinds: 1 })
  })
})

describe('results without a stand-in value', () => {
  for (const optimize of [0, 1] as const) {
    it(`a function returning (ref exn) on an unwinding path leaves by throwing (optimize ${optimize})`, async () => {
      const { binary } = await build(watAll(NO_STANDIN_EXN), { optimize })
      const d = await instantiateAsyncified(binary, { env: { sleep: sleeper((v: number) => v).fn } }, DRIVER)
      expect(await d.callWithStats('main', 5)).toEqual({ result: 5, unwinds: 1 })
      expect(d.control.asyncify_get_state()).toBe(0)
    })

    it(`(ref none): reached directly, through call_ref and call_indirect, and from JS (optimize ${optimize})`, async () => {
      const { binary, report } = await build(watAll(NO_VALUE_AT_ALL), { optimize })
      expect(report.suspendingExports).toEqual(
        expect.arrayContaining(['never', 'main', 'via_ref', 'via_table']),
      )
      const sleep = sleeper((v: number) => v + 1)
      const d = await instantiateAsyncified(binary, { env: { sleep: sleep.fn } }, DRIVER)
      for (const name of ['main', 'via_ref', 'via_table'])
        expect(await d.callWithStats(name, 4), name).toEqual({ result: 45, unwinds: 1 })
      // From JS: the unwind returns (a null) through the wrapper; the rewound call throws $done.
      const done = d.exports.done as WebAssembly.Tag
      const thrown = await d.call('never', 2).then(
        () => null,
        (e: unknown) => e,
      )
      expect(thrown).toBeInstanceOf(WebAssembly.Exception)
      expect((thrown as WebAssembly.Exception).is(done)).toBe(true)
      expect((thrown as WebAssembly.Exception).getArg(done, 0)).toBe(23)
      expect(sleep.calls).toEqual([[4], [4], [4], [2]])
      expect(d.control.asyncify_get_state()).toBe(0)
    })
  }

  it('a function returning a typed function reference on an unwinding path returns a function of that type while unwinding', async () => {
    const { binary } = await asyncify(watAll(NO_STANDIN_FUNC))
    expect(WebAssembly.validate(binary)).toBe(true)
    const d = await instantiateAsyncified(binary, { env: { sleep: sleeper((v: number) => v).fn } }, DRIVER)
    expect(await d.callWithStats('main', 5)).toEqual({ result: 6, unwinds: 1 })
  })

  it('the same module is accepted when the import that made it unwind may not suspend', async () => {
    const { report } = await asyncify(watAll(NO_STANDIN_EXN), { imports: [] })
    expect(report.instrumented).toEqual([])
  })
})

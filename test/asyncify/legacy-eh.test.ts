// Our translation of legacy exception handling (packages/core/src/legacy-eh.ts), on hand-written WAT
// compiled as written (wabt): each module runs in Node 26 under legacy EH as the original, translated by
// ours, and translated by binaryen, and every export call must behave the same in all three: result,
// exception (tag and payload, a JS error by identity), trap, and what it logged. Then: the structure the
// translation promises (exnref locals, clause kinds, untouched functions keep their bytes), nesting
// 100,000 deep, errors, the whole rewrite with suspensions in handlers, and vips.wasm translated alone.
import { readFileSync } from 'node:fs'
import { asyncify } from '@unplugin-asyncify/core'
import {
  decode,
  decodeFunction,
  encode,
  type FuncBody,
  type Instr,
  opByName,
  ref,
} from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { firstLegacyEhBody, translateLegacyExceptions } from '../../packages/core/src/legacy-eh.js'
import { instantiateAsyncified } from '../helpers/asyncify-driver.js'
import { binaryenValidate, features } from '../helpers/binaryen.js'
import { vipsWasmPath } from '../helpers/corpus.js'
import {
  describeError,
  legacyWat,
  runCalls,
  sharedEnv,
  show,
  tagsOf,
  translateBinaryen,
  translateOurs,
} from '../helpers/legacy-eh.js'
import { DRIVER } from './shared.js'

const BINARYEN_FEATURES =
  features.MVP |
  features.MutableGlobals |
  features.ExceptionHandling |
  features.ReferenceTypes |
  features.Multivalue

/** Imports and tags every module below shares, and `$throw`, which throws according to its argument. */
const PRELUDE = `
  (import "env" "log" (func $log (param i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "tag" (tag $imported (param i32)))
  (tag $e (export "e") (param i32))
  (tag $f (export "f") (param i32))
  (tag $none (export "none"))
  (tag $pair (export "pair") (param i32 i64))
  ;; 0 returns; 1 $e(10); 2 $f(20); 3 $none; 4 $pair(40, 41); 5 a JS error; 6 $imported(60); 7 traps
  (func $throw (param $x i32)
    (if (i32.eq (local.get $x) (i32.const 1)) (then (throw $e (i32.const 10))))
    (if (i32.eq (local.get $x) (i32.const 2)) (then (throw $f (i32.const 20))))
    (if (i32.eq (local.get $x) (i32.const 3)) (then (throw $none)))
    (if (i32.eq (local.get $x) (i32.const 4)) (then (throw $pair (i32.const 40) (i64.const 41))))
    (if (i32.eq (local.get $x) (i32.const 5)) (then (call $fail (i32.const 1))))
    (if (i32.eq (local.get $x) (i32.const 6)) (then (throw $imported (i32.const 60))))
    (if (i32.eq (local.get $x) (i32.const 7)) (then (unreachable))))`

const CATCHES = `
  ;; catch $tag with payloads (one a pair), the first matching clause wins, others propagate.
  (func (export "catches") (param $x i32) (result i32)
    (try (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e (i32.add (i32.const 100)))
      (catch $pair (drop) (i32.add (i32.const 200)))
      (catch $f)
      (catch $imported (i32.add (i32.const 300)))
      (catch $e (drop) (i32.const -100))))
  (func (export "catch_all") (param $x i32) (result i32)
    (try (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e (call $log) (i32.const 100))
      (catch_all (i32.const 999))))
  ;; A catch body is outside its own try: what it throws goes to the try around.
  (func (export "throw_in_catch") (param $x i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (call $throw (local.get $x)) (i32.const -1))
          (catch $e (throw $f (i32.add (i32.const 1))))
          (catch $f (drop) (i32.const 5))
          (catch_all (throw $none))))
      (catch $f (i32.add (i32.const 1000)))))
  ;; A try without catches is a block: branches to it and exceptions through it.
  (func (export "no_catch") (param $x i32) (result i32)
    (try $t (result i32)
      (do
        (drop (br_if $t (i32.const 7) (i32.eqz (local.get $x))))
        (call $throw (local.get $x))
        (i32.const 8))))
  ;; Three levels; each catch_all logs, the inner two rethrow to the next.
  (func (export "nested") (param $x i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do
            (try (result i32)
              (do (call $throw (local.get $x)) (i32.const -1))
              (catch_all (call $log (i32.const 3)) (rethrow 0))))
          (catch $e (call $log) (i32.const 2))
          (catch_all (call $log (i32.const 2)) (rethrow 0))))
      (catch_all (call $log (i32.const 1)) (i32.const 1))))`

const RETHROWS = `
  ;; rethrow 0 from catch $tag and catch_all; a JS error keeps its identity.
  (func (export "rethrow_catch") (param $x i32) (result i32)
    (try (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e (call $log) (rethrow 0))
      (catch $pair (drop) (call $log) (rethrow 0))
      (catch_all (call $log (i32.const 7)) (rethrow 0))))
  ;; Which exception: a try in the catch body catches another one; rethrow $outer is the outer's.
  (func (export "rethrow_outer") (param $x i32) (result i32)
    (try $outer (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch_all
        (try $inner (result i32)
          (do (throw $f (i32.const 77)))
          (catch $f
            (call $log)
            (if (i32.eq (local.get $x) (i32.const 1)) (then (rethrow $outer)))
            (if (i32.eq (local.get $x) (i32.const 2)) (then (rethrow $inner)))
            (if (i32.eq (local.get $x) (i32.const 5)) (then (rethrow $outer)))
            (i32.const 5))))))
  ;; rethrow from inside blocks, a loop and an if in the catch body (its depth counts them all).
  (func (export "rethrow_deep") (param $x i32) (result i32)
    (try $t (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e
        (drop)
        (block $b
          (loop $l
            (if (i32.gt_u (local.get $x) (i32.const 0)) (then (rethrow $t)))))
        (i32.const 3))
      (catch_all (i32.const 4))))
  ;; A loop around a try whose catch goes round again twice, then rethrows the third exception.
  (func (export "catch_loop") (param $x i32) (result i32) (local $n i32)
    (loop $again
      (try $t
        (do
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (throw $e (local.get $n)))
        (catch $e
          (call $log)
          (br_if $again (i32.lt_u (local.get $n) (i32.const 3)))
          (if (local.get $x) (then (rethrow $t))))))
    (local.get $n))
  ;; Two sibling trys, then a rethrow from a catch nested in a catch (of both levels, by x).
  (func (export "rethrow_siblings") (param $x i32) (result i32)
    (try (do (throw $e (i32.const 1))) (catch $e (call $log) (if (i32.eq (local.get $x) (i32.const 1)) (then (rethrow 1)))))
    (try (do (throw $e (i32.const 2))) (catch $e (call $log) (if (i32.eq (local.get $x) (i32.const 2)) (then (rethrow 1)))))
    (try $a (result i32)
      (do (throw $e (i32.const 3)))
      (catch $e
        (call $log)
        (try $b (result i32)
          (do (throw $f (i32.const 4)))
          (catch $f
            (call $log)
            (if (i32.eq (local.get $x) (i32.const 3)) (then (rethrow $a)))
            (if (i32.eq (local.get $x) (i32.const 4)) (then (rethrow $b)))
            (i32.const 9))))))`

const DELEGATES = `
  ;; delegate to an outer try: the middle try's catch_all is skipped.
  (func (export "delegate_outer") (param $x i32) (result i32)
    (try $outer (result i32)
      (do
        (try (result i32)
          (do
            (try (result i32)
              (do (call $throw (local.get $x)) (i32.const -1))
              (delegate $outer)))
          (catch_all (i32.const -2))))
      (catch $e (i32.add (i32.const 100)))))
  ;; delegate to the caller (the function's label): the outer catch_all is skipped too.
  (func (export "delegate_caller") (param $x i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (call $throw (local.get $x)) (i32.const -1))
          (delegate 1)))
      (catch_all (i32.const -2))))
  ;; delegate to a block in a try's body: that try's catches apply.
  (func (export "delegate_block") (param $x i32) (result i32)
    (try (result i32)
      (do
        (block $b (result i32)
          (try (result i32)
            (do
              (try (result i32)
                (do (call $throw (local.get $x)) (i32.const -1))
                (delegate $b)))
            (catch_all (i32.const -2)))))
      (catch $e (i32.add (i32.const 100)))))
  ;; delegate from a catch body to its own try's label: the handlers around that try apply.
  (func (export "delegate_from_catch") (param $x i32) (result i32)
    (try $outer (result i32)
      (do
        (try $t (result i32)
          (do (throw $f (i32.const 1)))
          (catch $f
            (drop)
            (try (result i32)
              (do (call $throw (local.get $x)) (i32.const -1))
              (delegate $t)))
          (catch_all (i32.const -3))))
      (catch $e (i32.add (i32.const 100)))
      (catch_all (i32.const 999))))
  ;; delegate to a loop's label (its label is its start: the landing needs a block of its own).
  (func (export "delegate_loop") (param $x i32) (result i32) (local $n i32)
    (try (result i32)
      (do
        (loop $l (result i32)
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $n) (i32.const 3)))
          (try (result i32)
            (do (call $throw (local.get $x)) (local.get $n))
            (delegate $l))))
      (catch $e (i32.add (i32.const 100)))))
  ;; A chain: delegate into a try that delegates on, past a catch_all.
  (func (export "delegate_chain") (param $x i32) (result i32)
    (try $outer (result i32)
      (do
        (try (result i32)
          (do
            (try $d1 (result i32)
              (do
                (try (result i32)
                  (do (call $throw (local.get $x)) (i32.const -1))
                  (delegate $d1)))
              (delegate $outer)))
          (catch_all (i32.const -2))))
      (catch $e (i32.add (i32.const 100)))))
  ;; delegate to an if's label, from the else arm: the try around the if catches.
  (func (export "delegate_if") (param $x i32) (result i32)
    (try (result i32)
      (do
        (if $i (result i32) (i32.eqz (local.get $x))
          (then (i32.const 50))
          (else
            (try (result i32)
              (do
                (try (result i32)
                  (do (call $throw (local.get $x)) (i32.const -1))
                  (delegate $i)))
              (catch_all (i32.const -2))))))
      (catch $e (i32.add (i32.const 100)))
      (catch $f (i32.add (i32.const 200)))))
  ;; Two delegates into one part share its landing; a try delegating to the function at its top level.
  (func (export "delegate_twice") (param $x i32) (result i32)
    (try $t (result i32)
      (do
        (try (do (call $throw (i32.sub (local.get $x) (i32.const 1)))) (delegate $t))
        (try (result i32)
          (do
            (try (do (call $throw (local.get $x))) (delegate $t))
            (i32.const -1))
          (catch_all (i32.const -2))))
      (catch $e (i32.add (i32.const 100)))
      (catch $f (i32.add (i32.const 200)))))
  (func (export "delegate_top") (param $x i32) (result i32)
    (try (do (call $throw (local.get $x))) (delegate 0))
    (i32.const 1))`

const PARAMS_AND_BRANCHES = `
  (type $i_i (func (param i32) (result i32)))
  ;; A try with a param: its body starts with it, its catches do not.
  (func (export "param") (param $x i32) (result i32)
    (local.get $x)
    (try (param i32) (result i32)
      (do (call $throw) (i32.const -1))
      (catch $e (i32.add (i32.const 100)))
      (catch_all (i32.const 999))))
  ;; Two params, two results.
  (func (export "multi") (param $x i32) (result i32 i32)
    (i32.const 3) (local.get $x)
    (try (param i32 i32) (result i32 i32)
      (do (call $throw) (i32.const 1))
      (catch $e (i32.const 2))
      (catch $pair (i32.wrap_i64))
      (catch_all (i32.const 8) (i32.const 9))))
  ;; Delegates into parts with params: a try's body and a block's.
  (func (export "param_delegate") (param $x i32) (result i32)
    (local.get $x)
    (try $t (type $i_i)
      (do
        (block $b (param i32) (result i32)
          (try (param i32) (result i32)
            (do (call $throw) (i32.const -1))
            (delegate $b))))
      (catch $e (i32.add (i32.const 100)))
      (catch $f (i32.add (i32.const 200)))))
  ;; Catch bodies that branch out: to an outer block, to the try's own label, return, br_table.
  (func (export "branch_out") (param $x i32) (result i32)
    (block $out (result i32)
      (try $t (result i32)
        (do
          (drop (br_if $t (i32.const 50) (i32.eqz (local.get $x))))
          (call $throw (local.get $x))
          (i32.const -1))
        (catch $e (drop) (br $out (i32.const 1000)))
        (catch $f (drop) (br $t (i32.const 2000)))
        (catch $none (return (i32.const 3000)))
        (catch_all
          (block $a (result i32)
            (block $b (result i32)
              (br_table $a $b $t (i32.const 7) (i32.sub (local.get $x) (i32.const 4))))
            (i32.add (i32.const 10)))))
      (i32.add (i32.const 1))))`

const MODULES: [string, string, string[]][] = [
  [
    'catch, catch_all, no catch, nested',
    CATCHES,
    ['catches', 'catch_all', 'throw_in_catch', 'no_catch', 'nested'],
  ],
  ['rethrow', RETHROWS, ['rethrow_catch', 'rethrow_outer', 'rethrow_deep', 'catch_loop', 'rethrow_siblings']],
  [
    'delegate',
    DELEGATES,
    [
      'delegate_outer',
      'delegate_caller',
      'delegate_block',
      'delegate_from_catch',
      'delegate_loop',
      'delegate_chain',
      'delegate_if',
      'delegate_twice',
      'delegate_top',
    ],
  ],
  ['params, results and branches', PARAMS_AND_BRANCHES, ['param', 'multi', 'param_delegate', 'branch_out']],
]

const moduleText = (body: string, imports = ''): string => `(module ${imports}\n${PRELUDE}\n${body})`

/** Every export called with every $throw argument (0-7). */
function callsOf(exports: string[]): [string, ...number[]][] {
  return exports.flatMap(name => Array.from({ length: 8 }, (_, x): [string, number] => [name, x]))
}

function legacyLeft(bytes: Uint8Array): boolean {
  const m = decode(bytes, { bodies: 'lazy' })
  return firstLegacyEhBody(m.funcs.map((_, d) => decodeFunction(m, d))) >= 0
}

describe('legacy exception handling translated in our IR behaves like the original', () => {
  const shared = { tag: new WebAssembly.Tag({ parameters: ['i32'] }), jsError: new Error('from JS') }

  it.each(MODULES)('%s', (_, body, exports) => {
    const original = legacyWat(moduleText(body))
    const calls = callsOf(exports)
    const expected = runCalls(original, calls, shared)
    const ours = translateOurs(original)
    expect(ours.translated).toBe(exports.length)
    expect(legacyLeft(ours.binary)).toBe(false)
    expect(WebAssembly.validate(ours.binary)).toBe(true)
    expect(binaryenValidate(ours.binary, BINARYEN_FEATURES)).toBe(true)
    expect(runCalls(ours.binary, calls, shared)).toEqual(expected)
    // binaryen's translation as a second opinion.
    expect(runCalls(translateBinaryen(original, BINARYEN_FEATURES), calls, shared)).toEqual(expected)
    // The calls did throw, catch and rethrow: the comparison is not between nothings.
    const outcomes = new Set(expected.map(c => c.outcome.replace(/\(.*/, '')))
    expect(outcomes.size).toBeGreaterThan(2)
  })
})

// ---------------------------------------------------------------------------------------------------
// What the translation looks like.

const STRUCTURE = `
  (func (export "plain") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  ;; No rethrow: plain catch / catch_all clauses, no exnref local.
  (func (export "no_rethrow") (param $x i32) (result i32)
    (try (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e)
      (catch_all (i32.const 9))))
  ;; Sibling trys that rethrow share one exnref local.
  (func (export "siblings") (param $x i32)
    (try (do (call $throw (local.get $x))) (catch $e (drop) (rethrow 0)))
    (try (do (call $throw (local.get $x))) (catch_all (rethrow 0))))
  ;; A rethrow of each of two nested catches needs two; only the clause that rethrows yields its exnref.
  (func (export "nested") (param $x i32)
    (try $a
      (do (call $throw (local.get $x)))
      (catch $e
        (drop)
        (try $b
          (do (call $throw (local.get $x)))
          (catch_all (rethrow $a))
          ))
      (catch_all
        (try (do (call $throw (local.get $x))) (catch_all (rethrow 0))))))`

const CATCH_NAMES = ['catch', 'catch_ref', 'catch_all', 'catch_all_ref']

/** Per exported function of a translated module: its exnref locals and its try_table clause kinds. */
function shapeOf(bytes: Uint8Array): Record<string, { exnLocals: number; clauses: string[] }> {
  const m = decode(bytes, { bodies: 'lazy' })
  const imported = m.imports.filter(i => i.desc.kind === 'func').length
  const out: Record<string, { exnLocals: number; clauses: string[] }> = {}
  for (const e of m.exports) {
    if (e.kind !== 'func') continue
    const body = decodeFunction(m, e.index - imported)
    const clauses: string[] = []
    const lists: Instr[][] = [body.body]
    while (lists.length > 0) {
      for (const ins of lists.pop() as Instr[]) {
        for (const c of ins.catches ?? []) clauses.push(CATCH_NAMES[c.kind] as string)
        if (ins.body) lists.push(ins.body)
        if (ins.else) lists.push(ins.else)
      }
    }
    out[e.name] = {
      exnLocals: body.locals.filter(t => t === ref('exn', true)).length,
      clauses: clauses.sort(),
    }
  }
  return out
}

describe('the shape of the translation', () => {
  it('exnref locals per depth of catch bodies that rethrow, *_ref clauses only where a rethrow needs them', () => {
    const original = legacyWat(moduleText(STRUCTURE))
    const { binary } = translateOurs(original)
    const shape = shapeOf(binary)
    expect(shape.no_rethrow).toEqual({ exnLocals: 0, clauses: ['catch', 'catch_all'] })
    expect(shape.siblings).toEqual({ exnLocals: 1, clauses: ['catch_all_ref', 'catch_ref'] })
    expect(shape.nested).toEqual({
      exnLocals: 2,
      clauses: ['catch_all', 'catch_all', 'catch_all_ref', 'catch_ref'],
    })
    expect(shape.plain).toEqual({ exnLocals: 0, clauses: [] })
    // And it still behaves.
    const shared = { tag: new WebAssembly.Tag({ parameters: ['i32'] }), jsError: new Error('js') }
    const calls = callsOf(['no_rethrow', 'siblings', 'nested'])
    expect(runCalls(binary, calls, shared)).toEqual(runCalls(original, calls, shared))
  })

  it('functions without legacy exception handling keep their original bytes', () => {
    const original = legacyWat(moduleText(STRUCTURE))
    const before = decode(original, { bodies: 'lazy' })
    const after = decode(translateOurs(original).binary, { bodies: 'lazy' })
    const raw = (m: typeof before) => m.funcs.map(f => Buffer.from(f.raw ?? new Uint8Array()).toString('hex'))
    const [b, a] = [raw(before), raw(after)]
    // $throw (function 0 of the module) and "plain" (1) have no legacy EH; the other three do.
    expect(a.slice(0, 2)).toEqual(b.slice(0, 2))
    expect(a.slice(2).filter((x, i) => x === b[i + 2])).toEqual([])
    expect(translateOurs(original).translated).toBe(3)
  })
})

// ---------------------------------------------------------------------------------------------------
// Deep nesting, and bad input.

const DEEP = 100_000

/**
 * `deep(x)`: DEEP structures nested in each other (catch_all + rethrow 0, delegate to the next one out,
 * a block, in turn) around `$throw(x); i32.const 5`. Built in the IR: no text tool nests that deep.
 */
function deepModule(): Uint8Array<ArrayBuffer> {
  const m = decode(
    legacyWat(moduleText(`(func (export "deep") (param $x i32) (result i32) (i32.const 0))`)),
    {
      bodies: 'eager',
    },
  )
  const body = m.funcs[1]?.body as FuncBody
  const op = (name: string) => opByName(name)
  const i32 = 'i32' as const
  let inner: Instr[] = [
    { op: op('local.get'), local: 0 },
    { op: op('call'), func: 2 },
    { op: op('i32.const'), i32: 5 },
  ]
  for (let k = 0; k < DEEP; k++) {
    const kind = k % 3
    const s: Instr = { op: op(kind === 2 ? 'block' : 'try'), blockType: i32, body: inner }
    if (kind === 0) s.legacyCatches = [{ tag: -1, body: [] }]
    inner = [s]
  }
  // Fix up what needs the enclosing structure: rethrow targets and delegate labels.
  let outer: Instr | FuncBody = body
  body.body = inner
  for (let s: Instr | undefined = inner[0]; s !== undefined; s = s.body?.[0]) {
    if (s.legacyCatches) (s.legacyCatches[0] as { body: Instr[] }).body = [{ op: op('rethrow'), target: s }]
    else if (s.op.name === 'try') s.delegate = outer
    outer = s
    if (s.body?.[0]?.op.name === 'local.get') break
  }
  return encode(m)
}

describe(`nesting ${DEEP.toLocaleString('en-US')} deep`, () => {
  it('is translated without recursion and still behaves', () => {
    const original = deepModule()
    const { binary, translated } = translateOurs(original)
    expect(translated).toBe(1)
    expect(legacyLeft(binary)).toBe(false)
    expect(WebAssembly.validate(binary)).toBe(true)
    const shared = { tag: new WebAssembly.Tag({ parameters: ['i32'] }), jsError: new Error('js') }
    const calls = callsOf(['deep'])
    const expected = runCalls(original, calls, shared)
    expect(expected[0]?.outcome).toBe('returns 5')
    expect(expected[1]?.outcome).toBe('throws e(10)')
    expect(runCalls(binary, calls, shared)).toEqual(expected)
  }, 120_000)
})

describe('bad input', () => {
  /** A module whose function "bad" has the body `make()` builds (in the IR: wabt refuses such code). */
  function badModule(make: (op: typeof opByName) => Instr[]): Uint8Array<ArrayBuffer> {
    const m = decode(
      legacyWat(moduleText(`(func $bad (export "bad") (param $x i32) (result i32) (i32.const 0))`)),
      {
        bodies: 'eager',
      },
    )
    ;(m.funcs[1]?.body as FuncBody).body = [...make(opByName), { op: opByName('i32.const'), i32: 0 }]
    return encode(m)
  }

  it('a rethrow outside a catch of the try it names: an error naming the function and its offset', () => {
    const inBlock = badModule(op => {
      const b: Instr = { op: op('block'), blockType: null, body: [] }
      b.body = [{ op: op('rethrow'), target: b }]
      return [b]
    })
    const inTryBody = badModule(op => {
      const t: Instr = { op: op('try'), blockType: null, body: [], legacyCatches: [{ tag: -1, body: [] }] }
      t.body = [{ op: op('rethrow'), target: t }]
      return [t]
    })
    for (const bytes of [inBlock, inTryBody]) {
      const m = decode(bytes, { bodies: 'lazy' })
      const offset = m.funcs[1]?.rawOffset.toString(16)
      expect(() =>
        translateLegacyExceptions(
          m,
          m.funcs.map((_, d) => decodeFunction(m, d)),
        ),
      ).toThrow(
        new RegExp(
          `function bad \\(body at byte offset 0x${offset}\\): .*rethrow that is not inside a catch`,
        ),
      )
    }
    return expect(asyncify(inBlock)).rejects.toThrow(/function bad .*rethrow/)
  })
})

// ---------------------------------------------------------------------------------------------------
// The whole rewrite: translated, instrumented, suspending inside what the translation made.

const SLEEP = '(import "env" "sleep" (func $sleep (param i32) (result i32)))'
const SUSPENDING = `
  (memory (export "memory") 1)
  ;; A catch body sleeps, then rethrows (the exnref is kept across the suspension).
  (func (export "sleep_rethrow") (param $x i32) (result i32)
    (try $t (result i32)
      (do (call $throw (local.get $x)) (i32.const -1))
      (catch $e (call $log (call $sleep)) (rethrow $t))
      (catch_all (call $log (call $sleep (i32.const 7))) (rethrow $t))))
  ;; The delegating try sleeps before throwing; the exception lands in $outer's body, whose catch sleeps.
  (func (export "sleep_delegate") (param $x i32) (result i32)
    (try $outer (result i32)
      (do
        (try (result i32)
          (do
            (try (result i32)
              (do (drop (call $sleep (local.get $x))) (call $throw (local.get $x)) (i32.const -1))
              (delegate $outer)))
          (catch_all (i32.const -2))))
      (catch $e (call $sleep))
      (catch $f (i32.add (call $sleep (i32.const 1))))))
  ;; A try with a param whose body sleeps; the catch of the try around sleeps too.
  (func (export "sleep_param") (param $x i32) (result i32)
    (try (result i32)
      (do
        (call $sleep (local.get $x))
        (try (param i32) (result i32)
          (do (call $throw (local.get $x)) (i32.const 1) (i32.add))
          (catch $e (call $sleep))))
      (catch_all (call $sleep (i32.const 2)))))`

describe('asyncify on legacy exception handling', () => {
  it('translates with ours, instruments, and suspends in catch bodies and delegate landings', async () => {
    const shared = { tag: new WebAssembly.Tag({ parameters: ['i32'] }), jsError: new Error('js') }
    const original = legacyWat(moduleText(SUSPENDING, SLEEP))
    const calls = callsOf(['sleep_rethrow', 'sleep_delegate', 'sleep_param'])
    let sleeps = 0
    const sleep = (v: number): number => {
      sleeps++
      return v + 100
    }
    const expected = runCalls(original, calls, shared, { sleep })

    const { binary, report } = await asyncify(original)
    expect(report.legacyExceptionsTranslated).toBe(true)
    expect(report.timings.translate).toBeGreaterThan(0)
    expect(legacyLeft(binary)).toBe(false)
    expect(binaryenValidate(binary)).toBe(true)
    const env = sharedEnv(shared, {
      sleep: async (v: number) => {
        await Promise.resolve()
        return v + 100
      },
    })
    const d = await instantiateAsyncified(binary, { env: env.imports }, DRIVER)
    const tags = tagsOf(d.exports, shared)
    const actual = []
    for (const [name, ...args] of calls) {
      env.logs.length = 0
      let outcome: string
      try {
        outcome = `returns ${show(await d.call(name, ...args))}`
      } catch (e) {
        outcome = describeError(e, tags, shared.jsError)
      }
      actual.push({ call: `${name}(${args.join(', ')})`, outcome, logs: [...env.logs] })
    }
    expect(actual).toEqual(expected)
    // Every sleep suspended: in try bodies, catch bodies and the delegate's landing.
    expect(sleeps).toBeGreaterThan(calls.length)
    expect(d.unwinds).toBe(sleeps)
  })
})

// ---------------------------------------------------------------------------------------------------
// A real module: vips.wasm (emscripten C++, legacy EH). vips.test.ts instruments it end to end.

describe('vips.wasm, translated alone', () => {
  it('every function with legacy EH is translated, no other is touched, and V8 compiles the result', async () => {
    const input = new Uint8Array(readFileSync(vipsWasmPath()))
    const before = decode(input, { bodies: 'lazy' })
    const legacy = before.funcs.map((_, d) => firstLegacyEhBody([decodeFunction(before, d)]) === 0)
    const { binary, translated } = translateOurs(input)
    expect(translated).toBe(legacy.filter(Boolean).length)
    expect(translated).toBeGreaterThan(1000)
    expect(legacyLeft(binary)).toBe(false)
    const after = decode(binary, { bodies: 'lazy' })
    const same = after.funcs.map((f, d) =>
      Buffer.from(f.raw as Uint8Array).equals(before.funcs[d]?.raw as Uint8Array),
    )
    expect(same.filter((s, d) => s === legacy[d])).toEqual([])
    await WebAssembly.compile(binary)
  }, 120_000)
})

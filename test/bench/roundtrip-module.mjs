// The round-trip module of the asyncify and runtime suites (asyncify-worker.mjs, runtime-worker.mjs).

/**
 * `run(n)`: n wasm frames of itself, the innermost calling env.sleep; three locals of different types
 * live across the recursive call. Returns 1 + Σ_{k=2..n} 5k.
 */
export const ROUNDTRIP_WAT = `
(module
  (import "env" "sleep" (func $sleep))
  (memory (export "memory") 2)
  (func $run (export "run") (param $n i32) (result i32)
    (local $a i32) (local $b i64) (local $c f64)
    (local.set $a (i32.mul (local.get $n) (i32.const 3)))
    (local.set $b (i64.extend_i32_u (local.get $n)))
    (local.set $c (f64.convert_i32_u (local.get $n)))
    (if (i32.le_u (local.get $n) (i32.const 1))
      (then (call $sleep) (return (i32.const 1))))
    (i32.add
      (call $run (i32.sub (local.get $n) (i32.const 1)))
      (i32.add
        (local.get $a)
        (i32.add (i32.wrap_i64 (local.get $b)) (i32.trunc_f64_u (local.get $c)))))))
`

export function expected(depth) {
  let sum = 1
  for (let k = 2; k <= depth; k++) sum += 5 * k
  return sum
}

;; Panel 2 of the playground: exceptions and suspensions in one module, which binaryen's asyncify cannot
;; instrument (it aborts on try_table and exnref, and cannot unwind out of a catch body). This is the
;; current exception-handling form (try_table, throw_ref, exnref); exceptions-legacy.wat is the same
;; program in the legacy form clang-19's -fwasm-exceptions emits (try/catch/rethrow), which the rewrite
;; translates to this one first. Written in WAT because Debian's wasm32 libc++ has no exception support.
(module
  (import "env" "sleep" (func $sleep (param i32)))
  ;; fetch(url): resolves to the body's length, rejects with an Error when the response is not ok.
  (import "env" "fetch_length" (func $fetch_length (param i32 i32) (result i32)))
  ;; Shows the JS value this module caught (a sync call).
  (import "env" "caught" (func $caught (param externref)))
  ;; WebAssembly.JSTag: catches JS exceptions (here a rejected promise) in wasm, payload the JS value.
  (import "js" "tag" (tag $js (param externref)))
  (memory (export "memory") 1)
  (data (i32.const 64) "data/missing.txt")
  ;; The module's own exception, exported so that JS can read the payload of one it catches.
  (tag $oops (export "oops") (param i32))
  (global $cleanups (mut i32) (i32.const 0))

  (func $throw_after_sleep (param $n i32)
    (call $sleep (i32.const 30))
    (throw $oops (local.get $n)))

  ;; Thrown after the sleep resumed, caught one frame up in wasm: returns the payload.
  (func (export "caught_by_caller") (param $n i32) (result i32)
    (block $handler (result i32)
      (try_table (catch $oops $handler)
        (call $throw_after_sleep (local.get $n)))
      (i32.const -1)))

  ;; The same exception left uncaught: the export's promise rejects with the WebAssembly.Exception.
  (func (export "uncaught") (param $n i32)
    (call $throw_after_sleep (local.get $n)))

  ;; A handler that suspends (a cleanup that awaits), then rethrows the exception it caught: the exnref is
  ;; kept across the suspension (in a table inside the module: exnrefs cannot go to linear memory).
  (func (export "rethrow_after_cleanup") (param $n i32)
    (local $exn exnref)
    (block $handler (result i32 exnref)
      (try_table (catch_ref $oops $handler)
        (call $throw_after_sleep (local.get $n)))
      (return))
    (local.set $exn)
    (drop)
    (call $sleep (i32.const 30))
    (global.set $cleanups (i32.add (global.get $cleanups) (i32.const 1)))
    (throw_ref (local.get $exn)))

  ;; How many cleanups have run to the end.
  (func (export "cleanups") (result i32) (global.get $cleanups))

  ;; A JS promise that rejects, caught in wasm: passes the Error to `caught` and returns -1.
  (func (export "fetch_or_fallback") (result i32)
    (block $rejected (result externref)
      (try_table (catch $js $rejected)
        (return (call $fetch_length (i32.const 64) (i32.const 16))))
      (unreachable))
    (call $caught)
    (i32.const -1))
)

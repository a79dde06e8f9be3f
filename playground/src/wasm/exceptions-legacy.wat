;; exceptions.wat in the legacy exception-handling form (try/catch/rethrow, no exnref), the form clang-19's
;; -fwasm-exceptions emits for C++. Same imports, exports and behaviour. The rewrite translates legacy
;; try/catch to try_table first (packages/core/src/legacy-eh.ts), so that it can unwind out of the catch
;; body of `rethrow_after_cleanup` — the case binaryen's own asyncify cannot handle.
(module
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "fetch_length" (func $fetch_length (param i32 i32) (result i32)))
  (import "env" "caught" (func $caught (param externref)))
  (import "js" "tag" (tag $js (param externref)))
  (memory (export "memory") 1)
  (data (i32.const 64) "data/missing.txt")
  (tag $oops (export "oops") (param i32))
  (global $cleanups (mut i32) (i32.const 0))

  (func $throw_after_sleep (param $n i32)
    (call $sleep (i32.const 30))
    (throw $oops (local.get $n)))

  (func (export "caught_by_caller") (param $n i32) (result i32)
    (try (result i32)
      (do (call $throw_after_sleep (local.get $n)) (i32.const -1))
      (catch $oops)))

  (func (export "uncaught") (param $n i32)
    (call $throw_after_sleep (local.get $n)))

  ;; The catch body suspends, then rethrows: binaryen's asyncify cannot unwind out of a catch body.
  (func (export "rethrow_after_cleanup") (param $n i32)
    (try $t
      (do (call $throw_after_sleep (local.get $n)))
      (catch $oops
        (drop)
        (call $sleep (i32.const 30))
        (global.set $cleanups (i32.add (global.get $cleanups) (i32.const 1)))
        (rethrow $t))))

  (func (export "cleanups") (result i32) (global.get $cleanups))

  (func (export "fetch_or_fallback") (result i32)
    (try (result i32)
      (do (call $fetch_length (i32.const 64) (i32.const 16)))
      (catch $js
        (call $caught)
        (i32.const -1))))
)

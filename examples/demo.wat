;; The example `npm start` runs: a loop that awaits JS promises and catches JS exceptions in the same
;; function. An odd value makes `validate` throw; the handler keeps the caught exception (an exnref)
;; across an asynchronous sleep, and rethrows the last one to JS if there were too many.
(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "validate" (func $validate (param i32)))
  (import "env" "print" (func $print (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $n i32) (result i32)
    (local $i i32) (local $sum i32) (local $v i32) (local $errors i32) (local $ex exnref)
    (loop $next
      (local.set $v (call $fetch (local.get $i)))
      (block $done
        (local.set $ex
          (block $bad (result exnref)
            (try_table (catch_all_ref $bad)
              (call $validate (local.get $v)))
            (local.set $sum (i32.add (local.get $sum) (local.get $v)))
            (br $done)))
        ;; Handler code: suspend while holding the exception.
        (call $sleep (i32.const 10))
        (local.set $errors (i32.add (local.get $errors) (i32.const 1))))
      (call $print (local.get $i) (local.get $v) (local.get $sum))
      (br_if $next
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (if (i32.gt_u (local.get $errors) (i32.const 2))
      (then (throw_ref (local.get $ex))))
    (local.get $sum)))

;; A small hand-written module used by `npm start` (the inspector) and by the smoke tests.
;; It touches the common module parts: an import, a memory with data, a mutable global,
;; a table with an element segment, several functions, a loop, a block, an if, exports.
(module
  (type $unary (func (param i32) (result i32)))

  (import "env" "log" (func $log (param i32)))

  (memory $mem (export "memory") 1)
  (data (i32.const 16) "hello, wasm\00")

  (global $calls (mut i32) (i32.const 0))
  (global $greeting (export "greeting") i32 (i32.const 16))

  (table $ops 2 funcref)
  (elem (table $ops) (i32.const 0) func $square $factorial)

  ;; x * x
  (func $square (type $unary)
    local.get 0
    local.get 0
    i32.mul)

  ;; n! with a loop
  (func $factorial (export "factorial") (type $unary) (local $acc i32)
    i32.const 1
    local.set $acc
    block $done
      loop $again
        local.get 0
        i32.const 1
        i32.le_s
        br_if $done
        local.get $acc
        local.get 0
        i32.mul
        local.set $acc
        local.get 0
        i32.const 1
        i32.sub
        local.set 0
        br $again
      end
    end
    local.get $acc)

  ;; length of the NUL-terminated string at `ptr`
  (func $strlen (export "strlen") (param $ptr i32) (result i32) (local $len i32)
    block $end
      loop $next
        local.get $ptr
        local.get $len
        i32.add
        i32.load8_u
        i32.eqz
        br_if $end
        local.get $len
        i32.const 1
        i32.add
        local.set $len
        br $next
      end
    end
    local.get $len)

  ;; calls table slot `op` with `x`, counts calls, logs and returns the result
  (func $apply (export "apply") (param $op i32) (param $x i32) (result i32) (local $r i32)
    global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    local.get $x
    local.get $op
    call_indirect $ops (type $unary)
    local.set $r
    local.get $r
    call $log
    local.get $r)

  ;; number of calls to `apply` so far, or -1 if none
  (func $calls (export "calls") (result i32)
    global.get $calls
    if (result i32)
      global.get $calls
    else
      i32.const -1
    end)
)

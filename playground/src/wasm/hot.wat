;; Panel 5: edit this module (in the page, or here on disk) and save.
;; The plugin rebuilds it; the page swaps it in without a reload.
(module
  (import "env" "sleep" (func $sleep (param i32)))
  (func (export "answer") (result i32)
    (call $sleep (i32.const 50))
    (i32.const 42))
)

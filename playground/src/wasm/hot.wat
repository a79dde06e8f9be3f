;; Panel 5 of the playground: edit this file (in the page's editor, or here on disk) and save. The
;; plugin rebuilds it and the page swaps in the new module without reloading.
(module
  (import "env" "sleep" (func $sleep (param i32)))
  (func (export "answer") (result i32)
    (call $sleep (i32.const 50))
    (i32.const 42))
)

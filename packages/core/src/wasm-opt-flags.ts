/**
 * Every wasm-opt (binaryen 132) flag that is not an option row of ours, and what `wasm-asyncify` does with
 * it, so that a wasm-opt command line with `--asyncify` either works or stops at the flag it cannot honour,
 * naming it. A test reads `wasm-opt --help` and checks that no flag of it is missing here or in the rows.
 *
 * - feature flags are accepted and ignored: the rewrite takes the features from the module itself;
 * - binaryen passes run through binaryen.js, before the rewrite when they stand before `--asyncify` on the
 *   command line and after it otherwise (as wasm-opt runs passes in command-line order);
 * - a few flags are accepted without effect (with a warning when dropping them changes the output);
 * - the rest are refused with the reason.
 */

export type WasmOptFlag =
  | { readonly kind: 'feature' }
  | { readonly kind: 'pass'; readonly pass: string }
  /** Takes no value or the next argument; `warn` when ignoring it may change the output. */
  | { readonly kind: 'ignored'; readonly arg: boolean; readonly warn: boolean; readonly why: string }
  | { readonly kind: 'refused'; readonly why: string }

/** binaryen 132's feature names, as in `--enable-<name>` / `--disable-<name>`. */
export const FEATURES =
  `sign-ext threads mutable-globals nontrapping-float-to-int simd bulk-memory bulk-memory-opt
  call-indirect-overlong exception-handling tail-call reference-types multivalue gc memory64 relaxed-simd
  extended-const strings multimemory stack-switching shared-everything fp16 custom-descriptors multibyte
  acquire-release-atomics custom-page-sizes wide-arithmetic compact-imports relaxed-atomics
  typed-function-references`.split(/\s+/)

/** binaryen 132's optimization passes, as in `--<name>` (`asyncify` is the rewrite itself). */
export const PASSES =
  `abstract-type-refining alignment-lowering avoid-reinterprets cfp cfp-reftest coalesce-locals
  coalesce-locals-learning code-folding code-pushing const-hoisting constraint-analysis dae dae-optimizing dae2
  dce dealign denan dfo directize discard-global-effects duplicate-function-elimination
  duplicate-import-elimination dwarfdump emit-target-features enclose-world extract-function
  extract-function-index flatten fpcast-emu func-metrics generate-dyncalls generate-global-effects
  generate-i64-dyncalls global-refining gsi gsi-desc-cast gto gufa gufa-cast-all gufa-optimizing
  heap-store-optimization heap2local i64-to-i32-lowering inline-main inlining inlining-optimizing
  instrument-branch-hints instrument-locals instrument-memory intrinsic-lowering legalize-and-prune-js-interface
  legalize-js-interface licm limit-segments llvm-memory-copy-fill-lowering llvm-nontrapping-fptoint-lowering
  local-cse local-subtyping log-execution make-shared-objects mark-js-called memory-packing memory64-lowering
  merge-blocks merge-j2cl-itables merge-locals merge-similar-functions metrics minify-imports
  minify-imports-and-exports minify-imports-and-exports-and-modules minimize-rec-groups monomorphize
  monomorphize-always multi-memory-lowering multi-memory-lowering-with-bounds-checks name-types nm
  no-full-inline no-inline no-partial-inline once-reduction optimize-added-constants
  optimize-added-constants-propagate optimize-casts optimize-for-js optimize-instructions optimize-j2cl
  pick-load-signs poppify post-emscripten precompute precompute-propagate print print-boundary
  print-call-graph print-features print-full print-function-map print-minified propagate-debug-locs
  propagate-globals-globally remove-exports remove-imports remove-memory remove-memory-init remove-non-js-ops
  remove-relaxed-simd remove-unused-brs remove-unused-module-elements remove-unused-names
  remove-unused-nonfunction-module-elements remove-unused-types reorder-functions reorder-functions-by-name
  reorder-globals reorder-locals reorder-types rereloop roundtrip rse safe-heap separate-data-segments
  set-globals signature-pruning signature-refining signext-lowering simplify-globals simplify-globals-optimizing
  simplify-locals simplify-locals-nonesting simplify-locals-nostructure simplify-locals-notee
  simplify-locals-notee-nostructure souperify souperify-single-use spill-pointers ssa ssa-nomerge stack-check
  string-gathering string-lifting string-lowering string-lowering-magic-imports
  string-lowering-magic-imports-assert strip strip-debug strip-dwarf strip-eh strip-producers
  strip-target-features strip-toolchain-annotations stub-unsupported-js symbolmap table64-lowering trace-calls
  translate-to-exnref translate-to-new-eh trap-mode-clamp trap-mode-js tuple-optimization type-finalizing
  type-merging type-refining type-refining-gufa type-ssa type-unfinalizing unsubtyping untee vacuum`.split(
    /\s+/,
  )

const FUZZING: WasmOptFlag = { kind: 'refused', why: 'a fuzzing flag: run wasm-opt for fuzzing' }
const SOURCE_MAP: WasmOptFlag = {
  kind: 'refused',
  why: 'source maps are not carried through the rewrite (the name section is)',
}
const WRITER: WasmOptFlag = {
  kind: 'ignored',
  arg: false,
  warn: false,
  why: 'binaryen writes the output only when it optimizes or runs passes, with its own StackIR settings',
}
const NO_SETTER: WasmOptFlag = {
  kind: 'ignored',
  arg: false,
  warn: true,
  why: 'binaryen.js has no setting for it; optimizing without it is still correct',
}

/** Flags that are not option rows, by every spelling wasm-opt accepts. */
const FLAGS: [string[], WasmOptFlag][] = [
  [['--mvp-features', '-mvp', '--all-features', '-all', '--detect-features'], { kind: 'feature' }],
  [
    ['--no-validation', '-n'],
    { kind: 'ignored', arg: false, warn: false, why: 'binaryen does not validate here' },
  ],
  [['--debug', '-d'], { kind: 'ignored', arg: false, warn: false, why: "binaryen's own debug output" }],
  [
    ['--emit-exnref', '--experimental-new-eh'],
    { kind: 'ignored', arg: false, warn: false, why: 'the output uses try_table/exnref already' },
  ],
  [['--generate-stack-ir', '--optimize-stack-ir', '--no-stack-ir', '--preserve-type-order'], WRITER],
  [
    ['--emit-module-names'],
    { kind: 'ignored', arg: false, warn: false, why: 'the name section is kept as the input has it' },
  ],
  [['--ignore-implicit-traps', '-iit'], NO_SETTER],
  [
    ['--inline-max-combined-binary-size', '-imcbs', '--partial-inlining-ifs', '-pii'],
    { ...NO_SETTER, arg: true },
  ],
  [
    ['--emit-text', '-S'],
    { kind: 'refused', why: 'wasm-asyncify writes a binary; convert it with wasm-dis' },
  ],
  [['--print-stack-ir'], { kind: 'refused', why: "prints binaryen's StackIR: run wasm-opt for that" }],
  [['--experimental-poppy'], { kind: 'refused', why: 'Poppy IR input is a binaryen testing mode' }],
  [
    ['--input-source-map', '-ism', '--output-source-map', '-osm', '--output-source-map-url', '-osu'],
    SOURCE_MAP,
  ],
  [
    [
      '--translate-to-fuzz',
      '-ttf',
      '--initial-fuzz',
      '-if',
      '--fuzz-passes',
      '-fp',
      '--no-fuzz-memory',
      '--no-fuzz-oob',
      '--fuzz-preserve-imports-exports',
      '--fuzz-against-js',
      '--fuzz-import',
      '--fuzz-exec-before',
      '-feh',
      '--fuzz-exec',
      '-fe',
      '--fuzz-exec-second',
      '--extra-fuzz-command',
      '-efc',
      '--emit-spec-wrapper',
      '--emit-wasm2c-wrapper',
      '-esw',
    ],
    FUZZING,
  ],
]

const BY_FLAG = new Map<string, WasmOptFlag>()
for (const [spellings, flag] of FLAGS) for (const s of spellings) BY_FLAG.set(s, flag)
for (const f of FEATURES) {
  BY_FLAG.set(`--enable-${f}`, { kind: 'feature' })
  BY_FLAG.set(`--disable-${f}`, { kind: 'feature' })
}
for (const p of PASSES) BY_FLAG.set(`--${p}`, { kind: 'pass', pass: p })

/** What a wasm-opt flag (as typed, without `=value`) means to wasm-asyncify; undefined if wasm-opt has no such flag. */
export function wasmOptFlag(flag: string): WasmOptFlag | undefined {
  return BY_FLAG.get(flag)
}

/** Every spelling in this table (for "did you mean" and for the test against `wasm-opt --help`). */
export function wasmOptFlagSpellings(): string[] {
  return [...BY_FLAG.keys()]
}

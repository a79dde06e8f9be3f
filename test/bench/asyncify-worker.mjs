// One asyncify measurement in a fresh process. Prints one JSON line on stdout.
//
//   transform <ours|binaryen> <level> <in.wasm> <out.wasm> [eh]
//       ours: asyncify(bytes, { optimize: level }) from packages/core/dist; binaryen: readBinary,
//       setOptimizeLevel(level), runPasses(['asyncify']), emitBinary. Every import may suspend (the default
//       of both). Libraries are loaded and the file read before the clock starts; the output is written
//       to out.wasm (after the clock) for the normal-path measurement. `eh`: binaryen reads with
//       exception handling enabled too (for inputs that use it).
//   compile <module.wasm>
//       new WebAssembly.Module(bytes), timed.
//   normal <module.wasm>
//       QuickJS's emscripten glue instantiated with module.wasm; defines the workload, runs bench(0.1) as a
//       warm-up (lazy compilation and tier-up), then times bench(1). Nothing suspends.
//   roundtrip <plain|ours|binaryen> <level> <depth,...> <count>
//       A small module whose export recurses to a depth, then calls a sleeping import, instrumented by
//       ours or binaryen at `level` (plain: not instrumented, the import returns at once). Per depth:
//       count/2 warm-up round trips, then `count` timed ones in 5 batches (median batch reported), each an
//       unwind + rewind driven by the raw ABI.
import { readFileSync, writeFileSync } from 'node:fs'

const [op, ...args] = process.argv.slice(2)

const usage = () => {
  console.error(
    [
      'usage: asyncify-worker.mjs transform <ours|binaryen> <level> <in.wasm> <out.wasm> [eh]',
      '       asyncify-worker.mjs normal <module.wasm>',
      '       asyncify-worker.mjs compile <module.wasm>',
      '       asyncify-worker.mjs roundtrip <plain|ours|binaryen> <level> <depth,...> <count>',
    ].join('\n'),
  )
  process.exit(2)
}

/** Levels we pass on: 0-4 (the suite uses 0 and 1). */
function level(text) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > 4) usage()
  return n
}

// binaryen initialises itself with a top-level await: loaded here, before any clock, by every op (ours
// loads it lazily to optimize; preloading keeps that module load out of the measured time).
const binaryen = (await import('binaryen')).default
const F = binaryen.Features
/**
 * The features QuickJS (and the round-trip module) use: emscripten's default MVP+ set. Not Features.All,
 * which would let binaryen emit instructions the input never had.
 */
const FEATURES = F.MVP | F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.NontrappingFPToInt

async function loadOurs() {
  return (await import('../../packages/core/dist/index.js')).asyncify
}

function binaryenAsyncify(bytes, lvl, features = FEATURES) {
  const t0 = performance.now()
  const module = binaryen.readBinary(bytes, features)
  module.setFeatures(features)
  const t1 = performance.now()
  binaryen.setOptimizeLevel(lvl)
  binaryen.setShrinkLevel(0)
  module.runPasses(['asyncify'])
  const t2 = performance.now()
  const binary = module.emitBinary()
  const t3 = performance.now()
  module.dispose()
  return { binary, phases: { read: t1 - t0, asyncify: t2 - t1, emit: t3 - t2 }, totalMs: t3 - t0 }
}

async function transform([impl, lvlText, input, output, extra]) {
  if (!['ours', 'binaryen'].includes(impl) || !input || !output || ![undefined, 'eh'].includes(extra)) usage()
  const lvl = level(lvlText)
  const asyncify = impl === 'ours' ? await loadOurs() : undefined
  const bytes = new Uint8Array(readFileSync(input))
  globalThis.gc?.()
  let result
  if (impl === 'ours') {
    const t0 = performance.now()
    const { binary, report } = await asyncify(bytes, { optimize: lvl })
    const t1 = performance.now()
    const { total, ...phases } = report.timings
    result = { binary, phases, totalMs: t1 - t0, sites: report.sites }
  } else {
    result = binaryenAsyncify(bytes, lvl, extra === 'eh' ? FEATURES | F.ExceptionHandling : FEATURES)
  }
  // resourceUsage().maxRSS is in kilobytes.
  const maxRSS = process.resourceUsage().maxRSS * 1024
  writeFileSync(output, result.binary)
  return {
    op: 'transform',
    impl,
    level: lvl,
    totalMs: result.totalMs,
    phases: result.phases,
    inputBytes: bytes.length,
    outputBytes: result.binary.length,
    valid: WebAssembly.validate(result.binary),
    sites: result.sites,
    maxRSS,
  }
}

async function normal([file]) {
  if (!file) usage()
  const { loadQuickJS, SCRIPT } = await import('./quickjs-workload.mjs')
  const quickjs = await loadQuickJS(readFileSync(file))
  quickjs.evaluate(SCRIPT)
  const t0 = performance.now()
  const warmup = quickjs.evaluate('bench(0.1)')
  const t1 = performance.now()
  const result = quickjs.evaluate('bench(1)')
  const t2 = performance.now()
  return {
    op: 'normal',
    warmupMs: t1 - t0,
    totalMs: t2 - t1,
    warmup,
    result,
  }
}

/**
 * `run(n)`: n wasm frames of itself, the innermost calling env.sleep; three locals of different types
 * live across the recursive call. Returns 1 + Σ_{k=2..n} 5k.
 */
const ROUNDTRIP_WAT = `
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

function expected(depth) {
  let sum = 1
  for (let k = 2; k <= depth; k++) sum += 5 * k
  return sum
}

async function roundtripModule(impl, lvl) {
  const parsed = binaryen.parseText(ROUNDTRIP_WAT)
  parsed.setFeatures(FEATURES)
  if (impl === 'binaryen') {
    binaryen.setOptimizeLevel(lvl)
    binaryen.setShrinkLevel(0)
    parsed.runPasses(['asyncify'])
  }
  const bytes = parsed.emitBinary()
  parsed.dispose()
  if (impl !== 'ours') return bytes
  const asyncify = await loadOurs()
  return (await asyncify(bytes, { optimize: lvl })).binary
}

/** The asyncify data structure: { current, end } at DATA, the buffer right after it. */
const DATA = 1024
const BUFFER_BYTES = 32 * 1024
const BATCHES = 5

async function roundtrip([impl, lvlText, depthsText, countText]) {
  if (!['plain', 'ours', 'binaryen'].includes(impl) || !depthsText) usage()
  const lvl = level(lvlText)
  const depths = depthsText.split(',').map(Number)
  const count = Number(countText)
  if (!depths.every(d => Number.isInteger(d) && d >= 1) || !Number.isInteger(count) || count < 10) usage()
  const binary = await roundtripModule(impl, lvl)
  let ex
  let rewinding = false
  let heap
  const sleep =
    impl === 'plain'
      ? () => {}
      : () => {
          if (rewinding) {
            ex.asyncify_stop_rewind()
            rewinding = false
            return
          }
          heap[DATA >> 2] = DATA + 8
          heap[(DATA >> 2) + 1] = DATA + 8 + BUFFER_BYTES
          ex.asyncify_start_unwind(DATA)
        }
  const { instance } = await WebAssembly.instantiate(binary, { env: { sleep } })
  ex = instance.exports
  heap = new Int32Array(ex.memory.buffer)
  const once =
    impl === 'plain'
      ? depth => ex.run(depth)
      : depth => {
          ex.run(depth)
          ex.asyncify_stop_unwind()
          ex.asyncify_start_rewind(DATA)
          rewinding = true
          return ex.run(depth)
        }
  if (impl !== 'plain') {
    // One checked round trip: the first call unwinds, the second completes.
    ex.run(3)
    if (ex.asyncify_get_state() !== 1) throw new Error(`${impl}: run(3) did not unwind`)
    ex.asyncify_stop_unwind()
    const saved = heap[DATA >> 2] - (DATA + 8)
    ex.asyncify_start_rewind(DATA)
    rewinding = true
    const value = ex.run(3)
    if (value !== expected(3) || ex.asyncify_get_state() !== 0)
      throw new Error(`${impl}: rewound run(3) returned ${value}, state ${ex.asyncify_get_state()}`)
    if (heap[DATA >> 2] !== DATA + 8)
      throw new Error(`${impl}: the rewind left the data pointer ${heap[DATA >> 2] - DATA - 8} bytes in`)
    if (saved <= 0) throw new Error(`${impl}: the unwind saved nothing`)
  }
  // Warm-up first (every depth, so all code is tiered up before any clock), then BATCHES timed batches
  // of count/BATCHES round trips per depth; the median batch is reported.
  for (const depth of depths) {
    const want = expected(depth)
    for (let i = 0; i < count / 2; i++) {
      if (once(depth) !== want) throw new Error(`${impl}: run(${depth}) returned a wrong value`)
    }
  }
  const perDepth = {}
  const size = Math.ceil(count / BATCHES)
  for (const depth of depths) {
    const want = expected(depth)
    const batches = []
    let bad = 0
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now()
      for (let i = 0; i < size; i++) if (once(depth) !== want) bad++
      batches.push(((performance.now() - t0) * 1000) / size)
    }
    if (bad > 0) throw new Error(`${impl}: run(${depth}) returned a wrong value ${bad} times`)
    batches.sort((a, b) => a - b)
    perDepth[depth] = batches[BATCHES >> 1]
  }
  return { op: 'roundtrip', impl, level: lvl, count, usPerRoundTrip: perDepth, moduleBytes: binary.length }
}

async function compile([file]) {
  if (!file) usage()
  const bytes = new Uint8Array(readFileSync(file))
  const t0 = performance.now()
  const module = new WebAssembly.Module(bytes)
  const totalMs = performance.now() - t0
  return { op: 'compile', totalMs, exports: WebAssembly.Module.exports(module).length }
}

const OPS = { transform, normal, roundtrip, compile }
if (!OPS[op]) usage()
const result = await OPS[op](args)
process.stdout.write(`${JSON.stringify(result)}\n`)

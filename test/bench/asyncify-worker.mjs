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
//       unwind, an await and a rewind driven by @unplugin-asyncify/runtime (packages/runtime/dist).
import { readFileSync, writeFileSync } from 'node:fs'
import { expected, ROUNDTRIP_WAT } from './roundtrip-module.mjs'

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

/** The runtime's buffers: a region at REGION (its first slot's header is there), one slot in use at a time. */
const REGION = 1024
const BUFFER_BYTES = 32 * 1024
const BATCHES = 5

/**
 * `once(depth)` → a promise of run(depth)'s result, through @unplugin-asyncify/runtime (asyncify mode): the
 * import returns an already resolved promise, so one call is an unwind, an await and a rewind.
 */
async function runtimeRoundTrip(binary) {
  const { instantiate } = await import('../../packages/runtime/dist/index.js')
  const { DATA_HEADER, EXPORTS, STATE } = await import('../../packages/runtime/dist/abi.js')
  const resolved = Promise.resolve()
  let sleeps = 0
  let saved = -1
  let view
  const header = DATA_HEADER.i32
  const { exports, instance } = await instantiate(
    binary,
    {
      env: {
        sleep: () => {
          sleeps++
          // Runs after the unwind and before the rewind: the frames the unwind saved.
          if (saved < 0)
            resolved.then(
              () => (saved = view.getUint32(REGION + header.current, true) - (REGION + header.size)),
            )
          return resolved
        },
      },
    },
    {
      mode: 'asyncify',
      region: { start: REGION, size: BUFFER_BYTES + 64 },
      asyncifyStackSize: BUFFER_BYTES,
      stackPointer: false,
    },
  )
  view = new DataView(instance.exports.memory.buffer)
  // One checked round trip: the import suspended once, the unwind saved frames, the rewind consumed them.
  const value = await exports.run(3)
  if (value !== expected(3) || sleeps !== 1 || instance.exports[EXPORTS.get_state]() !== STATE.normal)
    throw new Error(`run(3) through the runtime returned ${value} after ${sleeps} suspensions`)
  if (saved <= 0) throw new Error('the unwind saved nothing')
  if (view.getUint32(REGION + header.current, true) !== REGION + header.size)
    throw new Error('the rewind left the data pointer moved')
  return depth => exports.run(depth)
}

async function roundtrip([impl, lvlText, depthsText, countText]) {
  if (!['plain', 'ours', 'binaryen'].includes(impl) || !depthsText) usage()
  const lvl = level(lvlText)
  const depths = depthsText.split(',').map(Number)
  const count = Number(countText)
  if (!depths.every(d => Number.isInteger(d) && d >= 1) || !Number.isInteger(count) || count < 10) usage()
  const binary = await roundtripModule(impl, lvl)
  // plain: one synchronous call of the uninstrumented module (the import returns at once), for scale.
  const plain =
    impl === 'plain'
      ? (await WebAssembly.instantiate(binary, { env: { sleep: () => {} } })).instance.exports
      : null
  const once = plain === null ? await runtimeRoundTrip(binary) : null
  const batch = async (depth, size, want) => {
    let bad = 0
    if (plain !== null) for (let i = 0; i < size; i++) bad += plain.run(depth) !== want ? 1 : 0
    else for (let i = 0; i < size; i++) bad += (await once(depth)) !== want ? 1 : 0
    return bad
  }
  // Warm-up first (every depth, so all code is tiered up before any clock), then BATCHES timed batches
  // of count/BATCHES round trips per depth; the median batch is reported.
  for (const depth of depths)
    if ((await batch(depth, count / 2, expected(depth))) > 0)
      throw new Error(`${impl}: run(${depth}) returned a wrong value`)
  const perDepth = {}
  const size = Math.ceil(count / BATCHES)
  for (const depth of depths) {
    const want = expected(depth)
    const batches = []
    let bad = 0
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now()
      bad += await batch(depth, size, want)
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

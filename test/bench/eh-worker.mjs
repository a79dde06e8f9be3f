// One exception-handling / references measurement in a fresh process. Prints one JSON line on stdout.
//
//   ours <in.wasm> [ours|binaryen]
//       asyncify(bytes, { legacyExceptions: 'translate' }) from packages/core/dist: legacy try/catch is
//       translated to try_table/exnref (the `translate` timing), then every function that may reach an
//       import is instrumented (every import may suspend). The translator: ours (the default, in the
//       decoded IR) or, as the rewrite did before it, binaryen's round trip (read, translate-to-exnref,
//       emit, decode again), through the internal asyncifyWith.
//   binaryen-translate <in.wasm>
//       binaryen.js: readBinary, runPasses(['translate-to-exnref']), emitBinary.
//   binaryen-asyncify <in.wasm> <translated|legacy>
//       binaryen.js: readBinary, [translate-to-exnref,] runPasses(['asyncify']) at optimize level 0,
//       emitBinary. The outcome (ran, or the abort / fatal error binaryen reported) is the result: the
//       process survives binaryen's aborts (they are thrown as exceptions into JS) and reports them.
//   refs <H> <K,...> <count>
//       The reference module (refsWat) instrumented by ours. H references are held by paused stacks (H/100
//       paused calls of `hold`, which has 100 live externref locals, each on its own buffer), then per K:
//       count/2 warm-up round trips of `kK` (K live externref locals), a 200 ms pause for V8's background
//       tier-up, count/2 more, then 201 timed batches of about 0.5 ms (median batch reported), each round
//       trip an unwind, an await and a rewind driven by @unplugin-asyncify/runtime (the held calls are
//       calls in flight, each with its own buffer). At the end every held call is resumed and must see
//       its 100 references.
//   refs-binaryen
//       binaryen.js's asyncify on the reference module: its outcome.
//
// binaryen is loaded (top-level await) and inputs read before any clock starts.
import { readFileSync } from 'node:fs'

const [op, ...args] = process.argv.slice(2)

const usage = () => {
  console.error(
    [
      'usage: eh-worker.mjs ours <in.wasm> [ours|binaryen]',
      '       eh-worker.mjs binaryen-translate <in.wasm>',
      '       eh-worker.mjs binaryen-asyncify <in.wasm> <translated|legacy>',
      '       eh-worker.mjs refs <H> <K,...> <count>',
      '       eh-worker.mjs refs-binaryen',
    ].join('\n'),
  )
  process.exit(2)
}

// Everything written to stderr, so that what binaryen prints before an abort can go into the outcome.
let stderrText = ''
const writeStderr = process.stderr.write.bind(process.stderr)
process.stderr.write = (chunk, ...rest) => {
  stderrText += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
  return writeStderr(chunk, ...rest)
}

const binaryen = (await import('binaryen')).default
const F = binaryen.Features

/** target_features names (the tool-conventions spelling) → binaryen.js feature flags. */
const FEATURE_FLAGS = {
  atomics: F.Atomics,
  'mutable-globals': F.MutableGlobals,
  'nontrapping-fptoint': F.NontrappingFPToInt,
  simd128: F.SIMD128,
  'bulk-memory': F.BulkMemory,
  'bulk-memory-opt': F.BulkMemoryOpt,
  'sign-ext': F.SignExt,
  'exception-handling': F.ExceptionHandling,
  'tail-call': F.TailCall,
  'reference-types': F.ReferenceTypes,
  multivalue: F.Multivalue,
  gc: F.GC,
  memory64: F.Memory64,
  'relaxed-simd': F.RelaxedSIMD,
  'extended-const': F.ExtendedConst,
  multimemory: F.MultiMemory,
  'call-indirect-overlong': F.CallIndirectOverlong,
  fp16: F.FP16,
}

/**
 * The features the module declares it uses (its target_features section, `+` and `=` entries), as
 * binaryen flags and names. An undeclared or unknown feature is an error: we never fall back to All.
 */
function declaredFeatures(bytes) {
  const sections = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'target_features')
  if (sections.length !== 1) throw new Error('the module has no target_features section')
  const u = new Uint8Array(sections[0])
  let p = 0
  const leb = () => {
    let r = 0
    let shift = 0
    let b
    do {
      b = u[p++]
      r |= (b & 0x7f) << shift
      shift += 7
    } while (b & 0x80)
    return r >>> 0
  }
  const names = []
  let flags = F.MVP
  for (let i = leb(); i > 0; i--) {
    const prefix = String.fromCharCode(u[p++])
    const len = leb()
    const name = new TextDecoder().decode(u.subarray(p, p + len))
    p += len
    if (prefix === '-') continue
    if (!(name in FEATURE_FLAGS)) throw new Error(`unknown target feature ${name}`)
    flags |= FEATURE_FLAGS[name]
    names.push(name)
  }
  return { flags, names }
}

/** binaryen's error as text: its C++ exception message (Fatal), or the abort plus what it printed. */
function binaryenError(error) {
  let message
  try {
    const [type, text] = binaryen.getExceptionMessage(error)
    message = `${type}: ${text}`
  } catch {
    message = error instanceof Error ? error.message : String(error)
  }
  const printed = stderrText
    .split('\n')
    .map(l => l.trim().replace(/^\/home\/runner\/work\/binaryen\.js\/binaryen\.js\//, ''))
    .map(l => l.replace(/at \/home\/runner\/work\/binaryen\.js\/binaryen\.js\//, 'at '))
    .filter(l => l && !l.startsWith('Aborted('))
  return [...printed, message.replace(/\. Build with -sASSERTIONS for more info\.$/, '')].join(' / ')
}

async function ours([input, translator = 'ours']) {
  if (!input || !['ours', 'binaryen'].includes(translator)) usage()
  const { asyncifyWith } = await import('../../packages/core/dist/asyncify.js')
  const { translateInIr } = await import('../../packages/core/dist/legacy-eh.js')
  const { translateWithBinaryen } = await import('../../packages/core/dist/legacy-eh-binaryen.js')
  const translate = translator === 'ours' ? translateInIr : translateWithBinaryen
  const bytes = new Uint8Array(readFileSync(input))
  globalThis.gc?.()
  const t0 = performance.now()
  const { binary, report } = await asyncifyWith(bytes, { legacyExceptions: 'translate' }, translate)
  const t1 = performance.now()
  const { total, ...phases } = report.timings
  return {
    op: 'ours',
    translator,
    totalMs: t1 - t0,
    phases,
    inputBytes: bytes.length,
    outputBytes: binary.length,
    sizeBefore: report.sizeBefore,
    sizeAfter: report.sizeAfter,
    translated: report.legacyExceptionsTranslated,
    instrumented: report.instrumented.length,
    sites: report.sites,
    valid: WebAssembly.validate(binary),
    maxRSS: process.resourceUsage().maxRSS * 1024,
  }
}

function readModule(bytes, flags) {
  const module = binaryen.readBinary(bytes, flags)
  module.setFeatures(flags)
  return module
}

async function binaryenTranslate([input]) {
  if (!input) usage()
  const bytes = new Uint8Array(readFileSync(input))
  const features = declaredFeatures(bytes)
  globalThis.gc?.()
  const t0 = performance.now()
  const module = readModule(bytes, features.flags)
  const t1 = performance.now()
  module.runPasses(['translate-to-exnref'])
  const t2 = performance.now()
  const binary = module.emitBinary()
  const t3 = performance.now()
  module.dispose()
  return {
    op: 'binaryen-translate',
    features: features.names,
    phases: { read: t1 - t0, translate: t2 - t1, emit: t3 - t2 },
    translateMs: t2 - t1,
    totalMs: t3 - t0,
    inputBytes: bytes.length,
    outputBytes: binary.length,
    valid: WebAssembly.validate(binary),
  }
}

async function binaryenAsyncify([input, mode]) {
  if (!input || !['translated', 'legacy'].includes(mode)) usage()
  const bytes = new Uint8Array(readFileSync(input))
  const features = declaredFeatures(bytes)
  globalThis.gc?.()
  const phases = {}
  let mark = performance.now()
  const t0 = mark
  const lap = name => {
    const now = performance.now()
    phases[name] = now - mark
    mark = now
  }
  let step = 'read'
  const base = { op: 'binaryen-asyncify', mode, features: features.names, inputBytes: bytes.length }
  try {
    const module = readModule(bytes, features.flags)
    lap('read')
    if (mode === 'translated') {
      step = 'translate-to-exnref'
      module.runPasses(['translate-to-exnref'])
      lap('translate')
    }
    step = 'asyncify'
    stderrText = ''
    binaryen.setOptimizeLevel(0)
    binaryen.setShrinkLevel(0)
    module.runPasses(['asyncify'])
    lap('asyncify')
    step = 'emit'
    const binary = module.emitBinary()
    lap('emit')
    module.dispose()
    return {
      ...base,
      outcome: 'ran',
      phases,
      totalMs: performance.now() - t0,
      outputBytes: binary.length,
      valid: WebAssembly.validate(binary),
    }
  } catch (error) {
    lap(step)
    // binaryen's abort may have set an exit code on its way out: this process did its job.
    process.exitCode = 0
    return { ...base, outcome: 'aborts', step, message: binaryenError(error), phases, totalMs: mark - t0 }
  }
}

// ---------------------------------------------------------------------------------------------------
// References: round trips of a frame with K live externref locals while H references are held.

/** Externref locals of each held (paused) `hold` call. */
const HOLD_REFS = 100

/** `kK(e)`: K externref locals set from e, a sleep, then the number of non-null ones (K). */
function refFunc(name, k) {
  const locals = Array.from({ length: k }, (_, i) => `(local $r${i} externref)`).join(' ')
  const sets = Array.from({ length: k }, (_, i) => `(local.set $r${i} (local.get $e))`).join('\n    ')
  const nonNull = i => `(i32.eqz (ref.is_null (local.get $r${i})))`
  const counts = Array.from(
    { length: k - 1 },
    (_, j) => `(local.set $n (i32.add (local.get $n) ${nonNull(j + 1)}))`,
  ).join('\n    ')
  return `
  (func $${name} (export "${name}") (param $e externref) (result i32)
    (local $n i32) ${locals}
    ${sets}
    (call $sleep)
    (local.set $n ${nonNull(0)})
    ${counts}
    (local.get $n))`
}

/** The module: `hold` (HOLD_REFS refs) and `kK` per K; all call env.sleep with every ref live. */
function refsWat(ks, pages) {
  return `(module
  (import "env" "sleep" (func $sleep))
  (memory (export "memory") ${pages})
  ${refFunc('hold', HOLD_REFS)}
  ${ks.map(k => refFunc(`k${k}`, k)).join('\n')}
)`
}

/** Features for the WAT: everything binaryen.js has but compact imports and bit 21. */
const WAT_FEATURES = F.All & ~((1 << 26) | (1 << 21))

function compileWat(text) {
  const module = binaryen.parseText(text)
  module.setFeatures(WAT_FEATURES)
  binaryen.setDebugInfo(true)
  const bytes = module.emitBinary()
  binaryen.setDebugInfo(false)
  module.dispose()
  if (!WebAssembly.validate(bytes)) throw new Error('the reference module does not validate')
  return bytes
}

/** The runtime's region: { current, end } headers, each followed by its buffer; the K call's after the held ones. */
const DATA = 1024
const BUFFER_BYTES = 2048
/** Timed batches per K and the length each aims at. */
const BATCHES = 201
const BATCH_MS = 0.5

async function refs([hText, ksText, countText]) {
  const held = Number(hText)
  const ks = (ksText ?? '').split(',').map(Number)
  const count = Number(countText)
  if (!Number.isInteger(held) || held < 0 || held % HOLD_REFS !== 0) usage()
  if (!ks.every(k => Number.isInteger(k) && k >= 1) || !Number.isInteger(count) || count < 10) usage()
  const stacks = held / HOLD_REFS
  const { DATA_HEADER } = await import('../../packages/runtime/dist/abi.js')
  const h = DATA_HEADER.i32
  const STRIDE = (h.size + BUFFER_BYTES + 15) & ~15
  const pages = Math.ceil((DATA + (stacks + 1) * STRIDE) / 65536) + 1
  const input = compileWat(refsWat(ks, pages))
  const { asyncify } = await import('../../packages/core/dist/index.js')
  const { binary, report } = await asyncify(input)
  if (!WebAssembly.validate(binary)) throw new Error('ours: the instrumented reference module is invalid')
  // Every ref local must be saved (no more: the param is dead after the sets, the count set after).
  const saved = Object.fromEntries(report.instrumented.map(f => [f.name, f.savedLocals]))
  for (const [name, want] of [['hold', HOLD_REFS], ...ks.map(k => [`k${k}`, k])]) {
    if (saved[name] !== undefined && saved[name] !== want)
      throw new Error(`ours: ${name} saves ${saved[name]} locals, expected ${want}`)
  }

  // Through the runtime: held calls wait on promises settled at the end; the others on resolved ones.
  const { instantiate } = await import('../../packages/runtime/dist/index.js')
  const parked = []
  const resolved = Promise.resolve()
  let holding = false
  let probe = null
  const sleep = () => {
    if (holding) return new Promise(resolve => parked.push(resolve))
    // A reaction queued now runs after the unwind and before the rewind.
    if (probe !== null) resolved.then(probe)
    probe = null
    return resolved
  }
  const { exports, instance } = await instantiate(
    binary,
    { env: { sleep } },
    {
      mode: 'asyncify',
      region: { start: DATA, size: (stacks + 1) * STRIDE },
      asyncifyStackSize: BUFFER_BYTES,
      stackPointer: false,
    },
  )
  const view = new DataView(instance.exports.memory.buffer)
  // The runtime's region hands out slot i at DATA + i * STRIDE while i calls are in flight.
  const dataOf = i => DATA + i * STRIDE
  const frameBytes = at => view.getUint32(at + h.current, true) - (at + h.size)

  // Pause `stacks` calls of hold, each on its own buffer, each with its own object.
  const holders = Array.from({ length: stacks }, (_, i) => ({ holder: i }))
  holding = true
  const holds = holders.map(o => exports.hold(o))
  holding = false
  if (parked.length !== stacks) throw new Error(`${parked.length} of ${stacks} hold calls suspended`)
  const holdFrameBytes = stacks > 0 ? frameBytes(dataOf(stacks - 1)) : undefined

  const kData = dataOf(stacks)
  const object = { measured: true }
  const kFrameBytes = {}
  for (const k of ks) {
    const fn = exports[`k${k}`]
    // One checked round trip.
    probe = () => {
      kFrameBytes[k] = frameBytes(kData)
    }
    const value = await fn(object)
    if (value !== k) throw new Error(`k${k}: the call returned ${value}`)
    if (!(kFrameBytes[k] > 0)) throw new Error(`k${k}: the unwind saved nothing`)
    if (frameBytes(kData) !== 0) throw new Error(`k${k}: the rewind left the data pointer moved`)
  }
  // Warm-up (every K), a pause for V8's background tier-up to finish, a second warm-up; then per K
  // BATCHES short timed batches (each about BATCH_MS long, so most run without being preempted on a
  // loaded machine): the median batch's time per round trip is reported.
  const run = async (fn, k, n) => {
    let bad = 0
    for (let i = 0; i < n; i++) bad += (await fn(object)) !== k ? 1 : 0
    return bad
  }
  const warm = async () => {
    for (const k of ks)
      if ((await run(exports[`k${k}`], k, count / 2)) > 0) throw new Error(`k${k} returned a wrong value`)
  }
  await warm()
  await new Promise(resolve => setTimeout(resolve, 200))
  await warm()
  const usPerRoundTrip = {}
  const spread = {}
  for (const k of ks) {
    const fn = exports[`k${k}`]
    // Batch size: round trips that take about BATCH_MS.
    let size = 16
    for (;;) {
      const t0 = performance.now()
      await run(fn, k, size)
      if (performance.now() - t0 >= BATCH_MS || size >= 1 << 20) break
      size *= 2
    }
    const batches = []
    let bad = 0
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now()
      bad += await run(fn, k, size)
      batches.push(((performance.now() - t0) * 1000) / size)
    }
    if (bad > 0) throw new Error(`k${k} returned a wrong value ${bad} times`)
    batches.sort((a, b) => a - b)
    usPerRoundTrip[k] = batches[BATCHES >> 1]
    spread[k] = { p10: batches[Math.floor(BATCHES / 10)], p90: batches[Math.floor((BATCHES * 9) / 10)], size }
  }

  // The held calls kept their references: each resumes and counts all HOLD_REFS of them.
  for (const resume of parked) resume()
  const values = await Promise.all(holds)
  const wrong = values.findIndex(v => v !== HOLD_REFS)
  if (wrong >= 0)
    throw new Error(`held call ${wrong} resumed with ${values[wrong]} non-null references, not ${HOLD_REFS}`)
  return {
    op: 'refs',
    held,
    stacks,
    count,
    usPerRoundTrip,
    spread,
    kFrameBytes,
    holdFrameBytes,
    savedLocals: saved,
    moduleBytes: binary.length,
  }
}

async function refsBinaryen() {
  const input = compileWat(refsWat([1], 1))
  const module = binaryen.readBinary(input, WAT_FEATURES)
  module.setFeatures(WAT_FEATURES)
  stderrText = ''
  try {
    binaryen.setOptimizeLevel(0)
    binaryen.setShrinkLevel(0)
    module.runPasses(['asyncify'])
    const binary = module.emitBinary()
    return { op: 'refs-binaryen', outcome: 'ran', valid: WebAssembly.validate(binary) }
  } catch (error) {
    process.exitCode = 0
    return { op: 'refs-binaryen', outcome: 'aborts', message: binaryenError(error) }
  }
}

const OPS = {
  ours,
  'binaryen-translate': binaryenTranslate,
  'binaryen-asyncify': binaryenAsyncify,
  refs,
  'refs-binaryen': refsBinaryen,
}
if (!OPS[op]) usage()
const result = await OPS[op](args)
process.stdout.write(`${JSON.stringify(result)}\n`)

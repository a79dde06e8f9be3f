// One codec measurement in a fresh process: `node --expose-gc codec-worker.mjs <op> <file.wasm> [rounds]`.
// Prints one JSON line on stdout: the op's timings (ms), output facts and the process's peak RSS (bytes).
//
// Ops:
//   ours-eager         decode(bytes, { bodies: 'eager' }), then encode(module)
//   ours-lazy          decode(bytes, { bodies: 'lazy' }), then encode(module) (bodies copied verbatim)
//   binaryen           binaryen.readBinary(bytes, Features.All), then module.emitBinary()
//   memcpy             bytes.slice()
//   baseline-ours      load our codec, read the file (nothing else)
//   baseline-binaryen  load binaryen, read the file
//   baseline-plain     read the file
//   side-by-side       both libraries in this one process, `rounds` rounds (default 5); each round times one
//                      binaryen read + emit and one ours eager decode + encode, ours first in odd rounds and
//                      binaryen first in even ones. Timings come as per-round arrays; maxRSS covers both.
// Libraries are loaded and the file is read before the clock starts; a GC runs just before it too (before
// every timed op in side-by-side).
import { readFileSync } from 'node:fs'

const [op, file, roundsArg] = process.argv.slice(2)
const OPS = [
  'ours-eager',
  'ours-lazy',
  'binaryen',
  'memcpy',
  'baseline-ours',
  'baseline-binaryen',
  'baseline-plain',
  'side-by-side',
]
/** Rounds of side-by-side: round 1 is the cold one, the rest show the steady state. */
const rounds = roundsArg === undefined ? 5 : Number(roundsArg)
if (!OPS.includes(op) || !file || !Number.isInteger(rounds) || rounds < 1) {
  console.error(`usage: codec-worker.mjs <${OPS.join('|')}> <file.wasm> [rounds (side-by-side; default 5)]`)
  process.exit(2)
}

const usesOurs = op === 'ours-eager' || op === 'ours-lazy' || op === 'baseline-ours' || op === 'side-by-side'
const usesBinaryen = op === 'binaryen' || op === 'baseline-binaryen' || op === 'side-by-side'
const codec = usesOurs ? await import('@unplugin-asyncify/wasm') : undefined
// binaryen initialises itself with a top-level await: done here, before the clock.
const binaryen = usesBinaryen ? (await import('binaryen')).default : undefined

const bytes = new Uint8Array(readFileSync(file))
globalThis.gc?.()

/** Same length and same bytes (no allocation, so it does not disturb the peak RSS). */
function identical(a, b) {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  )
}

/**
 * One timed eager decode + encode with our codec. The output is only compared, not kept, so nothing of
 * one round survives into the next.
 */
function oursRound() {
  globalThis.gc?.()
  const t0 = performance.now()
  const module = codec.decode(bytes, { bodies: 'eager' })
  const t1 = performance.now()
  const out = codec.encode(module)
  const t2 = performance.now()
  return { decodeMs: t1 - t0, encodeMs: t2 - t1, totalMs: t2 - t0, identical: identical(out, bytes) }
}

/** One timed binaryen read + emit; the module is disposed after the clock stops, as in the single op. */
function binaryenRound() {
  globalThis.gc?.()
  const t0 = performance.now()
  const module = binaryen.readBinary(bytes, binaryen.Features.All)
  const t1 = performance.now()
  module.emitBinary()
  const t2 = performance.now()
  module.dispose()
  return { decodeMs: t1 - t0, encodeMs: t2 - t1, totalMs: t2 - t0 }
}

const result = { op, inputBytes: bytes.length }
let t0
let t1
let t2
switch (op) {
  case 'ours-eager':
  case 'ours-lazy': {
    t0 = performance.now()
    const module = codec.decode(bytes, { bodies: op === 'ours-eager' ? 'eager' : 'lazy' })
    t1 = performance.now()
    const out = codec.encode(module)
    t2 = performance.now()
    Object.assign(result, { decodeMs: t1 - t0, encodeMs: t2 - t1, totalMs: t2 - t0 })
    Object.assign(result, { outputBytes: out.length, identical: identical(out, bytes) })
    break
  }
  case 'binaryen': {
    t0 = performance.now()
    const module = binaryen.readBinary(bytes, binaryen.Features.All)
    t1 = performance.now()
    const out = module.emitBinary()
    t2 = performance.now()
    module.dispose()
    Object.assign(result, { decodeMs: t1 - t0, encodeMs: t2 - t1, totalMs: t2 - t0 })
    Object.assign(result, { outputBytes: out.length, identical: identical(out, bytes) })
    break
  }
  case 'memcpy': {
    t0 = performance.now()
    const out = bytes.slice()
    t1 = performance.now()
    Object.assign(result, { totalMs: t1 - t0, outputBytes: out.length, identical: identical(out, bytes) })
    break
  }
  case 'side-by-side': {
    // Alternating the order keeps whatever the first op of a round leaves behind (heap state, caches,
    // clock frequency) from always favouring the same library.
    const ours = { decodeMs: [], encodeMs: [], totalMs: [] }
    const bin = { decodeMs: [], encodeMs: [], totalMs: [] }
    const first = []
    let allIdentical = true
    const record = (into, r) => {
      for (const key of Object.keys(into)) into[key].push(r[key])
    }
    for (let round = 1; round <= rounds; round++) {
      const oursFirst = round % 2 === 1
      first.push(oursFirst ? 'ours' : 'binaryen')
      if (!oursFirst) record(bin, binaryenRound())
      const r = oursRound()
      record(ours, r)
      allIdentical &&= r.identical
      if (oursFirst) record(bin, binaryenRound())
    }
    Object.assign(result, { rounds, first, ours, binaryen: bin, identical: allIdentical })
    break
  }
  default:
    // Baselines: libraries loaded and file read, nothing measured.
    break
}

// resourceUsage().maxRSS is in kilobytes.
result.maxRSS = process.resourceUsage().maxRSS * 1024
process.stdout.write(`${JSON.stringify(result)}\n`)

// One codec measurement in a fresh process: `node --expose-gc codec-worker.mjs <op> <file.wasm>`.
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
// Libraries are loaded and the file is read before the clock starts; a GC runs just before it too.
import { readFileSync } from 'node:fs'

const [op, file] = process.argv.slice(2)
const OPS = [
  'ours-eager',
  'ours-lazy',
  'binaryen',
  'memcpy',
  'baseline-ours',
  'baseline-binaryen',
  'baseline-plain',
]
if (!OPS.includes(op) || !file) {
  console.error(`usage: codec-worker.mjs <${OPS.join('|')}> <file.wasm>`)
  process.exit(2)
}

const usesOurs = op === 'ours-eager' || op === 'ours-lazy' || op === 'baseline-ours'
const usesBinaryen = op === 'binaryen' || op === 'baseline-binaryen'
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
  default:
    // Baselines: libraries loaded and file read, nothing measured.
    break
}

// resourceUsage().maxRSS is in kilobytes.
result.maxRSS = process.resourceUsage().maxRSS * 1024
process.stdout.write(`${JSON.stringify(result)}\n`)

// A QuickJS workload that never suspends, for the asyncify benchmark's normal-path measurement: the same
// emscripten glue (@jitl/quickjs-wasmfile-release-sync) instantiated with a given .wasm binary (original
// or asyncify-instrumented), then a compute-heavy script evaluated inside QuickJS through the QTS_* C API.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const require = createRequire(new URL('../package.json', import.meta.url))

const PACKAGE = '@jitl/quickjs-wasmfile-release-sync'

/** The emscripten glue (ESM build) of the QuickJS release-sync variant. */
function gluePath() {
  // The package's exports hide emscripten-module.mjs behind conditions; go through the .wasm export.
  return join(dirname(require.resolve(`${PACKAGE}/wasm`)), 'emscripten-module.mjs')
}

/**
 * The script: defines `bench(scale)` (primes by trial division, recursive fib, array sort, object and
 * string work) returning a checksum. `bench(1)` takes about half a second on the original module (2-core EPYC).
 */
export const SCRIPT = `
function isPrime(n) {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }
function bench(scale) {
  let sum = 0
  const limit = Math.floor(180000 * scale)
  for (let i = 0; i < limit; i++) if (isPrime(i)) sum += 1
  sum += fib(scale >= 1 ? 22 : 14)
  let seed = 42
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff)
  const list = []
  for (let i = 0; i < 30000 * scale; i++) list.push({ key: rand() % 100000, name: 'item' + i })
  list.sort((a, b) => a.key - b.key)
  for (let i = 0; i < list.length; i += 97) sum += list[i].key % 1000 + list[i].name.length
  const words = {}
  for (let i = 0; i < 30000 * scale; i++) {
    const w = 'w' + (rand() % 500)
    words[w] = (words[w] || 0) + 1
  }
  sum += Object.keys(words).length
  return sum
}
`

/**
 * Instantiates the QuickJS emscripten module with `wasmBinary` and returns `evaluate(code) → number`
 * (the script's numeric result, or undefined; throws if QuickJS raised an exception or returned
 * anything else).
 */
export async function loadQuickJS(wasmBinary) {
  const { default: QuickJSRaw } = await import(pathToFileURL(gluePath()).href)
  // `callbacks` is what quickjs-emscripten-core installs for host calls; none happen here.
  const M = await QuickJSRaw({ wasmBinary, callbacks: {} })
  const rt = M._QTS_NewRuntime()
  // Intrinsics 0 = QuickJS's default set.
  const ctx = M._QTS_NewContext(rt, 0)
  const evalCode = M.cwrap('QTS_Eval', 'number', ['number', 'number', 'number', 'string', 'number', 'number'])
  const resolveException = M.cwrap('QTS_ResolveException', 'number', ['number', 'number'])
  const dump = M.cwrap('QTS_Dump', 'string', ['number', 'number'])
  const typeOf = (c, v) => {
    const p = M._QTS_Typeof(c, v)
    const s = M.UTF8ToString(p)
    M._QTS_FreeCString(ctx, p)
    return s
  }
  const getFloat64 = M.cwrap('QTS_GetFloat64', 'number', ['number', 'number'])
  return {
    evaluate(code) {
      const length = M.lengthBytesUTF8(code)
      const ptr = M._malloc(length + 1)
      M.stringToUTF8(code, ptr, length + 1)
      // detectModule 0, flags 0 = global code.
      const value = evalCode(ctx, ptr, length, 'bench.js', 0, 0)
      M._free(ptr)
      const error = resolveException(ctx, value)
      if (error !== 0) throw new Error(`QuickJS threw: ${dump(ctx, error)}`)
      const type = typeOf(ctx, value)
      if (type === 'undefined') {
        M._QTS_FreeValuePointer(ctx, value)
        return undefined
      }
      if (type !== 'number') throw new Error(`QuickJS returned a ${type}: ${dump(ctx, value)}`)
      const result = getFloat64(ctx, value)
      M._QTS_FreeValuePointer(ctx, value)
      return result
    },
  }
}

// `wasm-opt -ttf` without a process per module: this worker thread loads binaryen's wasm-opt (an
// Emscripten program) once and calls its main per request, ~20 ms a module instead of ~0.5 s of
// start-up. The output is byte-identical to the CLI's (checked when this was written, and the
// differential test re-checks one module against the CLI), so it shares test/helpers/fuzz.ts's cache.
//
// Runs straight from TypeScript through Node's type stripping: node builtins only, erasable syntax only.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { parentPort, threadId, workerData } from 'node:worker_threads'

export const TTF_WORKER_FLAG = 'ttf-generator'

export interface TtfRequest {
  /** Path of binaryen's bin/wasm-opt. */
  wasmOpt: string
  /** The seed's input bytes, written next to `out` for wasm-opt to read. */
  input: Uint8Array
  flags: readonly string[]
  /** Where the module goes (written to a temporary name first, then renamed). */
  out: string
}

interface WasmOpt {
  callMain(args: string[]): number
  stackSave(): number
  stackRestore(sp: number): void
  /** Modules generated with this runtime. */
  uses: number
}
/**
 * Modules per loaded runtime: each main call leaks ~0.25 MB of Emscripten heap (and ~4 KB of stack,
 * which the stack restore below gives back; without it the stack ran out after ~1400 calls and the
 * output came out empty), so a fresh runtime is loaded after this many.
 */
const USES_PER_RUNTIME = 400
let runtime: WasmOpt | null = null

async function load(wasmOpt: string): Promise<WasmOpt> {
  let src = readFileSync(wasmOpt, 'utf8')
  if (src.startsWith('#!')) src = `//${src}`
  const require = createRequire(wasmOpt)
  return new Promise<WasmOpt>((resolve, reject) => {
    const mod: Record<string, unknown> = {
      noInitialRun: true,
      noExitRuntime: true,
      thisProgram: 'wasm-opt',
      print() {},
      printErr() {},
    }
    mod.onRuntimeInitialized = () => resolve({ ...(mod.__wasmOpt as Omit<WasmOpt, 'uses'>), uses: 0 })
    mod.onAbort = (what: unknown) => reject(new Error(`wasm-opt aborted: ${String(what)}`))
    const run = new Function(
      'Module',
      'require',
      '__filename',
      '__dirname',
      `${src}\n;Module.__wasmOpt = { callMain, stackSave, stackRestore };`,
    )
    run(mod, require, wasmOpt, dirname(wasmOpt))
  })
}

async function generate(req: TtfRequest): Promise<Uint8Array> {
  if (runtime !== null && runtime.uses >= USES_PER_RUNTIME) runtime = null
  runtime ??= await load(req.wasmOpt)
  const wasmOpt = runtime
  wasmOpt.uses++
  const input = `${req.out}.${process.pid}-${threadId}.in`
  const tmp = `${req.out}.${process.pid}-${threadId}.tmp.wasm`
  writeFileSync(input, req.input)
  const exitCode = process.exitCode
  const sp = wasmOpt.stackSave()
  try {
    const rc = wasmOpt.callMain([input, '-ttf', ...req.flags, '-q', '-o', tmp])
    if (rc !== 0) throw new Error(`wasm-opt -ttf exited with ${rc}`)
    const bytes = new Uint8Array(readFileSync(tmp))
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61)
      throw new Error(`wasm-opt -ttf wrote no module (${bytes.length} bytes)`)
    renameSync(tmp, req.out)
    return bytes
  } finally {
    wasmOpt.stackRestore(sp)
    process.exitCode = exitCode
    rmSync(input, { force: true })
    rmSync(tmp, { force: true })
  }
}

if (workerData === TTF_WORKER_FLAG) {
  parentPort?.on('message', async (msg: { id: number; req: TtfRequest }) => {
    try {
      const res = await generate(msg.req)
      parentPort?.postMessage({ id: msg.id, res }, [res.buffer as ArrayBuffer])
    } catch (e) {
      // The Emscripten runtime may be unusable after a failure: load a fresh one next time.
      runtime = null
      parentPort?.postMessage({ id: msg.id, error: (e as Error)?.stack ?? String(e) })
    }
  })
}

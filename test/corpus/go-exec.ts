// Runs a Go js/wasm module (GOOS=js GOARCH=wasm) in this process with Go's own JS support file,
// `$GOROOT/misc/wasm/wasm_exec.js`, and returns what the program printed. That file belongs to the
// Go release that built the module (the import names change between releases), so it is taken from
// the installed Go and only used when its version matches the one that built the fixture.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInThisContext } from 'node:vm'
import { API_NAMES, DATA_HEADER, EXPORTS, STATE } from '@unplugin-asyncify/runtime/abi'
import { goWasmPath } from '../helpers/corpus.js'

/** The `go version` line of the Go that built the fixture (test/fixtures/go/build.sh writes it). */
const builtWith = (): string => readFileSync(`${goWasmPath()}.version`, 'utf8')

interface GoInstance {
  importObject: WebAssembly.Imports
  exit: (code: number) => void
  run(instance: WebAssembly.Instance): Promise<void>
}

/** Why the fixture cannot run here (no Go, or another release than the one that built it), or null. */
export function goRuntimeMissing(): string | null {
  const built = /go version (go\d+\.\d+)/.exec(builtWith())?.[1]
  const r = spawnSync('go', ['env', 'GOROOT', 'GOVERSION'], { encoding: 'utf8' })
  if (r.status !== 0) return 'no `go` command to take wasm_exec.js from'
  const [root, version] = r.stdout.trim().split('\n')
  if (built === undefined || !version?.startsWith(built))
    return `the installed Go is ${version}, the fixture was built with ${built}`
  if (!existsSync(join(root ?? '', 'misc/wasm/wasm_exec.js'))) return `${root} has no misc/wasm/wasm_exec.js`
  return null
}

let output = ''
const enosys = (): Error => Object.assign(new Error('not implemented'), { code: 'ENOSYS' })

/**
 * The `fs` global wasm_exec.js writes the program's stdout and stderr through: collects the text. Any
 * other file operation fails as "not implemented", as in wasm_exec.js's own browser stand-in.
 */
const captureFs = new Proxy(
  {
    constants: { O_WRONLY: -1, O_RDWR: -1, O_CREAT: -1, O_TRUNC: -1, O_APPEND: -1, O_EXCL: -1 },
    writeSync(_fd: number, buf: Uint8Array): number {
      output += new TextDecoder().decode(buf)
      return buf.length
    },
    write(
      fd: number,
      buf: Uint8Array,
      offset: number,
      length: number,
      _position: unknown,
      callback: (e: Error | null, n?: number) => void,
    ): void {
      callback(null, captureFs.writeSync(fd, buf.subarray(offset, offset + length)))
    },
  },
  {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target]
      return (...args: unknown[]) => (args.at(-1) as (e: Error) => void)(enosys())
    },
  },
)

function goClass(): new () => GoInstance {
  const g = globalThis as { Go?: new () => GoInstance; fs?: unknown }
  if (g.Go === undefined) {
    const r = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' })
    g.fs = captureFs
    runInThisContext(readFileSync(join(r.stdout.trim(), 'misc/wasm/wasm_exec.js'), 'utf8'))
  }
  return g.Go as new () => GoInstance
}

export interface RunGoOptions {
  /**
   * For a module instrumented with `inSecondaryMemory`: the imports (by name in module `go`) at which
   * the program suspends and resumes at once. The import does its work, starts an unwind and returns;
   * the driver around every export call stops the unwind, starts a rewind and calls the export again;
   * the import, called again while rewinding, stops the rewind and returns its first result.
   */
  suspendAt?: (name: string) => boolean
}

/** Instantiates and runs the program to its end: its stdout + stderr, exit code and suspensions. */
export async function runGo(
  bytes: Uint8Array,
  options: RunGoOptions = {},
): Promise<{ output: string; exitCode: number; suspensions: number }> {
  const Go = goClass()
  const go = new Go()
  let exitCode = 0
  go.exit = code => {
    exitCode = code
  }
  const suspender = options.suspendAt === undefined ? null : new Suspender(options.suspendAt)
  const imports = suspender === null ? go.importObject : suspender.wrapImports(go.importObject)
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, imports)
  output = ''
  await go.run(suspender === null ? instance : suspender.wrapInstance(instance))
  return { output, exitCode, suspensions: suspender?.suspensions ?? 0 }
}

type Fn = (...args: unknown[]) => unknown

/** The raw asyncify protocol around Go's imports and exports (see RunGoOptions.suspendAt). */
class Suspender {
  suspensions = 0
  private api: Record<string, Fn> = {}
  private memory: WebAssembly.Memory | null = null
  /** The result of the import that unwound, returned again when it is rewound into. */
  private pending: { result: unknown } | null = null

  constructor(private readonly suspendAt: (name: string) => boolean) {}

  private get state(): number {
    return this.api[EXPORTS.get_state]?.() as number
  }

  wrapImports(importObject: WebAssembly.Imports): WebAssembly.Imports {
    const go = importObject.go as Record<string, Fn>
    const wrapped: Record<string, Fn> = {}
    for (const [name, impl] of Object.entries(go)) {
      wrapped[name] = !this.suspendAt(name) ? impl : (...args) => this.callImport(impl, args)
    }
    return { ...importObject, go: wrapped }
  }

  private callImport(impl: Fn, args: unknown[]): unknown {
    if (this.state === STATE.rewinding) {
      this.api[EXPORTS.stop_rewind]?.()
      const p = this.pending
      this.pending = null
      return p?.result
    }
    const result = impl(...args)
    const view = new DataView((this.memory as WebAssembly.Memory).buffer)
    view.setUint32(DATA_HEADER.i32.current, DATA_HEADER.i32.size, true)
    view.setUint32(DATA_HEADER.i32.end, view.byteLength, true)
    this.pending = { result }
    this.suspensions++
    this.api[EXPORTS.start_unwind]?.(0)
    return result
  }

  /** The instance as wasm_exec.js sees it: every export call is driven through the unwinds. */
  wrapInstance(instance: WebAssembly.Instance): WebAssembly.Instance {
    const exports = instance.exports as Record<string, unknown>
    for (const name of API_NAMES) this.api[EXPORTS[name]] = exports[EXPORTS[name]] as Fn
    this.memory = exports[EXPORTS.memory] as WebAssembly.Memory
    const driven: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(exports))
      driven[name] =
        typeof value !== 'function' ? value : (...args: unknown[]) => this.drive(value as Fn, args)
    return Object.create(WebAssembly.Instance.prototype, { exports: { value: driven } })
  }

  private drive(fn: Fn, args: unknown[]): unknown {
    let r = fn(...args)
    while (this.state === STATE.unwinding) {
      this.api[EXPORTS.stop_unwind]?.()
      this.api[EXPORTS.start_rewind]?.(0)
      r = fn(...args)
    }
    if (this.state !== STATE.normal) throw new Error(`an export returned in asyncify state ${this.state}`)
    return r
  }
}

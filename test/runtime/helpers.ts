// Shared pieces of the runtime tests: WAT fixtures compiled with binaryen, instrumented with the core's
// asyncify(), and instantiated through the runtime in either mode. In JSPI mode the runtime gets the
// `{ asyncify, original }` pair, as the generated glue gives it, and runs the original with the
// metadata of the instrumented binary; in asyncify mode the same pair runs the instrumented one.
import { readFileSync } from 'node:fs'
import { type AsyncifyOptions, asyncify } from '@unplugin-asyncify/core'
import {
  type AsyncifiedInstance,
  type Imports,
  type InstantiateOptions,
  instantiate,
  type Mode,
} from '@unplugin-asyncify/runtime'
import { seededRandom } from '../asyncify/shared.js'
import { features, watToWasm } from '../helpers/binaryen.js'

export const random = seededRandom

export const MODES: readonly Mode[] = ['asyncify', 'jspi']

/** Every feature Node 26 runs except compact imports and custom descriptors (see test/asyncify/shared.ts). */
export const ALL_FEATURES = features.All & ~((1 << 26) | (1 << 21))

export interface Fixture {
  original: Uint8Array<ArrayBuffer>
  binary: Uint8Array<ArrayBuffer>
}

const cache = new Map<string, Promise<Fixture>>()

/** WAT (or bytes) → original and instrumented binaries, cached by text and options. */
export function fixture(
  source: string | Uint8Array<ArrayBuffer>,
  options: AsyncifyOptions = {},
  featureSet = ALL_FEATURES,
): Promise<Fixture> {
  const key = `${typeof source === 'string' ? source : `bytes${source.length}:${source[source.length - 1]}`}\0${JSON.stringify(options)}\0${featureSet}`
  let f = cache.get(key)
  if (f === undefined) {
    f = (async () => {
      const original = typeof source === 'string' ? watToWasm(source, featureSet, { names: true }) : source
      const { binary } = await asyncify(original, options)
      return { original, binary }
    })()
    cache.set(key, f)
  }
  return f
}

/** A committed C fixture (test/runtime/fixtures), with its instrumented version. */
export function cFixture(name: string, options: AsyncifyOptions): Promise<Fixture> {
  return fixture(new Uint8Array(readFileSync(new URL(`./fixtures/${name}.wasm`, import.meta.url))), options)
}

/** Instantiates a fixture in `mode` through the runtime. */
export function run<E extends object = Record<string, unknown>>(
  f: Fixture,
  mode: Mode,
  imports: Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<E>> {
  return instantiate<E>({ asyncify: f.binary, original: f.original }, imports, { mode, ...options })
}

export const delay = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** What fixtures/fibers.c's pipeline(limit) computes: odd squares below limit², every tenth plus 2·count. */
export function pipelineResult(limit: number): number {
  let sum = 0
  let n = 0
  let count = 0
  for (let i = 0; i < limit; i++) {
    let v = i * i
    if (v % 2 === 0) continue
    if (count % 10 === 9) v += 2 * count
    count++
    sum = (sum + Math.imul(v, ++n)) >>> 0
  }
  return sum & 0x7fffffff
}

/**
 * WAT of a module with a C stack pointer at 64 KiB whose function `name(id, n)` takes a 16-byte frame on
 * the C stack and stores `id` and `n` in it (more words: `store`), then runs `body`; `check` traps if the
 * frame no longer holds them, and gives the frame back. `imports` and `exportSp` complete the module.
 */
export function cStackModule(o: {
  imports: string
  exportSp: boolean
  name: string
  store?: string
  body: string
  check?: string
}): string {
  return `(module
  ${o.imports}
  (memory (export "memory") 8)
  (global $__stack_pointer ${o.exportSp ? '(export "__stack_pointer")' : ''} (mut i32) (i32.const 65536))
  (func $${o.name} (export "${o.name}") (param $id i32) (param $n i32) (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (global.set $__stack_pointer (local.get $fp))
    (i32.store (local.get $fp) (local.get $id))
    (i32.store offset=4 (local.get $fp) (local.get $n))
    ${o.store ?? ''}
    ${o.body}
    (if (i32.or
          (i32.or (i32.ne (i32.load (local.get $fp)) (local.get $id)) (i32.ne (i32.load offset=4 (local.get $fp)) (local.get $n)))
          ${o.check ?? '(i32.const 0)'})
      (then (unreachable)))
    (global.set $__stack_pointer (i32.add (local.get $fp) (i32.const 16)))
    (local.get $r))`
}

// A real Go module (test/fixtures/go: main.go built with GOOS=js GOARCH=wasm by build.sh). Go's
// linker writes every section size as a 5-byte LEB and call targets as padded LEBs: the lazy round
// trip must keep every byte, the eager one and the asyncify rewrite must read them and stay valid, and
// the rewritten program must print what the original prints, also when it suspends.
import { readFileSync } from 'node:fs'
import { asyncify } from '@unplugin-asyncify/core'
import { decode, encode } from '@unplugin-asyncify/wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { binaryenValidate } from '../helpers/binaryen.js'
import { goWasmPath } from '../helpers/corpus.js'
import { goRuntimeMissing, runGo } from './go-exec.js'

const bytes = new Uint8Array(readFileSync(goWasmPath()))
const missing = goRuntimeMissing()
/** Runs need Go's wasm_exec.js of the release that built the fixture; the codec checks do not. */
const itRuns = it.skipIf(missing !== null)
const runs = (name: string): string => (missing === null ? name : `${name} (skipped: ${missing})`)

/** Imports of Go's syscall/js and runtime that a suspending run suspends at. */
const SUSPENDING = [
  'syscall/js.valueCall',
  'syscall/js.valueGet',
  'runtime.scheduleTimeoutEvent',
  'runtime.nanotime1',
]

describe('Go js/wasm module', () => {
  let expected = ''
  beforeAll(async () => {
    if (missing === null) expected = (await runGo(bytes)).output
  })

  it('is what the tests need: every size field is 5 bytes, and bodies hold padded LEBs', () => {
    const m = decode(bytes)
    expect(m.sizeWidths.size).toBeGreaterThan(8)
    expect([...m.sizeWidths.values()].every(w => w === 5)).toBe(true)
    expect(m.customs.map(c => [c.name, c.sizeWidth])).toEqual([
      ['producers', 5],
      ['name', 5],
    ])
    // An eager re-encode writes the padded call targets in their shortest form.
    expect(encode(decode(bytes, { bodies: 'eager' })).length).toBeLessThan(bytes.length)
  })

  itRuns(runs('prints its report'), () => {
    expect(expected).toMatch(/^\{"words":47,.*"ticks":3\}\nround trip ok: true, top word "a"\n$/)
  })

  it('lazy decode + encode is byte-identical', () => {
    const out = encode(decode(bytes, { bodies: 'lazy' }))
    expect(out.length).toBe(bytes.length)
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true)
  })

  const transforms: [string, () => Promise<Uint8Array>][] = [
    ['eager decode + encode', async () => encode(decode(bytes, { bodies: 'eager' }))],
    ['asyncify (default options)', async () => (await asyncify(bytes)).binary],
  ]
  for (const [name, transform] of transforms) {
    itRuns(
      runs(`${name}: validates and runs the same (nothing suspends)`),
      async () => {
        const out = await transform()
        expect(binaryenValidate(out)).toBe(true)
        expect(await runGo(out)).toEqual({ output: expected, exitCode: 0, suspensions: 0 })
      },
      120_000,
    )
  }

  itRuns(
    runs('asyncify runs the same while suspending at syscall/js and timer imports'),
    async () => {
      const { binary, report } = await asyncify(bytes, {
        imports: SUSPENDING.map(name => `go.${name}`),
        inSecondaryMemory: true,
        secondaryMemorySize: 4,
      })
      expect(report.instrumented.length).toBeGreaterThan(100)
      const run = await runGo(binary, { suspendAt: name => SUSPENDING.includes(name) })
      expect(run.output).toBe(expected)
      expect(run.exitCode).toBe(0)
      expect(run.suspensions).toBeGreaterThan(20)
    },
    120_000,
  )
})

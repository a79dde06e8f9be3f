// Where the fuzz driver keeps its asyncify data, and what that may hide or fake (asyncify-exec.ts,
// DriverData), and how the harness reports the one known limit (asyncify-harness.ts, tableSlotLimit).
//
// Seed 2804 of the 'eh' variant failed: our output trapped ("float unrepresentable in integer range")
// where the original returned, and matched it when nothing suspended. The reduced module
// (fixtures/eh-2804.reduced.wat, from reduce-asyncify-failure.mjs) shows why: its export loads a word
// from address 1048598, which is past the module's 16 pages, in the pages the driver adds for the
// asyncify data (base 1048576, so 22 bytes in, inside the saved frames), masks it with 15 and loads a
// float through it. After a suspension that word is frame data the driver left there; the original
// never suspends and reads zeros. The proof below: the original, given the bytes our run left in
// those pages, does exactly what our run did; with the driver's data out of the module's view, our run
// matches the original. So it was the harness, not the rewrite. The fix keeps the module's own view of
// the pages whenever its code runs, and the hand-made modules below show that the fixed harness still
// catches a real difference of that shape (instrumented code writing where the module reads) and no
// longer fakes one (the module reading where frames were).
import { readFileSync } from 'node:fs'
import { asyncify } from '@unplugin-asyncify/core'
import { decode, type Instr } from '@unplugin-asyncify/wasm'
import { afterAll, describe, expect, it } from 'vitest'
import { features, watToWasm } from '../helpers/binaryen.js'
import { DRIVER_PAGES, type RunRequest, type RunResult, runModule } from './asyncify-exec.js'
import {
  checkSeed,
  closePools,
  compareRuns,
  createPools,
  fuzzVariants,
  prepareModule,
  TABLE_SLOT_LIMIT,
} from './asyncify-harness.js'

const PAGE = 65536

/** What the export calls did: outcomes and logs (memory aside). */
const calls = (r: RunResult): string[] => r.calls.map(c => `${c.name}: ${c.logs.join(', ')} → ${c.outcome}`)

describe('seed 2804 (eh): the module reads the driver pages', async () => {
  const wat = readFileSync(new URL('./fixtures/eh-2804.reduced.wat', import.meta.url), 'utf8')
  const prep = prepareModule(watToWasm(wat, fuzzVariants.eh.features))
  if ('skip' in prep) throw new Error(`the fixture is not runnable: ${prep.skip}`)
  const ours = (await asyncify(prep.bytes)).binary
  const base = { params: prep.params, tags: prep.tags, hangLimit: prep.hangLimit, strictRewindArgs: true }
  const run = (req: Partial<RunRequest> & Pick<RunRequest, 'bytes' | 'suspend'>): RunResult =>
    runModule({ ...base, ...req })
  const original = run({ bytes: prep.bytes, suspend: 'never' })

  it('loads from a constant address inside the pages the driver adds', () => {
    const m = decode(prep.bytes, { bodies: 'eager' })
    const pages = m.memories[0]?.limits.min ?? 0
    const addresses: number[] = []
    const walk = (list: Instr[]): void => {
      for (const [i, ins] of list.entries()) {
        const prev = list[i - 1]
        if (ins.op.name === 'i32.load' && prev?.op.name === 'i32.const')
          addresses.push((prev.i32 as number) + Number(ins.offset ?? 0))
        if (ins.body) walk(ins.body)
        if (ins.else) walk(ins.else)
      }
    }
    for (const f of m.funcs) walk(f.body?.body ?? [])
    expect(pages).toBe(16)
    expect(addresses).toContain(1048598)
    expect(1048598 - pages * PAGE).toBeLessThan(DRIVER_PAGES * PAGE)
  })

  it('with the frames left where it reads them (the old driver), ours "differs" from the original', () => {
    const shared = run({ bytes: ours, suspend: 'always', shareDriverData: true })
    expect(shared.suspensions).toBeGreaterThan(0)
    expect(compareRuns(original, shared)).toMatch(/float unrepresentable in integer range/)
    // Nothing suspending, the instrumented module does what the original does.
    expect(compareRuns(original, run({ bytes: ours, suspend: 'never' }))).toBeNull()
  })

  it('the original, shown the bytes that run left in the driver pages, does exactly what it did', () => {
    const shared = run({ bytes: ours, suspend: 'always', shareDriverData: true })
    const [from, to] = shared.driverPages ?? [0, 0]
    const left = (shared.memory as Uint8Array).slice(from, to)
    expect(left.some(b => b !== 0)).toBe(true)
    const seeing = run({ bytes: prep.bytes, suspend: 'never', driverInit: left })
    expect(calls(seeing)).toEqual(calls(shared))
    expect(calls(seeing)).not.toEqual(calls(original))
  })

  it('with the driver data out of the module’s view (the fix), ours matches the original', () => {
    for (const suspend of ['always', 'sometimes'] as const) {
      const isolated = run({ bytes: ours, suspend })
      expect(isolated.suspensions).toBeGreaterThan(0)
      expect(compareRuns(original, isolated)).toBeNull()
    }
  })
})

/**
 * A module instrumented by hand, with the asyncify API: `main` logs 1, then the byte at `readAt`; both
 * calls may suspend. Unwinding at call site k, it saves one word, `k << 8 | 0x5a`, at `current`; with
 * `stray`, the first unwind also writes a byte 64 bytes past that word, in the driver pages but outside
 * what it saved (the shape of a rewrite bug).
 */
function handInstrumented(readAt: number, stray: boolean): Uint8Array {
  const save = (site: number, extra = ''): string => `
    (i32.store (i32.load (global.get $data)) (i32.const ${(site << 8) | 0x5a}))
    ${extra}
    (i32.store (global.get $data) (i32.add (i32.load (global.get $data)) (i32.const 4)))
    (return)`
  const strayWrite = stray ? '(i32.store8 offset=64 (i32.load (global.get $data)) (i32.const 0x77))' : ''
  return watToWasm(
    `(module
      (import "fuzzing-support" "log-i32" (func $log (param i32)))
      (memory (export "__fuzz_memory") 1 ${1 + DRIVER_PAGES})
      (global $state (mut i32) (i32.const 0))
      (global $data (mut i32) (i32.const 0))
      (func (export "asyncify_start_unwind") (param i32)
        (global.set $state (i32.const 1)) (global.set $data (local.get 0)))
      (func (export "asyncify_stop_unwind") (global.set $state (i32.const 0)))
      (func (export "asyncify_start_rewind") (param i32)
        (global.set $state (i32.const 2)) (global.set $data (local.get 0)))
      (func (export "asyncify_stop_rewind") (global.set $state (i32.const 0)))
      (func (export "asyncify_get_state") (result i32) (global.get $state))
      (func (export "main") (local $site i32)
        (if (i32.eq (global.get $state) (i32.const 2))
          (then
            (i32.store (global.get $data) (i32.sub (i32.load (global.get $data)) (i32.const 4)))
            (local.set $site (i32.shr_u (i32.load (i32.load (global.get $data))) (i32.const 8)))))
        (if (i32.or (i32.ne (global.get $state) (i32.const 2)) (i32.eqz (local.get $site)))
          (then
            (call $log (i32.const 1))
            (if (i32.eq (global.get $state) (i32.const 1)) (then ${save(0, strayWrite)}))))
        (call $log (i32.load8_u (i32.const ${readAt})))
        (if (i32.eq (global.get $state) (i32.const 1)) (then ${save(1)}))))`,
    features.MVP,
  )
}

describe('the driver data and the module’s view (hand-made modules)', () => {
  // Rewinding, `main` loads its second argument again, while the frames are in place: not a failure.
  const base = { params: { main: [] }, hangLimit: null, strictRewindArgs: false }
  const dataBase = PAGE // one page of its own, the driver's pages after it
  const frameAt = dataBase + 8
  const run = (bytes: Uint8Array, suspend: RunRequest['suspend'], share = false): RunResult =>
    runModule({ ...base, bytes, suspend, shareDriverData: share })

  it('reading where a frame was: the old driver fakes a difference, the fixed one does not', () => {
    const bytes = handInstrumented(frameAt, false)
    const original = run(bytes, 'never')
    expect(original.calls[0]?.logs).toEqual(['i32 1', 'i32 0'])
    const shared = run(bytes, 'always', true)
    expect(shared.suspensions).toBe(2)
    expect(compareRuns(original, shared)).toMatch(/main: log #1: i32 0 vs i32 90/)
    expect(compareRuns(original, run(bytes, 'always'))).toBeNull()
  })

  it('instrumented code writing past its frames into what the module reads is still caught', () => {
    const bytes = handInstrumented(frameAt + 64, true)
    const original = run(bytes, 'never')
    const isolated = run(bytes, 'always')
    expect(isolated.suspensions).toBe(2)
    expect(compareRuns(original, isolated)).toMatch(/main: log #1: i32 0 vs i32 119/)
  })

  it('a stray write the module never reads still shows in the memory comparison', () => {
    const bytes = handInstrumented(0, true)
    expect(compareRuns(run(bytes, 'never'), run(bytes, 'always'))).toBe(
      `memory: 1 bytes differ, first at ${frameAt + 64} (0 vs 119)`,
    )
  })
})

describe('checkSeed on the two seeds of the last note (eh)', () => {
  const pools = createPools(1, 1)
  afterAll(() => closePools(pools))

  it('seed 2804 passes', async () => {
    const o = await checkSeed(2804, pools, { variant: fuzzVariants.eh, strictRewindArgs: true })
    expect(o.detail).toBeUndefined()
    expect(o.status).toBe('pass')
    expect(o.suspensions).toBeGreaterThan(0)
  })

  it('seed 6720 (a table slot changed under a suspended indirect call) is reported as the known limit', async () => {
    const o = await checkSeed(6720, pools, { variant: fuzzVariants.eh, strictRewindArgs: true })
    expect(o.status).toBe('skip')
    expect(o.detail?.startsWith(TABLE_SLOT_LIMIT)).toBe(true)
    expect(o.detail).toMatch(/slot 1 of table table changed/)
  })
})

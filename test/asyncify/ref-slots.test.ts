// The reference slot tables: references saved by unwinding stacks live in module-internal tables (one per
// hierarchy) whose slots come from one free list, each used slot tagged with its owner (data pointer / 4).
// 8 independent stacks pause and resume 10,000 times in a seeded random order: the tables stop growing once
// they hold the most references saved at one time, the owner tags match what each paused stack saved, and
// every value comes back intact. asyncify_release_refs(data) frees the slots of a stack that will never
// resume, so the next allocations reuse them.
// The tables are internal: the tests export them by post-processing the output (exportSlotTables).
import { describe, expect, it } from 'vitest'
import { createStackScheduler, type StackScheduler } from '../helpers/asyncify-driver.js'
import { build, exportSlotTables, LEVELS, SLOT_TABLE_EXPORTS, seededRandom, watAll } from './shared.js'

// co(id, e, n): n iterations; each builds five references (externref from the parameter, which is then
// cleared, a struct, a funcref, an exnref, an i31 anyref), pauses at site 0 with all five live, then every
// third iteration calls $inner, which holds two more (an externref and a struct) across its pause at site 1.
// After each pause every value is checked (a wrong one traps; the externref goes to env.got for JS to
// compare). Returns the sum of the struct fields it saw.
const COROUTINE = `(module
  (import "env" "pause" (func $pause (param i32 i32)))
  (import "env" "got" (func $got (param i32 externref)))
  (memory (export "memory") 1)
  (type $pt (struct (field i32)))
  (type $fn (func (param i32) (result i32)))
  (tag $t (param i32))
  (elem declare func $f0 $f1)
  (func $f0 (type $fn) (i32.add (local.get 0) (i32.const 1)))
  (func $f1 (type $fn) (i32.add (local.get 0) (i32.const 2)))

  (func $inner (param $id i32) (param $e externref) (param $i i32) (result i32)
    (local $s (ref null $pt)) (local $x externref)
    (local.set $s (struct.new $pt (i32.add (local.get $i) (i32.const 7))))
    (local.set $x (local.get $e))
    (local.set $e (ref.null extern))
    (call $pause (local.get $id) (i32.const 1))
    (call $got (local.get $id) (local.get $x))
    (struct.get $pt 0 (local.get $s)))

  (func $co (export "co") (param $id i32) (param $e externref) (param $n i32) (result i32)
    (local $i i32) (local $sum i32) (local $k i32)
    (local $ext externref) (local $s (ref null $pt)) (local $f funcref) (local $ex exnref) (local $a anyref)
    (local.set $ext (local.get $e))
    (local.set $e (ref.null extern))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.add (i32.mul (local.get $i) (i32.const 8)) (local.get $id)))
        (local.set $s (struct.new $pt (local.get $k)))
        (local.set $f (select (result funcref) (ref.func $f1) (ref.func $f0) (i32.and (local.get $i) (i32.const 1))))
        (local.set $ex
          (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $t (i32.mul (local.get $k) (i32.const 10))))
            (unreachable)))
        (local.set $a (ref.i31 (i32.add (local.get $i) (local.get $id))))
        (call $pause (local.get $id) (i32.const 0))
        (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 3)))
          (then (local.set $sum (i32.add (local.get $sum)
                  (call $inner (local.get $id) (local.get $ext) (local.get $i))))))
        ;; every value saved at either pause
        (if (i32.ne (struct.get $pt 0 (local.get $s)) (local.get $k)) (then (unreachable)))
        (if (i32.ne (call_ref $fn (i32.const 0) (ref.cast (ref $fn) (local.get $f)))
                    (i32.add (i32.and (local.get $i) (i32.const 1)) (i32.const 1)))
          (then (unreachable)))
        (if (i32.ne
              (block $c (result i32) (try_table (catch $t $c) (throw_ref (local.get $ex))) (unreachable))
              (i32.mul (local.get $k) (i32.const 10)))
          (then (unreachable)))
        (if (i32.ne (i31.get_s (ref.cast (ref i31) (local.get $a))) (i32.add (local.get $i) (local.get $id)))
          (then (unreachable)))
        (call $got (local.get $id) (local.get $ext))
        (local.set $sum (i32.add (local.get $sum) (struct.get $pt 0 (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $sum)))`

/** What co(id, _, n) returns. */
function coSum(id: number, n: number): number {
  let sum = 0
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) sum += i + 7
    sum += i * 8 + id
  }
  return sum
}

const STACKS = 8
/** References a paused stack holds: 5 at site 0 (co), 5 + 2 at site 1 (co → inner). */
const REFS_AT_SITE = [5, 7]

interface Harness {
  sched: StackScheduler
  exports: WebAssembly.Exports
  tables: Record<string, WebAssembly.Table>
  objects: object[]
  gotErrors: string[]
  /** Slots whose link entry holds `owner` (a used slot's link is its owner tag, a free one's is negative). */
  owned(owner: number): number
  /** Used slots per owner tag. */
  usage(): Map<number, number>
  release(data: number): void
}

async function harness(optimize: (typeof LEVELS)[number]): Promise<Harness> {
  const { binary, report } = await build(watAll(COROUTINE), { optimize, imports: ['env.pause'] })
  expect(report.suspendingImports).toEqual(['env.pause'])
  const exported = exportSlotTables(binary)
  expect(exported.kinds.sort()).toEqual(['any', 'exn', 'extern', 'func', 'links'])
  const sched = createStackScheduler({ count: STACKS, dataAddr: 1024, bufferSize: 512 })
  const objects = Array.from({ length: STACKS }, (_, id) => ({ stack: id }))
  const gotErrors: string[] = []
  const got = (id: number, x: unknown): void => {
    if (x !== objects[id]) gotErrors.push(`stack ${id} got back ${String(x)}`)
  }
  const { instance } = await WebAssembly.instantiate(exported.binary, { env: { pause: sched.pause, got } })
  sched.attach(instance)
  const exports = instance.exports
  const tables: Record<string, WebAssembly.Table> = {}
  for (const [k, name] of Object.entries(SLOT_TABLE_EXPORTS)) tables[k] = exports[name] as WebAssembly.Table
  const links = tables.links as WebAssembly.Table
  const usage = (): Map<number, number> => {
    const out = new Map<number, number>()
    for (let i = 0; i < links.length; i++) {
      const v = links.get(i) as number | null
      if (typeof v === 'number' && v >= 0) out.set(v, (out.get(v) ?? 0) + 1)
    }
    return out
  }
  return {
    sched,
    exports,
    tables,
    objects,
    gotErrors,
    usage,
    owned: owner => usage().get(owner) ?? 0,
    release: data => (exports.asyncify_release_refs as (d: number) => void)(data),
  }
}

const ownerOf = (data: number): number => (data >>> 2) & 0x3fffffff

/** Tables grow one slot at a time, together: their length is the most references saved at one time. */
function capacityFor(live: number): number {
  return live
}

function tableLengths(h: Harness): Record<string, number> {
  return Object.fromEntries(Object.entries(h.tables).map(([k, t]) => [k, t.length]))
}

describe.each(LEVELS)('optimize %s', optimize => {
  it('8 stacks, 10,000 pauses resumed in a seeded random order: no slot leaks, values intact', async () => {
    const h = await harness(optimize)
    const { sched } = h
    const random = seededRandom(0x5eed + String(optimize).charCodeAt(0))
    const iterations = (): number => 5 + Math.floor(random() * 40)
    const n = new Array<number>(STACKS).fill(0)
    const start = (id: number): void => {
      n[id] = iterations()
      sched.start(id, 'co', id, h.objects[id], n[id])
    }
    const expectedLive = (): number =>
      sched.stacks.reduce(
        (sum, s) => sum + (s.status === 'paused' ? (REFS_AT_SITE[s.pausedWith?.[1] as number] as number) : 0),
        0,
      )
    for (let id = 0; id < STACKS; id++) start(id)
    let maxLive = 0
    let completed = 0
    const CYCLES = 10_000
    for (let step = 0; step < CYCLES; step++) {
      const paused = sched.stacks.filter(s => s.status === 'paused')
      const s = paused[Math.floor(random() * paused.length)]
      if (s === undefined) throw new Error('no paused stack')
      sched.resume(s.id)
      if (s.status === 'done') {
        expect(s.result).toBe(coSum(s.id, n[s.id] as number))
        completed++
        start(s.id)
      }
      const live = expectedLive()
      maxLive = Math.max(maxLive, live)
      // Every paused stack owns exactly the references it saved (checked on a sample of the steps).
      if (step % 16 === 0 || step >= CYCLES - 8) {
        const usage = h.usage()
        for (const st of sched.stacks) {
          const want = st.status === 'paused' ? REFS_AT_SITE[st.pausedWith?.[1] as number] : 0
          expect(usage.get(ownerOf(st.data)) ?? 0, `stack ${st.id} at step ${step}`).toBe(want)
        }
        expect([...usage.values()].reduce((a, b) => a + b, 0)).toBe(live)
      }
    }
    // Drain: every stack runs to completion.
    for (const st of sched.stacks) {
      while (st.status === 'paused') sched.resume(st.id)
      expect(st.result).toBe(coSum(st.id, n[st.id] as number))
    }
    expect(h.gotErrors).toEqual([])
    expect(h.usage().size).toBe(0)
    const lengths = tableLengths(h)
    console.log(
      `optimize ${optimize}: ${sched.pauses} pauses, ${completed} stacks completed, most references saved at once ${maxLive}, table lengths ${JSON.stringify(lengths)}`,
    )
    expect(sched.pauses).toBeGreaterThanOrEqual(CYCLES)
    // Every table grew only as far as the most references saved at one time, and all together.
    for (const [k, len] of Object.entries(lengths)) expect(len, k).toBe(capacityFor(maxLive))
    expect(maxLive).toBeLessThanOrEqual(STACKS * 7)
  })

  it('asyncify_release_refs frees the slots of abandoned stacks; the next allocations reuse them', async () => {
    const h = await harness(optimize)
    const { sched } = h
    // All 8 stacks paused in $inner (site 1): 7 references each, 56 in all.
    const toSite1 = (): void => {
      for (let id = 0; id < STACKS; id++) {
        sched.start(id, 'co', id, h.objects[id], 1000)
        sched.resume(id)
        expect(sched.stacks[id]?.pausedWith).toEqual([id, 1])
      }
    }
    toSite1()
    const full = tableLengths(h)
    expect(full.links).toBe(56)
    // The externref table holds each stack's object in two slots (co's $ext and inner's $x).
    const ext = h.tables.extern as WebAssembly.Table
    const holding = (o: object): number => {
      let c = 0
      for (let i = 0; i < ext.length; i++) if (ext.get(i) === o) c++
      return c
    }
    expect(h.objects.map(holding)).toEqual(new Array(STACKS).fill(2))
    // Abandon stack 3 and release its slots: only its slots are freed, and its references dropped.
    sched.abandon(3)
    const data3 = sched.stacks[3]?.data as number
    h.release(data3)
    expect(h.owned(ownerOf(data3))).toBe(0)
    expect(holding(h.objects[3] as object)).toBe(0)
    for (const st of sched.stacks) if (st.id !== 3) expect(h.owned(ownerOf(st.data))).toBe(7)
    // Releasing again, or releasing a stack that owns nothing, changes nothing.
    h.release(data3)
    h.release(8)
    expect([...h.usage().values()].reduce((a, b) => a + b, 0)).toBe(49)
    // A new stack on the same buffer takes the freed slots: no growth.
    sched.start(3, 'co', 3, h.objects[3], 1000)
    sched.resume(3)
    expect(h.owned(ownerOf(data3))).toBe(7)
    expect(tableLengths(h)).toEqual(full)
    // Abandon and release everything, then fill all 8 stacks again: still no growth.
    for (const st of sched.stacks) {
      sched.abandon(st.id)
      h.release(st.data)
    }
    expect(h.usage().size).toBe(0)
    toSite1()
    expect(tableLengths(h)).toEqual(full)
    // The stacks paused after the release resume with intact values.
    for (const st of sched.stacks) {
      for (let k = 0; k < 4; k++) sched.resume(st.id)
      expect(st.status).toBe('paused')
    }
    expect(h.gotErrors).toEqual([])
    // Control: abandoning without release leaks: the next 8 stacks need new slots and the tables grow.
    for (const st of sched.stacks) sched.abandon(st.id)
    toSite1()
    expect(tableLengths(h).links).toBe(capacityFor(2 * 56))
    expect(h.gotErrors).toEqual([])
  })
})

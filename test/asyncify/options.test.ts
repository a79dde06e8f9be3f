// Options that decide what is instrumented: imports, onlyList / addList / removeList, propagateAddList,
// asserts. Checked in the report and by running the output.
import { asyncify } from '@unplugin-asyncify/core'
import { describe, expect, it } from 'vitest'
import { instantiateAsyncified } from '../helpers/asyncify-driver.js'
import { build, DRIVER, instrumentedNames, LEVELS, sleeper, wat } from './shared.js'

const MODULE = `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $only_log (param $x i32) (call $log (local.get $x)))
  (func $sleeper (param $x i32) (result i32) (call $sleep (local.get $x)))
  (func $extra (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $calls_extra (param $x i32) (result i32) (call $extra (local.get $x)))
  (func $sleeper_removed (export "sleeper_removed") (param $x i32) (result i32)
    (i32.add (call $sleep (local.get $x)) (i32.const 1)))
  (func $via_removed (export "via_removed") (param $x i32) (result i32)
    (i32.mul (call $sleeper_removed (local.get $x)) (i32.const 2)))
  (func $main (export "main") (param $x i32) (result i32)
    (call $only_log (local.get $x))
    (i32.add (call $sleeper (local.get $x)) (call $calls_extra (local.get $x)))))`

const DEFAULT_INSTRUMENTED = ['main', 'only_log', 'sleeper', 'sleeper_removed', 'via_removed']

async function runMain(binary: Uint8Array): Promise<{ result: unknown; unwinds: number; logged: number[] }> {
  const logged: number[] = []
  const sleep = sleeper((v: number) => v * 10)
  const d = await instantiateAsyncified(
    binary,
    { env: { sleep: sleep.fn, log: (v: number) => logged.push(v) } },
    DRIVER,
  )
  const { result, unwinds } = await d.callWithStats('main', 4)
  return { result, unwinds, logged }
}
// main(4) = sleep(4) + extra(4) = 40 + 5, logging 4 once.
const MAIN_RESULT = { result: 45, unwinds: 1, logged: [4] }

describe.each(LEVELS)('optimize %s', optimize => {
  it('default: every import may suspend', async () => {
    const r = await build(wat(MODULE), { optimize })
    expect(instrumentedNames(r)).toEqual(DEFAULT_INSTRUMENTED)
    expect(r.report.suspendingImports.sort()).toEqual(['env.log', 'env.sleep'])
    expect(await runMain(r.binary)).toEqual(MAIN_RESULT)
  })

  it('imports restricts which imports suspend', async () => {
    for (const imports of [['env.sleep'], ['env.sl*'], ['*.sleep']]) {
      const r = await build(wat(MODULE), { optimize, imports })
      // only_log only calls env.log, which is no longer a site.
      expect(instrumentedNames(r)).toEqual(['main', 'sleeper', 'sleeper_removed', 'via_removed'])
      expect(r.report.suspendingImports).toEqual(['env.sleep'])
      expect(r.report.instrumented.find(f => f.name === 'main')?.sites).toBe(1)
      expect(await runMain(r.binary)).toEqual(MAIN_RESULT)
    }
    const none = await build(wat(MODULE), { optimize, ignoreImports: true })
    expect(instrumentedNames(none)).toEqual([])
    expect(none.report.sites).toBe(0)
  })

  it('onlyList instruments exactly the listed functions', async () => {
    const r = await build(wat(MODULE), { optimize, onlyList: ['main', 'sleeper'] })
    expect(instrumentedNames(r)).toEqual(['main', 'sleeper'])
    expect(r.report.instrumented.every(f => f.reason.join() === 'the onlyList')).toBe(true)
    expect(await runMain(r.binary)).toEqual(MAIN_RESULT)
    const wild = await build(wat(MODULE), { optimize, onlyList: ['sleeper*'] })
    expect(instrumentedNames(wild)).toEqual(['sleeper', 'sleeper_removed'])
  })

  it('addList adds functions; propagateAddList also their callers', async () => {
    const added = await build(wat(MODULE), { optimize, addList: ['extra'] })
    expect(instrumentedNames(added)).toEqual([...DEFAULT_INSTRUMENTED, 'extra'].sort())
    expect(added.report.instrumented.find(f => f.name === 'extra')?.reason).toEqual(['the addList'])
    expect(await runMain(added.binary)).toEqual(MAIN_RESULT)
    const propagated = await build(wat(MODULE), { optimize, addList: ['extra'], propagateAddList: true })
    expect(instrumentedNames(propagated)).toEqual([...DEFAULT_INSTRUMENTED, 'calls_extra', 'extra'].sort())
    expect(await runMain(propagated.binary)).toEqual(MAIN_RESULT)
  })

  it('removeList: the function is not instrumented, nor callers reaching sleep only through it', async () => {
    const r = await build(wat(MODULE), { optimize, removeList: ['sleeper_removed'] })
    expect(instrumentedNames(r)).toEqual(['main', 'only_log', 'sleeper'])
    expect(await runMain(r.binary)).toEqual(MAIN_RESULT)
  })

  it('asserts: a sleeping import called from a removeList function traps', async () => {
    const r = await build(wat(MODULE), { optimize, removeList: ['sleeper_removed'], asserts: true })
    const d = await instantiateAsyncified(r.binary, { env: { sleep: async () => 1, log: () => {} } }, DRIVER)
    await expect(d.call('sleeper_removed', 3)).rejects.toThrow(WebAssembly.RuntimeError)
    expect(d.unwinds).toBe(1)
    const again = await instantiateAsyncified(
      r.binary,
      { env: { sleep: async () => 1, log: () => {} } },
      DRIVER,
    )
    await expect(again.call('via_removed', 3)).rejects.toThrow(WebAssembly.RuntimeError)
    // Instrumented paths are unaffected by the asserts; an uninstrumented one that does not suspend too.
    expect(await runMain(r.binary)).toEqual(MAIN_RESULT)
    const restricted = await build(wat(MODULE), { optimize, imports: ['env.sleep'], asserts: true })
    expect(await runMain(restricted.binary)).toEqual(MAIN_RESULT)
  })
})

it('rejects contradictory lists', async () => {
  await expect(asyncify(wat(MODULE), { onlyList: ['main'], removeList: ['sleeper'] })).rejects.toThrow(
    /onlyList/,
  )
  await expect(asyncify(wat(MODULE), { addList: ['main'], removeList: ['main'] })).rejects.toThrow(/both/)
  await expect(asyncify(wat(MODULE), { removeList: ['log'] })).rejects.toThrow(/imported/)
})

// JS exceptions into wasm, in both modes: a rejected promise (or a synchronous throw) of an import is
// thrown at the call site as that same JS value — `catch_all`, `catch_all_ref` + `throw_ref` and a
// catch of `WebAssembly.JSTag` see it — and, if nothing catches it, the export's promise rejects with it.
import { describe, expect, it } from 'vitest'
import { delay, fixture, MODES, run } from './helpers.js'

const WAT = `(module
  (import "env" "get" (func $get (param i32) (result i32)))
  (import "js" "tag" (tag $js (param externref)))
  (memory (export "memory") 1)
  ;; -1 when get threw (whatever it threw), else its value.
  (func (export "catchAll") (param i32) (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (return (call $get (local.get 0)))))
    (i32.const -1))
  ;; The exception caught as exnref, kept across a second call of get, then rethrown.
  (func (export "rethrowLater") (param i32) (result i32)
    (local $e exnref)
    (local.set $e
      (block $caught (result exnref)
        (try_table (catch_all_ref $caught)
          (return (call $get (local.get 0))))
        (unreachable)))
    (drop (call $get (i32.const 1)))
    (throw_ref (local.get $e)))
  ;; The JS value itself, caught with the JS tag.
  (func (export "jsTag") (param i32) (result externref)
    (block $caught (result externref)
      (try_table (catch $js $caught)
        (drop (call $get (local.get 0)))
        (return (ref.null extern))))))`

for (const mode of MODES)
  describe(`${mode} mode`, () => {
    const get = async (x: number) => {
      await delay(1)
      if (x < 0) throw new RangeError(`negative ${x}`)
      return x * 10
    }
    const setup = async (impl: (x: number) => unknown = get) => {
      const f = await fixture(WAT, { inSecondaryMemory: true })
      return run<{
        catchAll(x: number): Promise<number>
        rethrowLater(x: number): Promise<number>
        jsTag(x: number): Promise<unknown>
      }>(f, mode, {
        env: { get: impl },
        js: { tag: (WebAssembly as unknown as { JSTag: WebAssembly.Tag }).JSTag },
      })
    }

    it('a rejection is caught in wasm by catch_all at the call site', async () => {
      const { exports } = await setup()
      expect(await exports.catchAll(4)).toBe(40)
      expect(await exports.catchAll(-4)).toBe(-1)
      expect(await exports.catchAll(5)).toBe(50)
    })

    it('a catch of WebAssembly.JSTag gets the same object', async () => {
      const boom = { reason: 'boom' }
      const { exports } = await setup(async x => {
        await delay(1)
        if (x === 0) throw boom
        return x
      })
      expect(await exports.jsTag(0)).toBe(boom)
      expect(await exports.jsTag(1)).toBeNull()
    })

    it('an uncaught rejection rejects the export with the original object, also after a throw_ref', async () => {
      const { exports } = await setup()
      const error = await exports.catchAll(2).then(() => exports.rethrowLater(-7).catch((e: unknown) => e))
      expect(error).toBeInstanceOf(RangeError)
      expect((error as Error).message).toBe('negative -7')
      const thrown = new TypeError('mine')
      const { exports: again } = await setup(async x => {
        await delay(1)
        if (x === 3) throw thrown
        return x
      })
      await expect(again.rethrowLater(3)).rejects.toBe(thrown)
      // The instance stays usable.
      expect(await again.catchAll(9)).toBe(9)
    })

    it('a synchronous throw of an import is thrown at the call site too', async () => {
      const thrown = new Error('sync')
      const { exports } = await setup(x => {
        if (x === 0) throw thrown
        return delay(1).then(() => x)
      })
      expect(await exports.catchAll(0)).toBe(-1)
      expect(await exports.jsTag(0)).toBe(thrown)
      await expect(exports.rethrowLater(0)).rejects.toBe(thrown)
      expect(await exports.catchAll(6)).toBe(6)
    })
  })

// nested.ts: recursive algorithms as generator steps, run without the JS stack.
import { describe, expect, it } from 'vitest'
import { runNested, type Step, sub } from '../src/nested.js'

describe('runNested', () => {
  it('hands each sub-step its result back, in order', () => {
    function* fib(n: number): Step<number> {
      if (n < 2) return n
      return (yield* sub(fib(n - 1))) + (yield* sub(fib(n - 2)))
    }
    expect(runNested(fib(20))).toBe(6765)
  })

  it('recurses a million deep (a plain recursive function overflows the JS stack long before)', () => {
    function* depth(n: number): Step<number> {
      return n === 0 ? 0 : 1 + (yield* sub(depth(n - 1)))
    }
    const plain = (n: number): number => (n === 0 ? 0 : 1 + plain(n - 1))
    expect(() => plain(1_000_000)).toThrow(RangeError)
    expect(runNested(depth(1_000_000))).toBe(1_000_000)
  })

  it('passes an exception of a sub-step out of runNested', () => {
    function* fails(n: number): Step<number> {
      if (n > 0) return yield* sub(fails(n - 1))
      throw new Error('inner')
    }
    function* outer(): Step<number> {
      return yield* sub(fails(3))
    }
    expect(() => runNested(outer())).toThrow('inner')
  })
})

// nested.ts: recursive algorithms as generator steps, run without the JS stack.
import { describe, expect, it } from 'vitest'
import { runNested, type Step } from '../src/nested.js'

describe('runNested', () => {
  it('hands each sub-step its result back, in order', () => {
    function* fib(n: number): Step<number> {
      if (n < 2) return n
      return ((yield fib(n - 1)) as number) + ((yield fib(n - 2)) as number)
    }
    expect(runNested(fib(20))).toBe(6765)
  })

  it('recurses a million deep (a plain recursive function overflows the JS stack long before)', () => {
    function* depth(n: number): Step<number> {
      return n === 0 ? 0 : 1 + ((yield depth(n - 1)) as number)
    }
    const plain = (n: number): number => (n === 0 ? 0 : 1 + plain(n - 1))
    expect(() => plain(1_000_000)).toThrow(RangeError)
    expect(runNested(depth(1_000_000))).toBe(1_000_000)
  })

  it('passes an exception of a sub-step out of runNested', () => {
    function* fails(n: number): Step<number> {
      if (n > 0) return (yield fails(n - 1)) as number
      throw new Error('inner')
    }
    function* outer(): Step<number> {
      return (yield fails(3)) as number
    }
    expect(() => runNested(outer())).toThrow('inner')
  })
})

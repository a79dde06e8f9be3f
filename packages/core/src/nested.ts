/**
 * Recursion over nesting depth without the JS stack. The flow rewrite is naturally recursive (a
 * structure's rewrite depends on its lists'), and real modules nest blocks thousands deep. Written as
 * generators, its steps keep their recursive shape: where the recursive version
 * would call itself, a step writes `(yield step) as T`, and `runNested` runs the sub-step on its own
 * explicit stack, handing its result back as the value of the `yield`. Each level costs one generator
 * object on the heap (a typed `yield* sub(step)` wrapper cost a second one, and a delegation, per level:
 * a tenth of the liveness time on vips.wasm).
 *
 * (Simple visits of every instruction use the codec's `walk` / `mapLists` instead.)
 */

/** One step of a nested computation: yields the sub-steps it needs, returns its result. */
export type Step<T> = Generator<Step<unknown>, T, unknown>

/** Runs a step and all the sub-steps it asks for, iteratively. */
export function runNested<T>(root: Step<T>): T {
  const stack: Step<unknown>[] = [root]
  let input: unknown
  for (;;) {
    const top = stack[stack.length - 1] as Step<unknown>
    const r = top.next(input)
    if (r.done === true) {
      stack.pop()
      if (stack.length === 0) return r.value as T
      input = r.value
    } else {
      stack.push(r.value)
      input = undefined
    }
  }
}

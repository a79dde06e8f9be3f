// Imports the fixture with `?asyncify` in a Vitest test (run by ../vitest.test.ts, not by the main suite).
/// <reference types="unplugin-asyncify/client" />
import { expect, it } from 'vitest'
import init, * as glue from '../fixture/engine.wasm?asyncify'
import { runScenarios } from '../fixture/scenarios.js'

it('runs the scenarios of an ?asyncify import', async () => {
  const out = await runScenarios(init, glue)
  expect(out).toMatchObject({
    sleep: 42,
    caughtAfterResume: 1007,
    rejectionCaught: -7,
    resolved: 15,
    version: 1,
  })
  expect(out.concurrent).toEqual(Array.from({ length: 24 }, (_, i) => i))
  expect(out.fiber).toEqual([
    { done: false, value: 0 },
    { done: false, value: 1 },
    { done: false, value: 2 },
    { done: true, value: 60 },
  ])
})

// webpack and Rspack in watch mode (what their dev servers run): a rebuilt engine.wasm on disk triggers a
// rebuild whose bundle runs the new binary.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rspack } from '@rspack/core'
import asyncifyRspack from 'unplugin-asyncify/rspack'
import asyncifyWebpack from 'unplugin-asyncify/webpack'
import { describe, expect, it } from 'vitest'
import webpack from 'webpack'
import { copyFixture, engineWithVersion, runBundle } from './helpers.js'

type Watching = { close(cb: () => void): void }
type Stats = { hasErrors(): boolean; toString(o: object): string }
type Compile = (config: object) => { watch(o: object, cb: (e: Error | null, s?: Stats) => void): Watching }

const bundlers: [string, Compile, (o: object) => object][] = [
  ['webpack', webpack as unknown as Compile, asyncifyWebpack as (o: object) => object],
  ['rspack', rspack as unknown as Compile, asyncifyRspack as (o: object) => object],
]

describe.each(bundlers)('%s watch mode', (_, compile, asyncify) => {
  it('rebuilds when the .wasm changes on disk', async () => {
    const dir = copyFixture('watch')
    const out = join(dir, 'dist')
    const compiler = compile({
      mode: 'development',
      context: dir,
      entry: join(dir, 'main.js'),
      target: 'node',
      devtool: false,
      experiments: { outputModule: true, asyncWebAssembly: true },
      output: {
        path: out,
        filename: 'main.mjs',
        module: true,
        chunkFormat: 'module',
        library: { type: 'module' },
      },
      plugins: [asyncify({ cache: join(dir, '.cache') })],
    })
    const failures: Error[] = []
    let builds = 0
    let waiting: (() => void) | null = null
    const watching = compiler.watch({ aggregateTimeout: 50 }, (error, stats) => {
      if (error) failures.push(error)
      else if (stats?.hasErrors()) failures.push(new Error(stats.toString({ all: false, errors: true })))
      builds++
      waiting?.()
    })
    /** Resolves once more than `seen` builds have finished. */
    const buildAfter = (seen: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no rebuild within 30 s')), 30_000)
        waiting = () => {
          if (builds <= seen) return
          clearTimeout(timer)
          resolve()
        }
        waiting()
      })
    /** Builds until the bundle runs version `v` (webpack may rebuild once more for files copied just before it watched). */
    const untilVersion = async (v: number) => {
      for (;;) {
        const seen = builds
        expect(failures).toEqual([])
        const result = await runBundle(join(out, 'main.mjs'), 'asyncify').catch(() => null)
        if (result?.version === v) return result
        await buildAfter(seen)
      }
    }
    try {
      await buildAfter(0)
      expect(await untilVersion(1)).toMatchObject({ version: 1, sleep: 42 })
      writeFileSync(join(dir, 'engine.wasm'), await engineWithVersion(2))
      expect(await untilVersion(2)).toMatchObject({ version: 2, sleep: 42 })
    } finally {
      await new Promise<void>(resolve => watching.close(resolve))
    }
  })
})

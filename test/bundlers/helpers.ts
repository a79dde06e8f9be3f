// Shared by the plugin's integration tests: the built plugin, fixture builds in child processes (so that
// bundlers build in parallel), and running a bundle in Node 26.
import { execFile, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = dirname(fileURLToPath(import.meta.url))
export const root = join(here, '..', '..')
export const fixture = join(here, 'fixture')

export const BUNDLERS = ['vite8', 'vite7', 'rollup', 'rolldown', 'webpack', 'rspack', 'esbuild'] as const
export type Bundler = (typeof BUNDLERS)[number]

let built = false
/** The bundlers load the plugin from dist (as users do); build it (a no-op when up to date). */
export function ensurePluginBuilt(): void {
  if (built) return
  const r = spawnSync('npx', ['tsc', '-b', 'packages/unplugin'], { cwd: root, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`building packages/unplugin failed:\n${r.stdout}${r.stderr}`)
  built = true
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `asyncify-${prefix}-`))
}

/** A copy of the fixture app in a fresh directory (for tests that change its files). */
export function copyFixture(prefix: string): string {
  const dir = tempDir(prefix)
  cpSync(fixture, dir, { recursive: true })
  return dir
}

function node(args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`node ${args.join(' ')} failed: ${error.message}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T
}

export interface FixtureBuild {
  entry: string
  files: string[]
  log: string
}

/** Builds fixture/main.js with one bundler into `outDir` (see build-fixture.mjs). */
export async function buildFixture(
  bundler: Bundler,
  outDir: string,
  options: object,
  entry?: string,
): Promise<FixtureBuild> {
  const args = [join(here, 'build-fixture.mjs'), bundler, outDir, JSON.stringify(options)]
  const { stdout, stderr } = await node(entry === undefined ? args : [...args, entry], 180_000)
  return { ...lastJson<Omit<FixtureBuild, 'log'>>(stdout), log: stdout + stderr }
}

/** Runs a built fixture in Node 26; returns what app.js's `run` returned. */
export async function runBundle(entry: string, mode?: string): Promise<Record<string, unknown>> {
  const { stdout } = await node([entry, ...(mode === undefined ? [] : [mode])], 30_000)
  return lastJson(stdout)
}

/** Runs `tasks` with at most `limit` at once, in order of the list. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await (tasks[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

/** What app.js's `run` returns for the committed engine.wasm, whatever the mode. */
export const EXPECTED = {
  suspendingExports: [
    'catch_after_resume',
    'catch_rejection',
    'double_after_sleep',
    'fiber_sum',
    'stack_echo',
  ],
  version: 1,
  sleep: 42,
  caughtAfterResume: 1007,
  rejectionCaught: -7,
  resolved: 15,
  concurrent: Array.from({ length: 24 }, (_, i) => i),
  fiber: [
    { done: false, value: 0 },
    { done: false, value: 1 },
    { done: false, value: 2 },
    { done: true, value: 60 },
  ],
}

/** engine.wasm rebuilt with `version()` returning `v` (what a compiler in watch mode would write). */
export async function engineWithVersion(v: number): Promise<Uint8Array> {
  const { watToWasm } = await import('@unplugin-asyncify/core')
  const wat = readFileSync(join(fixture, 'engine.wat'), 'utf8')
  const version = '(func (export "version") (result i32) (i32.const 1))'
  if (!wat.includes(version))
    throw new Error('engine.wat no longer has the version function the tests rewrite')
  return watToWasm(
    wat.replace(version, `(func (export "version") (result i32) (i32.const ${v}))`),
    `engine-v${v}.wat`,
  )
}

/** A Vite dev server (`vite` or the `vite7` alias) on `dir` with the plugin, listening on a free port. */
export async function startDevServer(
  dir: string,
  vite: 'vite' | 'vite7' = 'vite',
): Promise<{ server: import('vite').ViteDevServer; url: string }> {
  const { createServer } = (await import(vite)) as typeof import('vite')
  const asyncify = (await import('unplugin-asyncify/vite')).default
  const server = await createServer({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    plugins: [asyncify({ cache: join(dir, '.cache') })],
    server: { port: 0, host: '127.0.0.1' },
  })
  await server.listen()
  return { server, url: String(server.resolvedUrls?.local[0]).replace(/\/$/, '') }
}

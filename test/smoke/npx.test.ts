// `npx wasm-asyncify` and `npx wasm-inspect` as a new user gets them: in a fresh clone of this repository
// at HEAD right after `npm ci` (the root `prepare` script builds the packages), and in a project that installed the packages from
// `npm pack` tarballs. Both run from a shell-like environment (no node_modules/.bin of this checkout on
// PATH), so the project installed from tarballs runs the commands on the system Node (20 on this
// machine). npm reads the local cache first; npx is kept offline, so a command that npm did not link
// fails at once (ENOTCACHED) instead of asking the registry for a package of that name (a 404).
// Commit before running this: it tests HEAD, not the working tree.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'npx-smoke-'))
const clone = join(work, 'repo')

const PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter(dir => !dir.includes('node_modules'))
  .join(delimiter)
// npm's own variables from the `npm test` that runs us would leak the outer project's settings.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
)
ENV.PATH = PATH

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...ENV, ...env }, encoding: 'utf8', timeout: 240_000 })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error }
}

function ok(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = sh(cmd, args, cwd, env)
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline']
/** npx that never asks the registry: an unlinked command fails instead of being looked up. */
const npx = (args: string[], cwd: string) => sh('npx', args, cwd, { npm_config_offline: 'true' })

const WAT = `(module
  (import "env" "sleep" (func $sleep (param i32)))
  (memory (export "memory") 1)
  (func $main (export "main") (param $n i32) (result i32)
    (call $sleep (local.get $n))
    (i32.add (local.get $n) (i32.const 1))))`

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('npx after a fresh clone', () => {
  beforeAll(() => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    ok('git', ['clone', '--quiet', '--no-checkout', root, clone], work)
    ok('git', ['checkout', '--quiet', '--detach', head], clone)
    ok('npm', ['ci', ...NPM_QUIET], clone)
    writeFileSync(join(clone, 'in.wat'), WAT)
  }, 300_000)

  it('runs wasm-asyncify and wasm-inspect right after npm ci', () => {
    const help = npx(['wasm-asyncify', '--help'], clone)
    expect(help.stderr).toBe('')
    expect(help.stdout).toMatch(/^usage: wasm-asyncify/)
    const run = npx(
      [
        'wasm-asyncify',
        'in.wat',
        '-O1',
        '--asyncify',
        '--pass-arg=asyncify-imports@env.sleep',
        '-o',
        'out.wasm',
      ],
      clone,
    )
    expect(run.stderr).toMatch(/1 functions instrumented, 1 call sites/)
    expect(run.status).toBe(0)
    expect(WebAssembly.validate(readFileSync(join(clone, 'out.wasm')))).toBe(true)
    const inspect = npx(['wasm-inspect', 'out.wasm'], clone)
    expect(inspect.status).toBe(0)
    expect(inspect.stdout).toMatch(/functions/)
  }, 120_000)

  it('says how to build when the packages are not built, and works after npm run build', () => {
    for (const p of ['core', 'wasm']) rmSync(join(clone, 'packages', p, 'dist'), { recursive: true })
    const r = npx(['wasm-asyncify', '--help'], clone)
    expect(r.stderr).toMatch(/wasm-asyncify: not built yet; run `npm run build`/)
    expect(r.status).toBe(1)
    ok('npm', ['run', 'build'], clone)
    expect(npx(['wasm-asyncify', '--help'], clone).stdout).toMatch(/^usage: wasm-asyncify/)
    expect(npx(['wasm-inspect', 'examples/hello.wasm'], clone).status).toBe(0)
  }, 120_000)

  it('runs them in a project that installed the packages from npm pack tarballs', () => {
    const tarballs = join(work, 'tarballs')
    mkdirSync(tarballs)
    const packages = ['wasm', 'runtime', 'core'].map(p => join(clone, 'packages', p))
    ok('npm', ['pack', '--silent', '--pack-destination', tarballs, ...packages], clone)
    const files = readdirSync(tarballs).map(f => join(tarballs, f))
    expect(files).toHaveLength(3)
    const app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    writeFileSync(join(app, 'in.wat'), WAT)
    ok('npm', ['install', ...NPM_QUIET, ...files], app)
    const node = ok('node', ['--version'], app).trim()
    const run = npx(
      ['wasm-asyncify', 'in.wat', '--imports', 'env.sleep', '-o', 'out.wasm', '--report', 'r.json'],
      app,
    )
    expect(run.stderr, `on Node ${node}`).toMatch(/1 functions instrumented/)
    expect(run.status).toBe(0)
    expect(JSON.parse(readFileSync(join(app, 'r.json'), 'utf8')).suspendingExports).toEqual(['main'])
    expect(WebAssembly.validate(readFileSync(join(app, 'out.wasm')))).toBe(true)
    expect(npx(['wasm-inspect', 'out.wasm'], app).status).toBe(0)
    // The library resolves from the installed package too.
    const lib = ok(
      'node',
      ['-e', "import('@unplugin-asyncify/core').then(m => console.log(typeof m.asyncify))"],
      app,
    )
    expect(lib.trim()).toBe('function')
  }, 180_000)
})

// Every code block of README.md, run as its directive says (test/docs/readme.ts): the sample files are
// written to a fresh project directory whose node_modules is this repository's, shell blocks run there
// with bash, Node blocks with Node 26, and each `output` block must be exactly what the block before it
// printed. Each quick start copies the sample app into a directory of its own, writes its config as the
// README shows it, builds with the command the README names (webpack and Rspack through their Node API
// with that config: their CLIs, webpack-cli and @rspack/cli, are not installed here) and opens the output
// in Chromium, which must print what app.js prints. The packages run from dist (built here if missing),
// as a user's project would load them.
import { execFileSync, spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, extname, join, normalize } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, recordingPage } from '../bundlers/browser.js'
import { root, type Sample, samples } from './readme.js'

const all = samples()
const project = mkdtempSync(join(tmpdir(), 'readme-samples-'))
const PATH = [join(root, 'node_modules/.bin'), process.env.PATH ?? ''].join(delimiter)

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { env: { ...process.env, PATH } }).status === 0
}

function where(s: Sample): string {
  return `README.md:${s.line} (${s.kind}${s.arg ? ` ${s.arg}` : ''})`
}

/** Runs a shell or Node sample in the project; resolves to its stdout, or throws with its output. */
function execute(s: Sample): string {
  const [cmd, args] =
    s.kind === 'run'
      ? ['bash', ['-e', '-c', s.code]]
      : (() => {
          const file = join(project, `sample-${s.line}.mjs`)
          writeFileSync(file, s.code)
          return [process.execPath, [file]] as const
        })()
  const r = spawnSync(cmd, args as string[], {
    cwd: project,
    env: { ...process.env, PATH, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (r.status !== 0)
    throw new Error(
      `${where(s)} failed (${r.status ?? r.error}):\n${s.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    )
  return r.stdout
}

/** What the sample app prints (app.js), once built by any bundler and run in the browser. */
const APP_OUTPUT = 'main() = 42; may suspend: main'

/** Where each bundler writes the page's entry with the README's config, and how the page loads it. */
const OUTPUT: Record<string, { entry: string; module: boolean }> = {
  vite: { entry: 'index.html', module: true },
  rollup: { entry: 'app.js', module: true },
  rolldown: { entry: 'app.js', module: true },
  esbuild: { entry: 'app.js', module: true },
  webpack: { entry: 'main.js', module: false },
  rspack: { entry: 'main.js', module: false },
}

/** The config file and build command a quick start names: `// rollup.config.mjs; build with npx rollup -c`. */
function quickStart(s: Sample): { file: string | null; command: string } {
  if (s.lang === 'sh') return { file: null, command: s.code.replace(/\s+#.*$/gm, '').trim() }
  const m = /^\/\/ (\S+); build with (.+)$/.exec(s.code.split('\n')[0] as string)
  if (m === null)
    throw new Error(`${where(s)}: the first line must be // <config file>; build with <command>`)
  return { file: m[1] as string, command: m[2] as string }
}

/** webpack and Rspack without their CLIs: their Node API, with the config file the README shows. */
function apiBuild(bundler: string, config: string): string {
  const [pkg, fn] = bundler === 'webpack' ? ['webpack', 'default'] : ['@rspack/core', 'rspack']
  return `import * as bundler from '${pkg}'
import config from './${config}'
bundler.${fn}(config, (error, stats) => {
  if (error || stats.hasErrors()) {
    console.error(error ?? stats.toString({ all: false, errors: true }))
    process.exitCode = 1
  }
})
`
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
}

/** Serves a directory over HTTP on a free port. */
function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    // The browser asks for one on its own; the sample has none.
    if (path === '/favicon.ico') {
      res.writeHead(204).end()
      return
    }
    const file = join(dir, path === '/' ? 'index.html' : path)
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
    res.end(readFileSync(file))
  })
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }),
    ),
  )
}

let browser: Browser | undefined

/** Builds the sample app as quick start `s` says, in a copy of the project; returns its dist directory. */
function build(s: Sample): string {
  const bundler = s.arg
  const app = join(project, `app-${bundler}-${s.line}`)
  mkdirSync(app)
  for (const f of readdirSync(project))
    if (f !== 'node_modules' && !f.startsWith('app-') && !f.startsWith('sample-'))
      cpSync(join(project, f), join(app, f))
  symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'), 'dir')
  const { file, command } = quickStart(s)
  if (file !== null) writeFileSync(join(app, file), `${s.code}\n`)
  const viaApi = bundler === 'webpack' || bundler === 'rspack'
  if (viaApi) writeFileSync(join(app, 'build-with-api.mjs'), apiBuild(bundler, file as string))
  const r = spawnSync('bash', ['-e', '-c', viaApi ? 'node build-with-api.mjs' : command], {
    cwd: app,
    env: { ...process.env, PATH, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  })
  if (r.status !== 0) throw new Error(`${where(s)}: ${command} failed:\n${r.stdout}\n${r.stderr}`)
  return join(app, 'dist')
}

/** Opens a built app in Chromium; resolves to what it logged (waiting for its first line) and its errors. */
async function open(s: Sample, dist: string): Promise<{ printed: string[]; errors: string[] }> {
  const out = OUTPUT[s.arg]
  if (out === undefined) throw new Error(`${where(s)}: unknown bundler ${s.arg}`)
  if (out.entry !== 'index.html')
    writeFileSync(
      join(dist, 'index.html'),
      `<!doctype html><script${out.module ? ' type="module"' : ''} src="./${out.entry}"></script>`,
    )
  browser ??= await launchChromium()
  const { server, url } = await serve(dist)
  try {
    const { page, errors } = await recordingPage(browser)
    const printed: string[] = []
    page.on('console', m => {
      if (m.type() === 'log') printed.push(m.text())
    })
    await page.goto(url)
    const deadline = Date.now() + 30_000
    while (printed.length === 0 && errors.length === 0 && Date.now() < deadline)
      await new Promise(resolve => setTimeout(resolve, 50))
    await page.close()
    return { printed, errors }
  } finally {
    server.close()
  }
}

beforeAll(() => {
  if (
    !existsSync(join(root, 'packages/core/dist/cli.js')) ||
    !existsSync(join(root, 'packages/unplugin/dist/vite.js'))
  )
    execFileSync(
      'npx',
      ['tsc', '-b', 'packages/wasm', 'packages/runtime', 'packages/core', 'packages/unplugin'],
      {
        cwd: root,
      },
    )
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir')
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'readme-samples', private: true, type: 'module' }),
  )
}, 120_000)

afterAll(async () => {
  await browser?.close()
  rmSync(project, { recursive: true, force: true })
})

describe('README.md samples, in order', () => {
  it('has a directive for every code block, and the kinds the README needs', () => {
    const kinds = new Set(all.map(s => s.kind))
    for (const k of ['file', 'run', 'node', 'output', 'bundler', 'layout', 'not run'])
      expect(kinds, k).toContain(k)
    for (const s of all.filter(x => x.kind === 'output'))
      expect(['run', 'node'], `${where(s)} follows a run or node block`).toContain(
        all[all.indexOf(s) - 1]?.kind,
      )
  })

  let previous = ''
  for (const s of all) {
    if (s.kind === 'file')
      it(`${where(s)}: written to the sample project`, () => {
        expect(s.arg, where(s)).toMatch(/^[\w.-]+$/)
        writeFileSync(join(project, s.arg), `${s.code}\n`)
      })
    else if (s.kind === 'run' || s.kind === 'node')
      it.skipIf(s.needs !== undefined && !onPath(s.needs))(
        `${where(s)}: runs${s.needs ? ` (needs ${s.needs}; skipped without it)` : ''}`,
        () => {
          previous = execute(s)
        },
        180_000,
      )
    else if (s.kind === 'output')
      it(`${where(s)}: is what the block before printed`, () => {
        const before = all[all.indexOf(s) - 1] as Sample
        if (before.needs !== undefined && !onPath(before.needs)) return
        expect(previous.trimEnd(), where(s)).toBe(s.code.trimEnd())
      })
    else if (s.kind === 'bundler')
      it(`${where(s)}: builds the sample app, which runs in Chromium`, async () => {
        const { printed, errors } = await open(s, build(s))
        expect(errors, where(s)).toEqual([])
        expect(printed, where(s)).toEqual([APP_OUTPUT])
      }, 300_000)
    else if (s.kind === 'layout')
      it(`${where(s)}: lists paths that exist`, () => {
        const stack: string[] = []
        for (const line of s.code.split('\n')) {
          // An entry is a name followed by two spaces (or nothing); other lines continue a description.
          const m = /^( *)(\S+)(?: {2,}|$)/.exec(line)
          if (m === null) continue
          const depth = (m[1] as string).length / 2
          const name = m[2] as string
          stack.length = depth
          const path = [...stack, name].join('')
          expect(existsSync(join(root, path)), `${where(s)}: ${path}`).toBe(true)
          if (name.endsWith('/')) stack.push(name)
        }
      })
    else if (s.kind === 'not run')
      it(`${where(s)}: says why it is not run`, () => {
        expect(s.arg.length, where(s)).toBeGreaterThan(20)
        for (const file of s.arg.match(/\btest\/[\w/.-]+\.ts\b|\.ci\/run\b/g) ?? [])
          expect(existsSync(join(root, file)), `${where(s)} names ${file}`).toBe(true)
      })
  }
})

// Every code block of README.md, run as its directive says (test/docs/readme.ts): the sample files are
// written to a fresh project directory whose node_modules is this repository's, shell blocks run there
// with bash, Node blocks with Node 26, and each `output` block must be exactly what the block before it
// printed. The quick starts build the sample app with each bundler and open the result in Chromium.
// The packages run from dist (built here if missing), as a user's project would load them.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

beforeAll(() => {
  if (
    !existsSync(join(root, 'packages/core/dist/cli.js')) ||
    !existsSync(join(root, 'packages/runtime/dist/index.js'))
  )
    execFileSync('npx', ['tsc', '-b', 'packages/wasm', 'packages/runtime', 'packages/core'], { cwd: root })
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir')
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'readme-samples', private: true, type: 'module' }),
  )
}, 120_000)

afterAll(() => rmSync(project, { recursive: true, force: true }))

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
    else if (s.kind === 'layout')
      it(`${where(s)}: lists paths that exist`, () => {
        const stack: string[] = []
        for (const line of s.code.split('\n')) {
          const m = /^( *)(\S+)/.exec(line)
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

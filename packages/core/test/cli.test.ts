// The wasm-asyncify command: our spellings and wasm-opt's, and clear errors with a non-zero exit.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseCliArgs } from '../src/cli-args.js'
import { AsyncifyOptionError } from '../src/errors.js'

const here = dirname(fileURLToPath(import.meta.url))
const cli = join(here, '..', 'dist', 'cli.js')
const work = mkdtempSync(join(tmpdir(), 'wasm-asyncify-'))

const WAT = `(module
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $n i32) (result i32)
    (call $sleep (local.get $n))
    (call $log (local.get $n))
    (i32.add (local.get $n) (i32.const 1))))`

function run(args: string[]): { status: number; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' })
  return { status: r.status ?? -1, stderr: r.stderr, stdout: r.stdout }
}

beforeAll(() => {
  writeFileSync(join(work, 'in.wat'), WAT)
  writeFileSync(join(work, 'bad.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x01, 0x05, 0x01]))
  writeFileSync(join(work, 'imports.txt'), 'env.sleep\n')
})

describe('wasm-asyncify command', () => {
  it('instruments a .wat file and writes a report', () => {
    const r = run(['in.wat', '-o', 'out.wasm', '--report', 'report.json'])
    expect(r.stderr).toMatch(/1 functions instrumented, 2 call sites/)
    expect(r.status).toBe(0)
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8'))
    expect(report.suspendingExports).toEqual(['main'])
    expect(WebAssembly.validate(readFileSync(join(work, 'out.wasm')))).toBe(true)
  })

  it('accepts the wasm-opt command line unchanged', () => {
    const r = run([
      'in.wat',
      '-O1',
      '--asyncify',
      '--pass-arg=asyncify-imports@env.sleep',
      '-o',
      'opt.wasm',
      '-g',
      '--enable-bulk-memory',
    ])
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/1 call sites/)
  })

  it('reads lists from @file', () => {
    const r = run(['in.wat', '-o', 'f.wasm', '--imports', '@imports.txt'])
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/1 call sites/)
  })

  it.each([
    [['in.wat', '-o', 'x.wasm', '--frobnicate'], /option --frobnicate: unknown option/],
    [['in.wat', '-o', 'x.wasm', '--pass-arg=asyncify-nonsense'], /unknown asyncify pass argument/],
    [['in.wat', '-o', 'x.wasm', '--pass-arg=asyncify-imports'], /needs @<list>/],
    [['in.wat'], /no output file/],
    [['-o', 'x.wasm'], /no input file/],
    [['missing.wasm', '-o', 'x.wasm'], /cannot read missing.wasm/],
    [
      ['bad.wasm', '-o', 'x.wasm'],
      /bad\.wasm: section size 5 runs past the end of the module at byte 0x8 \(8\)/,
    ],
    [['in.wat', '-o', 'x.wasm', '--imports', '"env.sleep'], /unbalanced quote/],
    [['in.wat', '-o', 'x.wasm', '--imports', '@nope.txt'], /cannot read list file nope.txt/],
    [['in.wat', '-o', 'x.wasm', '--only-list', 'a', '--remove-list', 'b'], /only-list cannot be combined/],
    [
      ['in.wat', '-o', 'x.wasm', '--secondary-memory-size', 'lots'],
      /secondaryMemorySize: expected a page count/,
    ],
    [
      ['in.wat', '-o', 'x.wasm', '--legacy-exceptions=maybe'],
      /legacyExceptions: expected 'translate' or 'error'/,
    ],
  ])('%j fails with a clear message', (args, message) => {
    const r = run(args)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^wasm-asyncify: /)
    expect(r.stderr).toMatch(message)
  })

  it('prints usage with --help', () => {
    const r = run(['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/usage: wasm-asyncify/)
  })
})

describe('parseCliArgs', () => {
  it('maps wasm-opt pass arguments to options', () => {
    const a = parseCliArgs([
      'in.wasm',
      '-o',
      'out.wasm',
      '--pass-arg=asyncify-imports@env.a,env.b',
      '--pass-arg=asyncify-ignore-indirect',
      '--pass-arg=asyncify-removelist@f*',
      '--pass-arg=asyncify-asserts',
      '--pass-arg=asyncify-relocatable',
      '--pass-arg=asyncify-memory@mem2',
      '--pass-arg=asyncify-in-secondary-memory',
      '--pass-arg=asyncify-secondary-memory-size@4',
      '--pass-arg=asyncify-propagate-addlist',
      '-Oz',
    ])
    expect(a.options).toEqual({
      imports: 'env.a,env.b',
      ignoreIndirect: true,
      removeList: 'f*',
      asserts: true,
      relocatable: true,
      memory: 'mem2',
      inSecondaryMemory: true,
      secondaryMemorySize: 4,
      propagateAddList: true,
      optimize: 'z',
    })
  })

  it('repeated list flags accumulate', () => {
    expect(parseCliArgs(['a', '-o', 'b', '--imports', 'env.a', '--imports=env.b']).options.imports).toBe(
      'env.a,env.b',
    )
  })

  it('throws an option error naming the option', () => {
    expect(() => parseCliArgs(['a', '-o'])).toThrow(AsyncifyOptionError)
    expect(() => parseCliArgs(['a', '-o'])).toThrow(/option -o: needs a value/)
  })
})

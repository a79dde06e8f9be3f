// The wasm-asyncify command: our spellings and wasm-opt's, and clear errors with a non-zero exit.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { METADATA_SECTION } from '@unplugin-asyncify/runtime/abi'
import { decode, encode } from '@unplugin-asyncify/wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseCliArgs } from '../src/cli-args.js'
import { runCommand } from '../src/command.js'
import { AsyncifyOptionError } from '../src/errors.js'
import { resolveOptions } from '../src/options.js'
import { FEATURES, PASSES } from '../src/wasm-opt-flags.js'
import { watToWasm } from '../src/wat.js'

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

/** The command in this process (binaryen loads once): status and output as the real command's. */
async function exec(args: string[], cwd = work): Promise<{ status: number; stderr: string; stdout: string }> {
  const out: string[] = []
  const err: string[] = []
  const status = await runCommand(args, { cwd, out: l => out.push(`${l}\n`), err: l => err.push(`${l}\n`) })
  return { status, stdout: out.join(''), stderr: err.join('') }
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

  it('accepts the wasm-opt command line unchanged', async () => {
    const r = await exec([
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

  it('reads lists from @file', async () => {
    const r = await exec(['in.wat', '-o', 'f.wasm', '--imports', '@imports.txt'])
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
      /option --secondary-memory-size: expected an integer from 1 to 65536, got 'lots'/,
    ],
    [
      ['in.wat', '-o', 'x.wasm', '--legacy-exceptions=maybe'],
      /option --legacy-exceptions: expected one of 'translate', 'error', got 'maybe'/,
    ],
    [['in.wat', '-o', 'x.wasm', '-ol', '7'], /option -ol: expected an integer from 0 to 4, got '7'/],
    [['in.wat', '-o', 'x.wasm', '--shrink-level'], /option --shrink-level: needs a value/],
    [['in.wat', '-o', 'x.wasm', '--asserts=yes'], /option --asserts: takes no value/],
    [['in.wat', '-o', 'x.wasm', '--pass-arg=asyncify-import@env.sleep'], /did you mean asyncify-imports\?/],
    [
      ['in.wat', '-o', 'x.wasm', '--pass-arg=asyncify-asserts@1'],
      /--pass-arg=asyncify-asserts: takes no value/,
    ],
    [['in.wat', '-o', 'x.wasm', '--enable-frobs'], /option --enable-frobs: unknown option/],
    [['in.wat', '-o', 'x.wasm', '-S'], /option -S: not supported: wasm-asyncify writes a binary/],
    [
      ['in.wat', '-o', 'x.wasm', '--output-source-map', 'x.map'],
      /--output-source-map: not supported: source maps/,
    ],
    [['in.wat', '-o', 'x.wasm', '-ttf'], /option -ttf: not supported: a fuzzing flag/],
    [['in.wat', '-o', 'x.wasm', '--asyncify', '--asyncify'], /--asyncify: given twice/],
    [['in.wat', '-o', 'x.wasm', '--strip-debg'], /unknown option \(did you mean --strip-debug\?\)/],
    [
      ['in.wat', '-o', 'x.wasm', '--extract-function'],
      /in\.wat: binaryen pass --extract-function failed: .*pass-arg/,
    ],
  ])('%j fails with a clear message', async (args, message) => {
    const r = await exec(args)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^wasm-asyncify: /)
    expect(r.stderr).toMatch(message)
  })

  it('exits with status 1 and one line naming the flag', () => {
    const r = run(['in.wat', '-o', 'x.wasm', '--frobnicate'])
    expect(r.status).toBe(1)
    expect(r.stderr).toBe('wasm-asyncify: option --frobnicate: unknown option (see --help)\n')
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

// Real wasm-opt command lines with --asyncify, as projects that use binaryen's pass write them, run
// unchanged (file names kept) on one module that has what each of them asks for.
const REAL_MODULE = `(module
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "emscripten_sleep" (func $emscripten_sleep (param i32)))
  (import "env" "invoke_vi" (func $invoke_vi (param i32 i32)))
  (import "env" "crystal_asyncify_switch" (func $crystal_asyncify_switch))
  (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
  (import "asyncify" "stop_rewind" (func $stop_rewind))
  (memory (export "memory") 1)
  (func $swapcontext (param $p i32) (call $start_unwind (local.get $p)))
  (func $fiber_main (export "fiber_main") (call $crystal_asyncify_switch))
  (func $_start (export "_start") (call $fiber_main))
  (func $main (export "main") (param $n i32) (result i32)
    (call $sleep (local.get $n))
    (call $emscripten_sleep (local.get $n))
    (call $invoke_vi (i32.const 0) (local.get $n))
    (call $swapcontext (i32.const 16))
    (i32.add (local.get $n) (i32.const 1))))`

interface RealLine {
  /** Where the line comes from. */
  from: string
  args: string
  /** The input and output file names in `args`. */
  input: string
  output: string
  suspendingImports?: string[]
  passes?: { before: string[]; after: string[] }
  /** Or: the flag it stops at (wasm-opt 132 refuses it too). */
  error?: RegExp
}

const REAL_LINES: RealLine[] = [
  {
    // emscripten tools/link.py get_binaryen_passes() for -O2 -sASYNCIFY -sASSERTIONS, passed by
    // tools/building.py run_binaryen_command() as: passes, infile, -o outfile, feature flags
    // (get_binaryen_feature_flags() returns --detect-features unless finalize extracted them).
    from: 'emscripten-core/emscripten tools/link.py + tools/building.py',
    args:
      '--strip-target-features --post-emscripten -O2 --low-memory-unused --asyncify --pass-arg=asyncify-asserts ' +
      '--pass-arg=asyncify-imports@env.invoke_*,env.emscripten_sleep --zero-filled-memory ' +
      '--pass-arg=directize-initial-contents-immutable in.wasm -o out.wasm --detect-features',
    input: 'in.wasm',
    output: 'out.wasm',
    suspendingImports: ['env.emscripten_sleep', 'env.invoke_vi'],
    passes: { before: ['strip-target-features', 'post-emscripten'], after: [] },
  },
  {
    // emscripten 2.x tools/building.py run_binaryen_command(): --strip-dwarf first when the debug
    // level is not 3, -g when debugging, --mvp-features plus --enable-<feature> per setting.
    from: 'emscripten-core/emscripten 2.x tools/building.py',
    args:
      '--strip-dwarf --post-emscripten -O2 --low-memory-unused --asyncify --pass-arg=asyncify-ignore-indirect ' +
      '--pass-arg=asyncify-imports@env.emscripten_sleep in.wasm -o out.wasm -g --mvp-features --enable-threads',
    input: 'in.wasm',
    output: 'out.wasm',
    suspendingImports: ['env.emscripten_sleep'],
    passes: { before: ['strip-dwarf', 'post-emscripten'], after: [] },
  },
  {
    // emscripten 1.39 emcc.py's BINARYEN_PASSES: --no-exit-runtime is gone from binaryen (132 refuses it too).
    from: 'emscripten-core/emscripten 1.39 emcc.py',
    args:
      '--no-exit-runtime -O2 --post-emscripten --low-memory-unused --strip-debug --strip-producers --asyncify ' +
      '--pass-arg=asyncify-ignore-indirect in.wasm -o out.wasm',
    input: 'in.wasm',
    output: 'out.wasm',
    error: /option --no-exit-runtime: unknown option/,
  },
  {
    // ruby/ruby configure.ac: POSTLINK = $(WASMOPT) --asyncify $(wasmoptflags)
    // --pass-arg=asyncify-ignore-imports -o $@ $@, with wasmoptflags=-O3 (tool/m4/ruby_wasm_tools.m4).
    from: 'ruby/ruby configure.ac + tool/m4/ruby_wasm_tools.m4',
    args: '--asyncify -O3 --pass-arg=asyncify-ignore-imports -o ruby ruby',
    input: 'ruby',
    output: 'ruby',
    suspendingImports: [],
  },
  {
    // ruby/ruby.wasm Rakefile: debug profiles set wasmoptflags = -O3 -g; the line as in ruby/ruby.wasm#230.
    from: 'ruby/ruby.wasm Rakefile, issue #230',
    args: '--asyncify -O3 -g --pass-arg=asyncify-ignore-imports -o ruby.opt ruby.raw',
    input: 'ruby.raw',
    output: 'ruby.opt',
    suspendingImports: [],
  },
  {
    // crystal-lang/crystal#13107 (fiber switching): opt_flags for a release build with debug info.
    from: 'crystal-lang/crystal pull request #13107 src/compiler/crystal/compiler.cr',
    args: 'main.wasm -o main.wasm --asyncify --pass-arg=asyncify-ignore-imports -Os --all-features -g',
    input: 'main.wasm',
    output: 'main.wasm',
    suspendingImports: [],
  },
  {
    // crimson-knight/crystal (WebAssembly branch) src/compiler/crystal/compiler.cr run_wasm_opt_pass().
    from: 'crimson-knight/crystal src/compiler/crystal/compiler.cr',
    args:
      'main.wasm -o main.wasm --asyncify --pass-arg=asyncify-removelist@_start ' +
      '--pass-arg=asyncify-imports@env.crystal_asyncify_switch --all-features',
    input: 'main.wasm',
    output: 'main.wasm',
    suspendingImports: ['env.crystal_asyncify_switch'],
  },
  {
    // jasl/mruby_wasi README.md.
    from: 'jasl/mruby_wasi README.md',
    args: '-g --asyncify -O3 --pass-arg=asyncify-ignore-imports -o bin/mruby.wasm mruby.wasm',
    input: 'mruby.wasm',
    output: 'bin/mruby.wasm',
    suspendingImports: [],
  },
  {
    // superfaceai/one-sdk core/build.sh: --pass-arg and its value as two arguments, --output.
    from: 'superfaceai/one-sdk core/build.sh',
    args:
      '-O2 --asyncify --pass-arg=asyncify-asserts --pass-arg asyncify-imports@env.sleep,env.emscripten_sleep ' +
      'core.wasm --output core-async.wasm',
    input: 'core.wasm',
    output: 'core-async.wasm',
    suspendingImports: ['env.emscripten_sleep', 'env.sleep'],
  },
  {
    // wasmerio/winterjs build.sh.
    from: 'wasmerio/winterjs build.sh',
    args: 'x.wasm -o winter.wasm -O1 --enable-bulk-memory --enable-threads --enable-reference-types --no-validation --asyncify',
    input: 'x.wasm',
    output: 'winter.wasm',
    suspendingImports: ['env.crystal_asyncify_switch', 'env.emscripten_sleep', 'env.invoke_vi', 'env.sleep'],
  },
  {
    // lord/wasmexperiments build.sh: a bare -O (= -Os) before --asyncify.
    from: 'lord/wasmexperiments build.sh',
    args: 'wasm.wasm -O --asyncify --pass-arg=asyncify-imports@env.sleep -o out.wasm',
    input: 'wasm.wasm',
    output: 'out.wasm',
    suspendingImports: ['env.sleep'],
  },
]

describe('real wasm-opt command lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-asyncify-lines-'))
  let module: Uint8Array

  beforeAll(async () => {
    mkdirSync(join(dir, 'bin'))
    module = await watToWasm(REAL_MODULE, 'real.wat')
  })

  it.each(REAL_LINES)('$from', async line => {
    const argv = line.args.split(' ')
    writeFileSync(join(dir, line.input), module)
    if (line.error !== undefined) {
      expect(() => parseCliArgs(argv)).toThrow(line.error)
      return
    }
    const parsed = parseCliArgs(argv)
    expect(parsed.input).toBe(line.input)
    expect(parsed.output).toBe(line.output)
    if (line.passes !== undefined) expect(parsed.passes).toEqual(line.passes)
    const r = await exec([...argv, '--report', 'report.json'], dir)
    expect(r.stderr).toMatch(/functions instrumented/)
    expect(r.status).toBe(0)
    const out = readFileSync(join(dir, line.output))
    expect(WebAssembly.validate(out)).toBe(true)
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))
    const fromEnv = (report.suspendingImports as string[]).filter(n => !n.startsWith('asyncify.'))
    expect(fromEnv.sort()).toEqual(line.suspendingImports)
    expect(report.instrumented.map((f: { name: string }) => f.name)).toContain('main')
  })
})

describe('every wasm-opt flag', () => {
  const wasmOpt = join(here, '..', '..', '..', 'node_modules', 'binaryen', 'bin', 'wasm-opt')
  const help = spawnSync(process.execPath, [wasmOpt, '--help'], { encoding: 'utf8' }).stdout
  // Option lines of wasm-opt's help: "  --output,-o    Output file", "   -O2    execute -O2 ...".
  const flags = [...help.matchAll(/^ {2,3}(-[\w-]+(?:,-[\w-]+)*)\s/gm)].flatMap(m =>
    (m[1] as string).split(','),
  )

  it('reads wasm-opt 132 help', () => {
    expect(flags.length).toBeGreaterThan(300)
    expect(flags).toContain('--asyncify')
    expect(flags).toContain('--shrink-level')
  })

  it('is accepted, or refused with a message naming it', () => {
    const outcomes = new Map<string, string>()
    for (const flag of flags) {
      const attempt = (extra: string[]): string => {
        try {
          const a = parseCliArgs(['in.wasm', '-o', 'out.wasm', flag, ...extra])
          return a.passes.after.length > 0 ? `pass ${a.passes.after.join()}` : 'accepted'
        } catch (e) {
          expect(e).toBeInstanceOf(AsyncifyOptionError)
          expect((e as AsyncifyOptionError).option).toBe(flag)
          return (e as Error).message
        }
      }
      let outcome = attempt([])
      if (outcome.endsWith('needs a value')) outcome = attempt(['1'])
      outcomes.set(flag, outcome)
      expect(outcome, flag).not.toMatch(/unknown option|needs a value/)
    }
    expect(outcomes.get('--strip-dwarf')).toBe('pass strip-dwarf')
    expect(outcomes.get('--optimize-level')).toBe('accepted')
    expect(outcomes.get('--emit-text')).toMatch(/not supported/)
  })

  it('lists no pass or feature wasm-opt does not have', () => {
    for (const p of PASSES) expect(flags, p).toContain(`--${p}`)
    for (const f of FEATURES) expect(flags, f).toContain(`--enable-${f}`)
  })
})

describe('wasm-opt spellings', () => {
  const customs = (file: string): string[] => decode(readFileSync(join(work, file))).customs.map(c => c.name)

  beforeAll(async () => {
    // The module with a DWARF section, as clang -g writes one.
    const m = decode(await watToWasm(REAL_MODULE, 'real.wat'))
    m.customs.push({ name: '.debug_info', data: new Uint8Array([1, 2, 3, 4]), after: 10 })
    writeFileSync(join(work, 'dwarf.wasm'), encode(m))
  })

  it.each([
    [['--optimize-level=3', '--shrink-level=1'], { optimizeLevel: 3, shrinkLevel: 1 }],
    [['-ol', '1', '-s', '2'], { optimizeLevel: 1, shrinkLevel: 2 }],
    [['-Oz'], { optimize: 'z', optimizeLevel: 2, shrinkLevel: 2 }],
    [['-O'], { optimize: 's', optimizeLevel: 2, shrinkLevel: 1 }],
    // As in wasm-opt, -O<n> resets an -ol/-s before it, and one after it overrides the level -O<n> set.
    [['-ol', '3', '-O1'], { optimize: 1, optimizeLevel: 1, shrinkLevel: 0 }],
    [['-O1', '-ol', '3'], { optimize: 1, optimizeLevel: 3, shrinkLevel: 0 }],
    [['-g'], { debugInfo: true }],
    [['--debuginfo'], { debugInfo: true }],
    [['-c'], { converge: true }],
    [['--converge'], { converge: true }],
    [
      ['-lmu', '--zero-filled-memory', '-tnh'],
      { lowMemoryUnused: true, zeroFilledMemory: true, trapsNeverHappen: true },
    ],
    [['-sp', 'inlining', '--skip-pass=dce'], { skipPasses: ['inlining', 'dce'] }],
    [
      ['--pass-arg=directize-initial-contents-immutable'],
      { passArgs: { 'directize-initial-contents-immutable': '1' } },
    ],
  ])('%j sets the options', (flags, expected) => {
    const a = parseCliArgs(['in.wasm', '-o', 'out.wasm', ...flags])
    expect(resolveOptions(a.options)).toMatchObject(expected)
  })

  it('--debuginfo keeps names through binaryen; without it -O drops them', async () => {
    expect((await exec(['in.wat', '-o', 'g.wasm', '-O1', '--debuginfo'])).status).toBe(0)
    expect(customs('g.wasm')).toContain('name')
    expect((await exec(['in.wat', '-o', 'nog.wasm', '-O1'])).status).toBe(0)
    expect(customs('nog.wasm')).not.toContain('name')
  })

  it('--strip-dwarf drops DWARF and keeps names; --strip-debug drops both; the metadata stays', async () => {
    expect((await exec(['dwarf.wasm', '-o', 'kept.wasm', '-q'])).status).toBe(0)
    expect(customs('kept.wasm')).toEqual(expect.arrayContaining(['.debug_info', 'name', METADATA_SECTION]))
    expect((await exec(['dwarf.wasm', '-o', 'nodwarf.wasm', '--strip-dwarf', '-g'])).status).toBe(0)
    expect(customs('nodwarf.wasm')).not.toContain('.debug_info')
    expect(customs('nodwarf.wasm')).toEqual(expect.arrayContaining(['name', METADATA_SECTION]))
    // (With -g, binaryen writes its own function names again, as wasm-opt does.)
    expect((await exec(['dwarf.wasm', '-o', 'nodebug.wasm', '--strip-debug'])).status).toBe(0)
    expect(customs('nodebug.wasm')).not.toContain('.debug_info')
    expect(customs('nodebug.wasm')).not.toContain('name')
    expect(customs('nodebug.wasm')).toContain(METADATA_SECTION)
  })

  it('binaryen passes run on the input before --asyncify and on the output after it', async () => {
    // --remove-imports replaces calls to imports with nothing: first, nothing is left to suspend.
    const before = await exec(['in.wat', '-o', 'ri1.wasm', '--remove-imports', '--asyncify'])
    expect(before.stderr).toMatch(/ 0 functions instrumented/)
    const after = await exec(['in.wat', '-o', 'ri2.wasm', '--asyncify', '--remove-imports'])
    expect(after.stderr).toMatch(/ 1 functions instrumented/)
    expect(decode(readFileSync(join(work, 'ri2.wasm'))).imports).toEqual([])
    // Without --asyncify on the line, passes run after the rewrite.
    expect((await exec(['in.wat', '-o', 'ri3.wasm', '--remove-imports'])).stderr).toMatch(
      / 1 functions instrumented/,
    )
  })

  it('--converge, --mvp-features, --detect-features and -q are accepted', async () => {
    const once = await exec(['in.wat', '-o', 'once.wasm', '-Oz'])
    const conv = await exec([
      'in.wat',
      '-o',
      'conv.wasm',
      '-Oz',
      '--converge',
      '--mvp-features',
      '--detect-features',
    ])
    expect(conv.status).toBe(0)
    expect(readFileSync(join(work, 'conv.wasm')).length).toBeLessThanOrEqual(
      readFileSync(join(work, 'once.wasm')).length,
    )
    expect(once.stderr).not.toBe('')
    const quiet = await exec(['in.wat', '-o', 'q.wasm', '-q', '-iit'])
    expect(quiet.status).toBe(0)
    expect(quiet.stderr).toBe('')
    // Without -q, the flag binaryen.js cannot honour is named.
    expect((await exec(['in.wat', '-o', 'q.wasm', '--ignore-implicit-traps'])).stderr).toMatch(
      /warning: --ignore-implicit-traps is ignored/,
    )
  })

  it('prints its version', async () => {
    const r = await exec(['--version'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^wasm-asyncify \d+\.\d+\.\d+/)
  })
})

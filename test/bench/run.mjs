// Benchmark runner: `npm run bench [-- options]`. Prints markdown tables and updates test/bench/RESULTS.md.
//
//   --only <suite,...>    run only these suites (available: see SUITES below)
//   --modules <name,...>  corpus modules for the codec suite (quickjs, vips, swc; default all); the
//                         asyncify suite always measures quickjs, the eh suite vips (and a WAT module)
//   --runs <N>            fresh processes per measurement, median reported (default 3)
//   --quick               1 run, skip swc, and do not write RESULTS.md (unless --write)
//   --write / --no-write  force / skip updating RESULTS.md
//
// Measurements use the built packages (dist), not the TypeScript sources.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
// Node 26 runs the TypeScript helper directly (type stripping): one list of corpus paths.
import { corpus } from '../helpers/corpus.ts'
import * as asyncify from './asyncify.mjs'
import * as asyncifyLarge from './asyncify-large.mjs'
import * as codec from './codec.mjs'
import * as eh from './eh.mjs'
import { updateSection } from './lib.mjs'
import * as plugin from './plugin.mjs'
import * as runtime from './runtime.mjs'

/**
 * Benchmark suites; each owns the `<!-- name:start -->` … `<!-- name:end -->` section of RESULTS.md.
 * Optional exports: `packages` (the built packages it imports; default ['wasm']) and `inputs` (a label
 * for a suite with a fixed input, which ignores --modules).
 */
const SUITES = [codec, asyncify, asyncifyLarge, eh, runtime, plugin]

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const RESULTS = join(here, 'RESULTS.md')

function usage() {
  return [
    'usage: npm run bench -- [--only <suite,...>] [--modules <name,...>] [--runs N] [--quick] [--write|--no-write]',
    `suites: ${SUITES.map(s => `${s.name} (${s.description})`).join('; ')}`,
    `modules: ${corpus()
      .map(m => m.name)
      .join(', ')}`,
  ].join('\n')
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      modules: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean' },
      'no-write': { type: 'boolean' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const list = value =>
    value
      ?.split(',')
      .map(s => s.trim())
      .filter(Boolean)
  const runs = values.runs === undefined ? (values.quick ? 1 : 3) : Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs wants a positive integer, got ${values.runs}`)
  const only = list(values.only)
  for (const name of only ?? []) {
    if (!SUITES.some(s => s.name === name)) throw new Error(`unknown suite ${name}\n${usage()}`)
  }
  const all = corpus()
  const wanted = list(values.modules)
  for (const name of wanted ?? []) {
    if (!all.some(m => m.name === name)) throw new Error(`unknown module ${name}\n${usage()}`)
  }
  const modules = all.filter(m => (wanted ? wanted.includes(m.name) : !(values.quick && m.name === 'swc')))
  const write = values['no-write'] ? false : (values.write ?? !values.quick)
  return { help: values.help, only, modules, runs, write }
}

/** Source files (relative to src) whose compiled dist/<name>.js is missing or older than the source. */
function staleSources(pkg, dir = '') {
  const stale = []
  for (const entry of readdirSync(join(pkg, 'src', dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name)
    if (entry.isDirectory()) stale.push(...staleSources(pkg, rel))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = join(pkg, 'dist', rel.replace(/\.ts$/, '.js'))
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(pkg, 'src', rel)).mtimeMs) stale.push(rel)
    }
  }
  return stale
}

/** Builds packages/<name> (with what it references) if its dist is missing; warns if dist looks older than src. */
function ensureBuilt(name) {
  const pkg = join(root, 'packages', name)
  const entry = join(pkg, 'dist', 'index.js')
  if (!existsSync(entry)) {
    console.error(`packages/${name}/dist is missing: running \`npx tsc -b packages/${name}\` …`)
    try {
      execFileSync('npx', ['tsc', '-b', `packages/${name}`], {
        cwd: root,
        stdio: 'inherit',
        shell: process.platform === 'win32',
      })
    } catch {
      throw new Error(`building packages/${name} failed; run \`npm run build\` first`)
    }
    if (!existsSync(entry))
      throw new Error(`packages/${name}/dist/index.js is still missing; run \`npm run build\` first`)
    return
  }
  const stale = staleSources(pkg)
  if (stale.length > 0) {
    console.error(
      `warning: packages/${name}/dist is older than src (${stale.join(', ')}); ` +
        'results are for the last build (run `npm run build` to refresh)',
    )
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2))
  if (options.help) {
    console.log(usage())
    return 0
  }
  const suites = SUITES.filter(s => !options.only || options.only.includes(s.name))
  for (const name of new Set(suites.flatMap(s => s.packages ?? ['wasm']))) ensureBuilt(name)
  let failed = 0
  for (const suite of suites) {
    const on = suite.inputs ?? options.modules.map(m => m.name).join(', ')
    console.error(`[${suite.name}] ${options.runs} run(s) per measurement on ${on}`)
    const result = await suite.run({
      runs: options.runs,
      modules: options.modules,
      log: line => console.error(line),
    })
    failed += result.failed
    console.log(`\n${result.markdown}\n`)
    if (options.write) {
      updateSection(RESULTS, suite.name, result.markdown)
      console.error(`[${suite.name}] updated test/bench/RESULTS.md`)
    }
  }
  if (!options.write)
    console.error('RESULTS.md not updated (--quick or --no-write; pass --write to update it)')
  else {
    // The README's benchmark table and docs/bench.svg are generated from RESULTS.md.
    execFileSync(process.execPath, [join(root, 'scripts/bench-chart.mjs')], { stdio: 'inherit' })
  }
  return failed > 0 ? 1 : 0
}

main().then(
  code => {
    process.exitCode = code
  },
  error => {
    console.error(error.message)
    process.exitCode = 1
  },
)

// One runtime measurement in a fresh process (test/bench/runtime.mjs runs these). Prints one JSON line.
//
//   roundtrip <level> <depth,...> <count>
//       roundtrip-module.mjs through @unplugin-asyncify/runtime (packages/runtime/dist): asyncify mode (our
//       rewrite at `level`), JSPI mode (the original module), and, as the anchor, JSPI without the runtime
//       (Suspending + promising by hand). One round trip: `await run(depth)`, the import returning an already
//       resolved promise. Per depth: `count` warm-up round trips of each, then ROUNDS rounds, each timing one
//       batch (about BATCH_MS) of each kind in turn, rotating which goes first: the median batch per kind,
//       and the median over rounds of the per-round ratios.
//   fibers <count>
//       Fiber switches in both modes, timed the same way after `count` warm-up ones: a JS fiber resumed
//       (each resume + yield is two switches), and test/runtime/fixtures/fibers-O2.wasm's pingpong(n)
//       (n emscripten_fiber_swap switches).
//   exports <count>
//       A non-suspending export through the runtime against the raw export, timed the same way after
//       `count` warm-up calls.
//   size
//       The runtime's entries bundled by esbuild (minified, ESM, es2022), gzip -9. Code-split, as a bundler
//       for browsers does: per mode, the files a page loads on the common path (a module with metadata,
//       no start section), each gzipped on its own as it is fetched, summed; the chunks loaded on demand;
//       and one file without splitting (every chunk inlined, as a bundle without code splitting ships).
//       Every dynamic import must be listed in ON_DEMAND or PER_MODE, so that a new one is measured.
//       When Vite resolves, also a Vite production build of a page that imports the entry.
//
// binaryen and the packages are loaded, and modules compiled, before any clock starts.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { expected, ROUNDTRIP_WAT } from './roundtrip-module.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '../../packages/runtime/dist')
const [op, ...args] = process.argv.slice(2)
const ROUNDS = 101
const BATCH_MS = 0.5

const usage = () => {
  console.error(
    'usage: runtime-worker.mjs roundtrip <level> <depth,...> <count> | fibers <count> | exports <count> | size',
  )
  process.exit(2)
}

const count = text => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 2) usage()
  return n
}

const { instantiate } = await import(join(dist, 'index.js'))
const { Suspending, promising } = WebAssembly
const binaryen = (await import('binaryen')).default

function wat(text, features = binaryen.Features.MVP | binaryen.Features.MutableGlobals) {
  const m = binaryen.parseText(text)
  m.setFeatures(features)
  const bytes = m.emitBinary()
  m.dispose()
  return bytes
}

async function ours(original, options) {
  const { asyncify } = await import('../../packages/core/dist/index.js')
  return (await asyncify(original, options)).binary
}

/**
 * Times `kinds` (name → async function running `size` operations) against each other: ROUNDS rounds, each
 * one short batch of every kind (the first kind rotating), a batch (at least `minSize` operations) lasting about BATCH_MS so that most
 * run unpreempted on a loaded machine. Returns the median µs per operation of each kind, and `ratio(a, b)`,
 * the median over rounds of a's batch time over b's (taken under the same load).
 */
async function alternate(kinds, minSize = 4) {
  const names = Object.keys(kinds)
  let size = minSize
  for (;;) {
    const t0 = performance.now()
    await kinds[names[0]](size)
    if (performance.now() - t0 >= BATCH_MS || size >= 1 << 22) break
    size *= 2
  }
  const times = Object.fromEntries(names.map(n => [n, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]
      const t0 = performance.now()
      await kinds[name](size)
      times[name].push(((performance.now() - t0) * 1000) / size)
    }
  }
  const median = list => [...list].sort((a, b) => a - b)[list.length >> 1]
  const ratio = (a, b) => median(times[a].map((t, i) => t / times[b][i]))
  return { us: Object.fromEntries(names.map(n => [n, median(times[n])])), ratio, size }
}

async function roundtrip([levelText, depthsText, countText]) {
  const level = Number(levelText)
  const depths = (depthsText ?? '').split(',').map(Number)
  const n = count(countText)
  if (!depths.every(d => Number.isInteger(d) && d >= 1)) usage()
  const original = wat(ROUNDTRIP_WAT)
  const binary = await ours(original, { optimize: level })
  const resolved = Promise.resolve()
  const env = { env: { sleep: () => resolved } }
  const pair = { asyncify: binary, original }
  const options = {
    region: { start: 1024, size: 64 * 1024 },
    asyncifyStackSize: 32 * 1024,
    stackPointer: false,
  }
  const a = await instantiate(pair, env, { ...options, mode: 'asyncify' })
  const j = await instantiate(pair, env, { ...options, mode: 'jspi' })
  const raw = (await WebAssembly.instantiate(original, { env: { sleep: new Suspending(() => resolved) } }))
    .instance
  const r = promising(raw.exports.run)
  const loop = run => async (depth, size, want) => {
    for (let i = 0; i < size; i++)
      if ((await run(depth)) !== want) throw new Error(`run(${depth}) returned a wrong value`)
  }
  const kinds = { asyncify: loop(a.exports.run), jspi: loop(j.exports.run), jspiRaw: loop(r) }
  const perDepth = {}
  for (const depth of depths) {
    const want = expected(depth)
    for (const k of Object.values(kinds)) await k(depth, n, want)
    const bound = Object.fromEntries(
      Object.entries(kinds).map(([name, k]) => [name, size => k(depth, size, want)]),
    )
    const t = await alternate(bound)
    perDepth[depth] = {
      ...t.us,
      asyncifyVsJspi: t.ratio('asyncify', 'jspi'),
      asyncifyVsJspiRaw: t.ratio('asyncify', 'jspiRaw'),
    }
  }
  return {
    op: 'roundtrip',
    level,
    count: n,
    perDepth,
    moduleBytes: { ours: binary.length, original: original.length },
  }
}

const FIBER_WAT = `(module
  (import "fiber" "yield" (func $yield (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "loop") (param $x i32) (result i32)
    (loop $l (local.set $x (call $yield (local.get $x))) (br $l))
    (local.get $x)))`

async function fibers([countText]) {
  const n = count(countText)
  const original = wat(FIBER_WAT)
  const binary = await ours(original, { inSecondaryMemory: true })
  const js = {}
  for (const mode of ['asyncify', 'jspi']) {
    const { fibers } = await instantiate({ asyncify: binary, original }, {}, { mode })
    const fiber = fibers.create('loop', 0, { asyncifyStackSize: 1024 })
    await fiber.resume()
    js[mode] = async size => {
      for (let i = 0; i < size; i++)
        if ((await fiber.resume(i)).value !== i) throw new Error('the fiber yielded a wrong value')
    }
    await js[mode](n)
  }
  const jsFibers = await alternate(js)

  // emscripten_fiber_swap in the C fixture; its WASI imports are stubs (pingpong prints nothing).
  const { wasiShim } = await import('../runtime/wasi.ts')
  const c = new Uint8Array(readFileSync(join(here, '../runtime/fixtures/fibers-O2.wasm')))
  const cBinary = await ours(c, { imports: ['env.emscripten_fiber_swap', 'env.pause'] })
  const em = {}
  for (const mode of ['asyncify', 'jspi']) {
    const wasi = wasiShim()
    const { exports } = await instantiate(
      { asyncify: cBinary, original: c },
      { ...wasi.imports, env: { pause: async x => x } },
      { mode },
    )
    wasi.bind(exports.memory)
    await exports._initialize()
    em[mode] = async size => {
      if ((await exports.pingpong(size)) !== size) throw new Error('pingpong made a wrong number of switches')
    }
    await em[mode](n)
  }
  // At least 1024 swaps per call: pingpong starts two fresh fibers per call, which is not a switch.
  const swaps = await alternate(em, 1024)
  return {
    op: 'fibers',
    count: n,
    jsResume: { ...jsFibers.us, asyncifyVsJspi: jsFibers.ratio('asyncify', 'jspi') },
    emscriptenSwap: { ...swaps.us, asyncifyVsJspi: swaps.ratio('asyncify', 'jspi') },
  }
}

async function exportsOp([countText]) {
  const n = count(countText)
  const original = wat(`(module
    (import "env" "sleep" (func $sleep))
    (memory (export "memory") 1)
    (func (export "pure") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func (export "sleepy") (call $sleep)))`)
  const binary = await ours(original, { inSecondaryMemory: true })
  const { exports, instance } = await instantiate(binary, { env: { sleep: async () => {} } })
  const call = f => size => {
    let x = 0
    for (let i = 0; i < size; i++) x = f(x)
    if (x !== size) throw new Error('pure returned a wrong value')
  }
  const kinds = { runtime: call(exports.pure), raw: call(instance.exports.pure) }
  for (const k of Object.values(kinds)) k(n)
  const t = await alternate(kinds)
  return {
    op: 'exports',
    count: n,
    same: exports.pure === instance.exports.pure,
    ...t.us,
    ratio: t.ratio('runtime', 'raw'),
  }
}

/**
 * Chunks the runtime loads only on paths off the common one (dist file → when), and the chunks each mode
 * loads on its common path besides the entry's (none: both drivers and the fiber support are in the entry).
 */
const ON_DEMAND = {
  'binary.js': 'start sections, binaries without metadata, the metadata of a JSPI pair from bytes',
}
const PER_MODE = { asyncify: [], jspi: [] }

async function size() {
  const { buildSync } = await import('esbuild')
  const gz = bytes => gzipSync(bytes, { level: 9 }).length
  const out = {}
  for (const [entry, key] of [
    ['no-fibers.js', 'noFibers'],
    ['index.js', 'fibers'],
  ]) {
    const options = { entryPoints: [join(dist, entry)], bundle: true, minify: true, format: 'esm' }
    const r = buildSync({
      ...options,
      target: 'es2022',
      splitting: true,
      write: false,
      metafile: true,
      outdir: '/out',
    })
    const name = p => p.replace(/^.*out\//, '')
    const files = new Map(r.outputFiles.map(f => [name(f.path), f.contents]))
    const outputs = Object.fromEntries(Object.entries(r.metafile.outputs).map(([p, o]) => [name(p), o]))
    const chunkOf = src => Object.keys(outputs).find(p => outputs[p].entryPoint?.endsWith(`dist/${src}`))
    for (const [file, o] of Object.entries(outputs))
      for (const i of o.imports)
        if (i.kind === 'dynamic-import') {
          const src = outputs[name(i.path)]?.entryPoint
          const known = Object.keys(ON_DEMAND).concat(...Object.values(PER_MODE))
          if (!known.some(k => src?.endsWith(`dist/${k}`)))
            throw new Error(`${file} imports ${src ?? i.path} on demand: list it in ON_DEMAND or PER_MODE`)
        }
    // A file and what it imports statically.
    const closure = (file, seen = new Set()) => {
      if (file === undefined || seen.has(file)) return seen
      seen.add(file)
      for (const i of outputs[file].imports) if (i.kind === 'import-statement') closure(name(i.path), seen)
      return seen
    }
    const measure = set => {
      const list = [...set]
      return {
        files: list.length,
        minified: list.reduce((n, f) => n + files.get(f).length, 0),
        gzip: list.reduce((n, f) => n + gz(files.get(f)), 0),
      }
    }
    const modeSet = mode => {
      const set = closure(chunkOf(entry))
      for (const src of PER_MODE[mode]) closure(chunkOf(src), set)
      return set
    }
    const single = buildSync({ ...options, target: 'es2022', write: false }).outputFiles[0].contents
    out[key] = {
      asyncify: measure(modeSet('asyncify')),
      jspi: measure(modeSet('jspi')),
      onDemand: Object.fromEntries(
        Object.keys(ON_DEMAND).map(src => [src, measure(new Set([chunkOf(src)]))]),
      ),
      single: { files: 1, minified: single.length, gzip: gz(single) },
      vite: await viteSize(entry),
    }
  }
  return { op: 'size', ...out }
}

/**
 * A Vite production build of a page whose script imports `entry` from dist (no modulepreload polyfill,
 * which every Vite page has anyway): the JS of the page's own chunk (runtime and Vite's helpers), gzip -9.
 * Null where Vite does not resolve.
 */
async function viteSize(entry) {
  let vite
  try {
    vite = await import('vite')
  } catch {
    return null
  }
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const root = mkdtempSync(join(tmpdir(), 'runtime-size-'))
  try {
    writeFileSync(join(root, 'index.html'), '<script type="module" src="./main.js"></script>')
    writeFileSync(
      join(root, 'main.js'),
      `import { instantiate } from ${JSON.stringify(join(dist, entry))}\nglobalThis.instantiate = instantiate\n`,
    )
    const r = await vite.build({
      root,
      logLevel: 'silent',
      configFile: false,
      build: { write: false, target: 'es2022', modulePreload: { polyfill: false } },
    })
    const chunks = (Array.isArray(r) ? r[0] : r).output.filter(o => o.type === 'chunk')
    const byName = new Map(chunks.map(c => [c.fileName, c]))
    const closure = (c, seen = new Set()) => {
      if (c === undefined || seen.has(c)) return seen
      seen.add(c)
      for (const i of c.imports) closure(byName.get(i), seen)
      return seen
    }
    const main = chunks.find(c => c.isEntry)
    if (main === undefined) throw new Error(`vite build: no entry chunk among ${[...byName.keys()]}`)
    const measure = mode => {
      const set = closure(main)
      for (const src of PER_MODE[mode])
        closure(
          chunks.find(c => c.facadeModuleId?.endsWith(`dist/${src}`)),
          set,
        )
      return { files: set.size, gzip: [...set].reduce((n, c) => n + gz(Buffer.from(c.code)), 0) }
    }
    return {
      version: vite.version,
      asyncify: measure('asyncify'),
      jspi: measure('jspi'),
      preloadHelper: /modulepreload/.test(main.code),
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }

  function gz(b) {
    return gzipSync(b, { level: 9 }).length
  }
}

const OPS = { roundtrip, fibers, exports: exportsOp, size }
if (!OPS[op]) usage()
process.stdout.write(`${JSON.stringify(await OPS[op](args))}\n`)

// Runs in Chromium (browser.test.ts serves it under `script-src 'self' 'wasm-unsafe-eval'`): the built
// runtime from /runtime/, the fixtures from /fixtures/, each case in both modes. Results go to
// window.results; any CSP violation to window.violations.
import { instantiate } from '/runtime/index.js'

window.violations = []
document.addEventListener('securitypolicyviolation', e =>
  window.violations.push(`${e.violatedDirective}: ${e.blockedURI}`),
)

const delay = ms => new Promise(r => setTimeout(r, ms))
const pair = name => ({ asyncify: fetch(`/fixtures/${name}.async.wasm`), original: `/fixtures/${name}.wasm` })

/** The WASI functions the C fixture imports; output collected. */
function wasi() {
  let memory = null
  let out = ''
  const fd_write = (_fd, iovs, count, written) => {
    const view = new DataView(memory.buffer)
    let total = 0
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + i * 8, true)
      const len = view.getUint32(iovs + i * 8 + 4, true)
      out += new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len))
      total += len
    }
    view.setUint32(written, total, true)
    return 0
  }
  return {
    imports: {
      wasi_snapshot_preview1: { fd_write, fd_close: () => 0, fd_seek: () => 70, fd_fdstat_get: () => 8 },
    },
    bind: m => {
      memory = m
    },
    output: () => out,
  }
}

const cases = {
  async sleepLoop(mode) {
    const { exports } = await instantiate(
      pair('sleep'),
      { env: { sleep: () => delay(1), log: () => {} } },
      { mode },
    )
    return await exports.sleepLoop(5)
  },
  async rejection(mode) {
    const { exports } = await instantiate(
      pair('reject'),
      {
        env: {
          get: x =>
            delay(1).then(() => {
              if (x < 0) throw new Error('no')
              return x
            }),
        },
      },
      { mode },
    )
    return [await exports.catchAll(3), await exports.catchAll(-3)]
  },
  async concurrent(mode) {
    const { exports } = await instantiate(
      pair('sleep'),
      { env: { sleep: () => delay(Math.random() * 5), log: () => {} } },
      { mode },
    )
    return await Promise.all([1, 2, 3, 4, 5].map(n => exports.sleepLoop(n)))
  },
  async jsFibers(mode) {
    const { fibers } = await instantiate(
      pair('fibers'),
      { env: { sleep: x => delay(1).then(() => x), who: () => {} } },
      { mode },
    )
    const all = [0, 1, 2].map(() => fibers.create('count', 2, { asyncifyStackSize: 256 }))
    const steps = []
    for (const f of all) steps.push((await f.resume()).value)
    for (const [i, f] of all.entries()) steps.push((await f.resume(i)).value)
    for (const [i, f] of all.entries()) steps.push(await f.resume(i * 10))
    return steps
  },
  async emscriptenFibers(mode) {
    const w = wasi()
    const { exports } = await instantiate(
      pair('fibers-O2'),
      { ...w.imports, env: { pause: c => delay(1).then(() => 2 * c) } },
      { mode },
    )
    w.bind(exports.memory)
    await exports._initialize()
    return [await exports.pipeline(100), await exports.pingpong(1000), w.output()]
  },
}

window.results = {
  jspi: typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function',
}
for (const [name, run] of Object.entries(cases))
  for (const mode of ['asyncify', 'jspi']) {
    try {
      window.results[`${name} ${mode}`] = await run(mode)
    } catch (e) {
      window.results[`${name} ${mode}`] = `error: ${e?.stack ?? e}`
    }
  }
window.done = true

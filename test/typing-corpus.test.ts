// Stack typing checked against the engine's validator on real modules (QuickJS, vips, swc) and on
// binaryen fuzz modules (GC, exnref, SIMD, multivalue, tail calls).
//
// Every function is lifted and typed, then rewritten so that a wrong type would make it invalid:
// - results: after an instruction with results R, `local.tee $fresh:R` (one result) or a spill of all of
//   them into fresh locals and a reload (several). If R were not a supertype of what the instruction
//   really pushes, the tee/set fails; if R were less precise than what a later use needs, the reload fails.
// - params: before an instruction with params P, a spill of its operands into fresh locals of types P
//   and a reload. The operands must be subtypes of P and P must satisfy the instruction.
// Instructions whose params or results contain 'bot' (popped in unreachable code) and structured
// instructions (their signature is their block type) are left alone. Fresh locals are shared per
// (type, operand position) within a function and appended to its locals. The rewritten module is then
// encoded and must pass WebAssembly.validate (Node 26 understands every proposal these modules use).
import { readFileSync } from 'node:fs'
import {
  bodyContext,
  decode,
  encode,
  type FuncBody,
  funcTypeAt,
  type Instr,
  type InstrTypes,
  liftFunction,
  type Module,
  opByName,
  type StackType,
  typeFunctionBody,
  typingContext,
  type ValType,
  valTypeText,
} from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'
import { fuzzFeatureFlags } from './helpers/binaryen.js'
import { corpus } from './helpers/corpus.js'
import { codecFuzzFlags, fuzzModule, mapLimit } from './helpers/fuzz.js'

const FUZZ_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]
/**
 * Both sets need --translate-to-exnref: otherwise -ttf mixes legacy and new exception handling, which V8
 * rejects. `all` adds memory64, multi-memory, threads, relaxed SIMD etc.; V8 accepts those modules too.
 */
const FUZZ_VARIANTS = [
  { tag: 'typing-v8-base', flags: [...fuzzFeatureFlags, '--translate-to-exnref'] },
  { tag: 'typing-v8-all', flags: [...codecFuzzFlags, '--translate-to-exnref'] },
]

const LOCAL_GET = opByName('local.get')
const LOCAL_SET = opByName('local.set')
const LOCAL_TEE = opByName('local.tee')

const hasBot = (ts: StackType[]): boolean => ts.includes('bot')

interface Stats {
  funcs: number
  instrs: number
  checkedResults: number
  checkedParams: number
}

/** Rewrites `fb` in place as described at the top of the file. */
function instrument(fb: FuncBody, types: Map<Instr, InstrTypes>, paramCount: number, stats: Stats): void {
  const fresh = new Map<string, number>()
  const local = (t: ValType, slot: number): number => {
    // valTypeText is structural: (ref null 3) is the same key wherever that type comes from.
    const key = `${valTypeText(t)}#${slot}`
    let idx = fresh.get(key)
    if (idx === undefined) {
      idx = paramCount + fb.locals.length
      fb.locals.push(t)
      fresh.set(key, idx)
    }
    return idx
  }
  const spill = (out: Instr[], ts: ValType[]): void => {
    for (let k = ts.length - 1; k >= 0; k--) out.push({ op: LOCAL_SET, local: local(ts[k] as ValType, k) })
    for (let k = 0; k < ts.length; k++) out.push({ op: LOCAL_GET, local: local(ts[k] as ValType, k) })
  }
  const rewrite = (list: Instr[]): Instr[] => {
    const out: Instr[] = []
    for (const ins of list) {
      stats.instrs++
      if (ins.op.control !== 'none') {
        // Keep the instruction object: branches refer to it.
        if (ins.body) ins.body = rewrite(ins.body)
        if (ins.else) ins.else = rewrite(ins.else)
        for (const c of ins.legacyCatches ?? []) c.body = rewrite(c.body)
        out.push(ins)
        continue
      }
      const t = types.get(ins)
      if (t === undefined) throw new Error(`${ins.op.name} was not typed`)
      if (hasBot(t.params) || hasBot(t.results)) {
        out.push(ins)
        continue
      }
      if (t.params.length > 0) {
        spill(out, t.params as ValType[])
        stats.checkedParams++
      }
      out.push(ins)
      if (t.results.length === 1) {
        out.push({ op: LOCAL_TEE, local: local(t.results[0] as ValType, 0) })
        stats.checkedResults++
      } else if (t.results.length > 1) {
        spill(out, t.results as ValType[])
        stats.checkedResults++
      }
    }
    return out
  }
  fb.body = rewrite(fb.body)
}

interface Timing {
  decodeMs: number
  typeMs: number
  encodeMs: number
  validateMs: number
}

/** Lifts, types and instruments every function of `bytes`; returns the rewritten module. */
function instrumentModule(bytes: Uint8Array): { out: Uint8Array<ArrayBuffer>; stats: Stats; timing: Timing } {
  const t0 = performance.now()
  const m: Module = decode(bytes, { bodies: 'lazy' })
  const t1 = performance.now()
  const ctx = typingContext(m)
  const bctx = bodyContext(m)
  const stats: Stats = { funcs: 0, instrs: 0, checkedResults: 0, checkedParams: 0 }
  for (let i = 0; i < m.funcs.length; i++) {
    const f = m.funcs[i] as Module['funcs'][number]
    const body = liftFunction(m, i, bctx)
    let types: Map<Instr, InstrTypes>
    try {
      types = typeFunctionBody(ctx, f.type, body)
    } catch (e) {
      throw new Error(`typing defined function ${i}: ${(e as Error).message}`)
    }
    instrument(body, types, funcTypeAt(m, f.type).params.length, stats)
    stats.funcs++
  }
  const t2 = performance.now()
  const out = encode(m) as Uint8Array<ArrayBuffer>
  const t3 = performance.now()
  return { out, stats, timing: { decodeMs: t1 - t0, typeMs: t2 - t1, encodeMs: t3 - t2, validateMs: 0 } }
}

/** WebAssembly.validate, with the engine's message when it fails. */
function engineVerdict(bytes: Uint8Array<ArrayBuffer>): string {
  if (WebAssembly.validate(bytes)) return 'valid'
  try {
    new WebAssembly.Module(bytes)
    return 'WebAssembly.validate failed but compiling succeeded'
  } catch (e) {
    return (e as Error).message
  }
}

function check(name: string, bytes: Uint8Array<ArrayBuffer>): void {
  const { out, stats, timing } = instrumentModule(bytes)
  const t = performance.now()
  const verdict = engineVerdict(out)
  timing.validateMs = performance.now() - t
  const ms = (x: number): string => `${Math.round(x)} ms`
  console.log(
    `${name}: ${stats.funcs} functions, ${stats.instrs} instructions, ` +
      `${stats.checkedResults} result and ${stats.checkedParams} param checks; ` +
      `decode ${ms(timing.decodeMs)}, lift+type+rewrite ${ms(timing.typeMs)}, encode ${ms(timing.encodeMs)} ` +
      `(${(bytes.length / 1e6).toFixed(1)} → ${(out.length / 1e6).toFixed(1)} MB), validate ${ms(timing.validateMs)}`,
  )
  expect(verdict, name).toBe('valid')
  expect(stats.checkedResults, `${name} checks something`).toBeGreaterThan(0)
}

// Timings on 2 cores (Node 26): quickjs ~0.5 s, vips ~5 s, swc ~16 s (7M instructions; all of them are
// checked, no sampling), the 16 fuzz modules ~1 s once generated (~6 s the first time, then cached).
describe('stack typing agrees with the engine', () => {
  for (const entry of corpus()) {
    it(entry.name, () => {
      const bytes = new Uint8Array(readFileSync(entry.path))
      // The input itself must be valid, or the check proves nothing.
      expect(WebAssembly.validate(bytes), `${entry.name} input`).toBe(true)
      check(entry.name, bytes)
    }, 180_000)
  }

  it.each(FUZZ_VARIANTS)(
    'binaryen fuzz modules ($tag)',
    async ({ tag, flags }) => {
      const modules = await mapLimit(FUZZ_SEEDS, 2, seed => fuzzModule(seed, flags, tag))
      for (const [k, bytes] of modules.entries()) {
        const name = `${tag} seed ${FUZZ_SEEDS[k]}`
        expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), `${name} input`).toBe(true)
        check(name, bytes as Uint8Array<ArrayBuffer>)
      }
    },
    180_000,
  )
})

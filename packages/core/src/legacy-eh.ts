/**
 * Legacy exception handling (`try`/`catch`/`catch_all`/`rethrow`/`delegate`) → `try_table`/`throw_ref`,
 * in our own IR, so the rewrite can unwind out of a handler (a handler must be ordinary code after a
 * block, not a catch clause the engine jumps into) and no binaryen round trip is needed.
 *
 * The mapping. A legacy try with catches, of block type [p*] → [r*],
 *
 *     try $T (type [p*] → [r*])  body  catch $a  A  catch_all  Z  end
 *
 * becomes (each catch a block the try_table branches to, its body after that block's end):
 *
 *     block $T (type [p*] → [r*])            ;; the same Instr object: branches to $T keep their target
 *       block $hZ (type [p*] → [])
 *         block $hA (type [p*] → [a*])
 *           try_table (type [p*] → [r*]) (catch $a $hA) (catch_all $hZ)  body  end
 *           br $T
 *         end                                ;; a* (the payload) on the stack, as a legacy catch has it
 *         A  br $T
 *       end
 *       Z                                    ;; the last catch falls through to the end of $T
 *     end
 *
 * The catch bodies are outside the try_table, so what they throw is not caught by their own try (as in
 * the legacy semantics); the handler blocks take the try's params only to pass them on to the try_table.
 *
 * `rethrow $T` inside a catch body of $T rethrows the exception that catch caught. Such a catch becomes
 * `catch_ref`/`catch_all_ref`: its block also yields the exnref, which goes to a local first
 * (`local.set $exn`), and the rethrow becomes `local.get $exn; throw_ref`. One exnref local per depth of
 * nested catch bodies suffices: two catch bodies run at the same time only when one contains the other.
 *
 * `try $D ... delegate $L` hands what its body throws to the handlers in force at label $L (as if thrown
 * right inside $L: for a try's label from its body, that try's catches; from one of its catch bodies,
 * the handlers around that try; for the function's label, the caller). $D becomes
 * `try_table (catch_all_ref $land)`, where $land is a block wrapping the whole current part of $L (its
 * body, arm or catch body), followed by `throw_ref`:
 *
 *     block $land (type [params of that part] → [exnref])  ...part...  br $L  end
 *     throw_ref
 *
 * Normal completion of the part leaves through `br $L` (for a loop, whose label is its start, through
 * an extra block around it); an exception delegated to $L arrives at $land with its exnref and is thrown
 * again at the level of $L, so the handlers between $D and $L are skipped and those of $L apply.
 * A try without catches or delegate is a block.
 *
 * One iterative walk per body (an explicit stack of the lists being walked, no recursion: real C++
 * modules nest thousands of blocks deep) finds and rewrites everything: a try is rewritten when its
 * last part has been walked (by then every rethrow in its catches is known), a part that delegates land
 * in is wrapped when it has been walked. Lists are copied only when an instruction in them changes
 * (a rethrow becomes two); everything else is rewritten in place. Bodies without legacy instructions
 * are not changed, so their functions keep their original bytes.
 */
import {
  type BlockType,
  blockSignature,
  CATCH,
  CATCH_ALL,
  CATCH_ALL_REF,
  CATCH_REF,
  type CatchKind,
  countImports,
  type FuncBody,
  funcTypeAt,
  type Instr,
  type Label,
  type Module,
  type OpInfo,
  opByName,
  ref,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { functionNames } from './analysis.js'
import { internFuncType } from './api.js'
import { AsyncifyError } from './errors.js'

const OPS = {
  block: opByName('block'),
  tryTable: opByName('try_table'),
  throwRef: opByName('throw_ref'),
  rethrow: opByName('rethrow'),
  br: opByName('br'),
  localGet: opByName('local.get'),
  localSet: opByName('local.set'),
}
const EXNREF = ref('exn', true)
const NO_TYPES: ValType[] = []

/** Whether an instruction is one of legacy exception handling's (catch and delegate live inside a try). */
export function isLegacyEh(op: OpInfo): boolean {
  return op.control === 'try' || op === OPS.rethrow
}

/** Index (into `bodies`) of the first body with legacy exception handling, or -1. Iterative. */
export function firstLegacyEhBody(bodies: readonly FuncBody[]): number {
  const lists: Instr[][] = []
  for (let d = 0; d < bodies.length; d++) {
    lists.push((bodies[d] as FuncBody).body)
    while (lists.length > 0) {
      for (const ins of lists.pop() as Instr[]) {
        if (isLegacyEh(ins.op)) return d
        if (ins.body !== undefined) lists.push(ins.body)
        if (ins.else !== undefined) lists.push(ins.else)
      }
    }
  }
  return -1
}

/**
 * Translates every body with legacy exception handling (in place) and attaches it to its function so it
 * is encoded from the IR; other functions keep their original bytes. Returns how many were translated.
 * Errors name the function and the byte offset of its body.
 */
export function translateLegacyExceptions(m: Module, bodies: FuncBody[]): number {
  const t = new LegacyEhTranslator(m)
  let translated = 0
  for (let d = 0; d < bodies.length; d++) {
    const func = m.funcs[d]
    const body = bodies[d]
    if (func === undefined || body === undefined) continue
    let changed: boolean
    try {
      changed = t.translate(body, func.type)
    } catch (e) {
      throw new AsyncifyError(
        `${functionAt(m, d)}: cannot translate its legacy exception handling: ${(e as Error).message}`,
      )
    }
    if (changed) {
      // Written from the IR from now on: the original bytes hold the legacy instructions.
      func.body = body
      func.raw = null
      translated++
    }
  }
  return translated
}

/**
 * A legacy-EH translator for the rewrite's "prepare the input" step (prepare-input.ts): takes the input
 * bytes and their module with every body lifted, returns the module with `try_table` instead. Ours is
 * `translateInIr`; binaryen's round trip (legacy-eh-binaryen.ts) is the benchmark's comparison.
 */
export type LegacyEhTranslation = (input: Uint8Array, m: Module) => Module | Promise<Module>

/** Our translation, in the decoded IR: no second decode, untouched functions keep their bytes. */
export const translateInIr: LegacyEhTranslation = (_input, m) => {
  translateLegacyExceptions(
    m,
    m.funcs.map(f => f.body as FuncBody),
  )
  return m
}

/** `function NAME (body at byte offset 0x…)` for defined function `d`, for error messages. */
export function functionAt(m: Module, d: number): string {
  const index = countImports(m, 'func') + d
  const offset = m.funcs[d]?.rawOffset ?? 0
  return `function ${functionNames(m)[index] ?? index} (body at byte offset 0x${offset.toString(16)})`
}

/** One list being walked: a part of a structured instruction, or the function body. */
interface Part {
  owner: Label
  /** 0: the body (an if's then arm); 1: an if's else arm; 1 + k: a legacy try's catch k. */
  index: number
  list: Instr[]
  /** Next instruction of `list` to visit. */
  i: number
  /** The rewritten list, once an instruction of this one has changed (copy on write). */
  out: Instr[] | null
  /** The block that delegates to this part land in, once one does. */
  landing: Instr | null
  /** Legacy catch bodies open here, this part included: rethrows of this catch use exnref slot depth - 1. */
  catchDepth: number
  /** A legacy catch part: whether a rethrow in it targets its try (its clause then yields the exnref). */
  rethrown: boolean
  /** The parts of a legacy try with catches: which catches need their exnref, filled as they close. */
  refs: boolean[] | null
}

class LegacyEhTranslator {
  private readonly m: Module
  private readonly tagParams: ValType[][] = []
  private readonly blockTypes = new Map<string, number>()
  // Per body:
  private parts: Part[] = []
  private results: ValType[] = NO_TYPES
  private body: FuncBody | null = null
  private paramCount = 0
  private exnLocals: number[] = []
  private changed = false

  constructor(m: Module) {
    this.m = m
    for (const imp of m.imports)
      if (imp.desc.kind === 'tag') this.tagParams.push(funcTypeAt(m, imp.desc.tag.type).params)
    for (const tag of m.tags) this.tagParams.push(funcTypeAt(m, tag.type).params)
  }

  /** Rewrites `body` (of a function of type `typeIndex`) in place; whether anything changed. */
  translate(body: FuncBody, typeIndex: number): boolean {
    const ft = funcTypeAt(this.m, typeIndex)
    this.body = body
    this.results = ft.results
    this.paramCount = ft.params.length
    this.exnLocals = []
    this.changed = false
    let p = part(body, 0, body.body, 0, null)
    const parts: Part[] = [p]
    this.parts = parts
    for (;;) {
      // The hot loop: most instructions are neither structured nor a rethrow.
      const list = p.list
      let i = p.i
      let out = p.out
      let inner: Instr | null = null
      while (i < list.length) {
        const ins = list[i++] as Instr
        if (ins.op.control !== 'none') {
          inner = ins
          break
        }
        if (ins.op === OPS.rethrow) {
          p.i = i
          this.rethrow(p, ins)
          out = p.out
        } else if (out !== null) out.push(ins)
      }
      p.i = i
      if (inner !== null) {
        if (out !== null) out.push(inner)
        const refs = inner.op.control === 'try' && inner.legacyCatches !== undefined ? [] : null
        p = part(inner, 0, inner.body ?? [], p.catchDepth, refs)
        parts.push(p)
        continue
      }
      parts.pop()
      this.closePart(p)
      const owner = p.owner
      if (owner.kind === 'func') break
      const next = this.nextPart(p, owner)
      if (next !== null) parts.push(next)
      else if (owner.op.control === 'try') this.translateTry(owner, p)
      p = parts[parts.length - 1] as Part
    }
    this.parts = []
    this.body = null
    return this.changed
  }

  /** The part after `p` of the same structure (an else arm, the next catch), or null. */
  private nextPart(p: Part, owner: Instr): Part | null {
    if (owner.op.control === 'if') {
      return p.index === 0 && owner.else !== undefined ? part(owner, 1, owner.else, p.catchDepth, null) : null
    }
    if (owner.op.control !== 'try') return null
    const catches = owner.legacyCatches ?? []
    // p.index is the number of the next catch: the body is part 0, catch k is part 1 + k.
    const c = catches[p.index]
    if (c === undefined) return null
    const depth = p.index === 0 ? p.catchDepth + 1 : p.catchDepth
    return part(owner, p.index + 1, c.body, depth, p.refs)
  }

  /** Stores a walked part's list back into its owner, wrapped by its landing block if delegates land there. */
  private closePart(p: Part): void {
    if (p.index > 0 && p.refs !== null) p.refs[p.index - 1] = p.rethrown
    if (p.out === null && p.landing === null) return
    let list = p.out ?? p.list
    if (p.landing !== null) list = this.land(p, p.landing, list)
    const owner = p.owner
    if (owner.kind === 'func') owner.body = list
    else if (p.index === 0) owner.body = list
    else if (owner.op.control === 'if') owner.else = list
    else (owner.legacyCatches ?? [])[p.index - 1]!.body = list
  }

  /** `[block $land (part; br $exit) end; throw_ref]`, inside an extra block for a loop. */
  private land(p: Part, landing: Instr, list: Instr[]): Instr[] {
    const owner = p.owner
    if (owner.kind !== 'func' && owner.op.control === 'loop') {
      const exit: Instr = {
        op: OPS.block,
        blockType: this.blockType(this.partParams(p), this.partResults(p)),
        body: [landing, { op: OPS.throwRef }],
      }
      list.push({ op: OPS.br, target: exit })
      landing.body = list
      return [exit]
    }
    list.push({ op: OPS.br, target: owner })
    landing.body = list
    return [landing, { op: OPS.throwRef }]
  }

  /** `rethrow $T` → `local.get $exn; throw_ref`, with $exn the exnref local of $T's catch depth. */
  private rethrow(p: Part, ins: Instr): void {
    const target = this.partOf(ins.target, 'rethrow')
    if (target.owner.kind === 'func' || target.owner.op.control !== 'try' || target.index === 0)
      throw new Error('a rethrow that is not inside a catch of the try it names')
    target.rethrown = true
    if (p.out === null) p.out = p.list.slice(0, p.i - 1)
    p.out.push({ op: OPS.localGet, local: this.exnLocal(target.catchDepth - 1) }, { op: OPS.throwRef })
    this.changed = true
  }

  /** A legacy try whose last part was walked (`last`): into a block, a try_table or the catch blocks. */
  private translateTry(t: Instr, last: Part): void {
    this.changed = true
    const catches = t.legacyCatches ?? []
    t.legacyCatches = undefined
    if (t.delegate !== undefined) {
      const target = this.partOf(t.delegate, 'delegate')
      target.landing ??= {
        op: OPS.block,
        blockType: this.blockType(this.partParams(target), [EXNREF]),
        body: [],
      }
      t.op = OPS.tryTable
      t.catches = [{ kind: CATCH_ALL_REF, tag: -1, target: target.landing }]
      t.delegate = undefined
      return
    }
    if (catches.length === 0) {
      t.op = OPS.block
      return
    }
    const params = blockSignature(this.m, t.blockType ?? null).params
    const refs = last.refs ?? []
    const slot = last.catchDepth - 1
    const tryTable: Instr = { op: OPS.tryTable, blockType: t.blockType ?? null, catches: [], body: t.body }
    let inner: Instr[] = [tryTable, { op: OPS.br, target: t }]
    catches.forEach((c, k) => {
      const withRef = refs[k] === true
      const sent = c.tag < 0 ? [] : [...this.tagParamsOf(c.tag)]
      if (withRef) sent.push(EXNREF)
      const handler: Instr = { op: OPS.block, blockType: this.blockType(params, sent), body: inner }
      const kind: CatchKind = c.tag < 0 ? (withRef ? CATCH_ALL_REF : CATCH_ALL) : withRef ? CATCH_REF : CATCH
      tryTable.catches?.push({ kind, tag: c.tag, target: handler })
      const next: Instr[] = [handler]
      if (withRef) next.push({ op: OPS.localSet, local: this.exnLocal(slot) })
      for (const x of c.body) next.push(x)
      if (k < catches.length - 1) next.push({ op: OPS.br, target: t })
      inner = next
    })
    t.op = OPS.block
    t.body = inner
  }

  /** The open part of `label` (its innermost walked list). The function's own is at the bottom. */
  private partOf(label: Label | undefined, what: string): Part {
    const parts = this.parts
    if (label !== undefined && label.kind === 'func' && parts[0]?.owner === label) return parts[0]
    for (let i = parts.length - 1; i >= 0; i--) if (parts[i]?.owner === label) return parts[i] as Part
    throw new Error(`a ${what} whose label does not enclose it`)
  }

  /** Types on the stack when a part starts: a catch's payload, else the structure's params. */
  private partParams(p: Part): ValType[] {
    const owner = p.owner
    if (owner.kind === 'func') return NO_TYPES
    if (owner.op.control === 'try' && p.index > 0) {
      const tag = (owner.legacyCatches ?? [])[p.index - 1]?.tag ?? -1
      return tag < 0 ? NO_TYPES : this.tagParamsOf(tag)
    }
    return blockSignature(this.m, owner.blockType ?? null).params
  }

  /** Types a part leaves when it completes normally. */
  private partResults(p: Part): ValType[] {
    const owner = p.owner
    return owner.kind === 'func' ? this.results : blockSignature(this.m, owner.blockType ?? null).results
  }

  private tagParamsOf(tag: number): ValType[] {
    const t = this.tagParams[tag]
    if (t === undefined) throw new Error(`tag index ${tag} out of range`)
    return t
  }

  /** The exnref local of catch depth `slot` (0-based), added to the body on first use. */
  private exnLocal(slot: number): number {
    let local = this.exnLocals[slot]
    if (local === undefined) {
      const body = this.body as FuncBody
      local = this.paramCount + body.locals.length
      body.locals.push(EXNREF)
      this.exnLocals[slot] = local
    }
    return local
  }

  /** A block type for [params] → [results]: none, a single value type, or an interned function type. */
  private blockType(params: ValType[], results: ValType[]): BlockType {
    if (params.length === 0 && results.length <= 1) return results[0] ?? null
    const key = `${params.map(typeKey).join(',')}>${results.map(typeKey).join(',')}`
    let index = this.blockTypes.get(key)
    if (index === undefined) {
      index = internFuncType(this.m, params, results)
      this.blockTypes.set(key, index)
    }
    return index
  }
}

function part(owner: Label, index: number, list: Instr[], catchDepth: number, refs: boolean[] | null): Part {
  return { owner, index, list, i: 0, out: null, landing: null, catchDepth, rethrown: false, refs }
}

function typeKey(t: ValType): string {
  return typeof t === 'string' ? t : `${t.nullable ? 'null ' : ''}${t.heap}`
}

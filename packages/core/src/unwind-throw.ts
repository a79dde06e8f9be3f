/**
 * Functions that cannot return while unwinding. An unwinding function returns stand-in results, which its
 * callers (unwinding too) ignore; some result types have no value to stand in: bottom types such as
 * `(ref none)` (no value exists at all), `(ref exn)`, a function type no function has. Such a function
 * ("thrower") leaves its frame instead by throwing a module-private tag, after saving it as usual:
 *  - every call site that may reach a thrower (a direct call of one; any indirect call once a thrower's
 *    address is taken) wraps the call in a `try_table` catching the tag, which goes on to the site's
 *    unwind exit, as a return would while unwinding;
 *  - an exported thrower is exported through a wrapper whose results are nullable: JS calling it gets
 *    null while the stack unwinds (no JS code can tell a nullable result type from the original).
 * The tag never escapes: it is thrown only while unwinding, and caught by the caller's instrumented call
 * site (or the export wrapper). Only a caller left uninstrumented on purpose (remove list, only list) would
 * see it, as it would see a stand-in result.
 */
import {
  countImports,
  type FuncBody,
  type Instr,
  type Module,
  opByName,
  type ValType,
} from '@unplugin-asyncify/wasm'
import { defaultValue, I, nullable } from './build.js'
import type { NewFunctions } from './layout.js'
import { makeValue } from './values.js'

/** Stand-in values per result type, made once (making one may add a type or a declarative segment). */
export class StandIns {
  private readonly cache = new Map<string, Instr[] | null>()

  constructor(private readonly m: Module) {}

  /** Instructions producing some value of `t`, or null when none can be made. */
  of(t: ValType): Instr[] | null {
    const key = typeof t === 'string' ? t : `${t.nullable} ${t.heap}`
    let v = this.cache.get(key)
    if (v === undefined) {
      const d = defaultValue(t)
      v = d !== null ? [d] : makeValue(this.m, t)
      this.cache.set(key, v)
    }
    return v === null ? null : v.map(ins => ({ ...ins }))
  }

  /** Whether every result type of the function type `type` has a stand-in. */
  canReturn(type: number): boolean {
    const c = this.m.types[type]?.composite
    return c?.kind !== 'func' || c.results.every(t => this.of(t) !== null)
  }
}

export class UnwindThrow {
  /** The private tag, when any function leaves by throwing. */
  readonly tag: number | null
  /** Throwers, by (current) function index. */
  private readonly throwers: Set<number>
  /** A thrower's address is taken: every indirect call may reach one. */
  private readonly indirectReach: boolean

  /**
   * `instrumented`: current indices of the functions to instrument; `addressTaken`: of the functions whose
   * address is taken.
   */
  constructor(
    m: Module,
    readonly standIns: StandIns,
    added: NewFunctions,
    instrumented: readonly number[],
    addressTaken: ReadonlySet<number>,
  ) {
    const imported = countImports(m, 'func')
    this.throwers = new Set(
      instrumented.filter(
        index => !standIns.canReturn((m.funcs[index - imported] as Module['funcs'][number]).type),
      ),
    )
    this.indirectReach = [...this.throwers].some(f => addressTaken.has(f))
    this.tag = this.throwers.size === 0 ? null : added.addTag([])
    const tag = this.tag
    if (tag === null) return
    for (const e of m.exports) {
      const target = e.index
      if (e.kind !== 'func' || !this.throwers.has(target)) continue
      e.index = added.exportWrapper(target, (params, results) =>
        wrapperBody(target, params, results, tag, added),
      )
    }
  }

  isThrower(index: number): boolean {
    return this.throwers.has(index)
  }

  /** Whether the call `ins` may reach a thrower (its site must catch the tag). */
  mayThrowUnwind(ins: Instr): boolean {
    if (this.tag === null) return false
    if (ins.op.call === 'direct') return this.throwers.has(ins.func as number)
    return ins.op.call !== null && this.indirectReach
  }
}

/** `(params) → nullable(results)`: calls `target`; while unwinding (the tag caught) returns nulls. */
function wrapperBody(
  target: number,
  params: readonly ValType[],
  results: readonly ValType[],
  tag: number,
  added: NewFunctions,
): FuncBody {
  const caught = I.block(null, [])
  const call: Instr[] = [...params.map((_, i) => I.localGet(i)), I.call(target)]
  const tryTable: Instr = {
    op: opByName('try_table'),
    blockType: added.blockType([], [...results]),
    catches: [{ kind: 0, tag, target: caught }],
    body: call,
  }
  caught.body = [tryTable, I.ret()]
  return { kind: 'func', locals: [], body: [caught, ...results.map(t => defaultValue(nullable(t)) as Instr)] }
}

/** `asserts`: uninstrumented functions trap if the asyncify state changes across one of their calls. */
import { type FuncBody, type Instr, type InstrTypes, mapLists, type ValType } from '@unplugin-asyncify/wasm'
import { I } from './build.js'

export function addStateAsserts(
  body: FuncBody,
  paramCount: number,
  stateGlobal: number,
  types: Map<Instr, InstrTypes>,
): void {
  const addLocal = (t: ValType): number => {
    body.locals.push(t)
    return paramCount + body.locals.length - 1
  }
  const old = addLocal('i32')
  const check = (): Instr[] => [
    I.globalGet(stateGlobal),
    I.localGet(old),
    I.plain('i32.ne'),
    I.ifElse(null, [I.unreachable()]),
  ]
  // Each list once its inner lists are done (mapLists): a check after every call that returns here.
  const rewrite = (list: Instr[]): Instr[] => {
    const out: Instr[] = []
    for (const ins of list) {
      out.push(ins)
      if (ins.op.call === null || ins.op.terminal) continue
      // A call's results come from its function type: never 'bot'.
      const results = (types.get(ins)?.results ?? []) as ValType[]
      if (results.length === 0) {
        out.push(...check())
        continue
      }
      const temps = results.map(t => addLocal(t))
      for (let i = temps.length - 1; i >= 0; i--) out.push(I.localSet(temps[i] as number))
      out.push(...check())
      for (const t of temps) out.push(I.localGet(t))
    }
    return out
  }
  body.body = [I.globalGet(stateGlobal), I.localSet(old), ...mapLists(body.body, rewrite)]
}

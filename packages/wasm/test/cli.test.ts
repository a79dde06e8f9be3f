// wasm-inspect (the built CLI, as `npm test` builds first): its instruction count covers every list,
// legacy catch bodies included, and bodies nested deeper than a recursive count could follow.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { emptyModule, encode, type FuncBody, type Instr, opByName } from '@unplugin-asyncify/wasm'
import { describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const cli = join(here, '..', 'dist', 'cli.js')
const work = mkdtempSync(join(tmpdir(), 'wasm-inspect-'))
const op = (name: string, fields: Partial<Instr> = {}): Instr => ({ op: opByName(name), ...fields })

function moduleOf(body: Instr[], withTag: boolean): string {
  const m = emptyModule()
  m.types.push({
    composite: { kind: 'func', params: [], results: [] },
    final: true,
    supers: [],
    explicitSub: false,
  })
  m.recGroups.push({ size: 1, explicit: false })
  if (withTag) m.tags.push({ type: 0 })
  const f: FuncBody = { kind: 'func', locals: [], body }
  m.funcs.push({ type: 0, body: f, raw: null, rawOffset: 0 })
  const file = join(work, `m${Math.random().toString(36).slice(2)}.wasm`)
  writeFileSync(file, encode(m))
  return file
}

function instructions(file: string): number {
  const r = spawnSync(process.execPath, [cli, file], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return Number(/instructions: (\d+)/.exec(r.stdout)?.[1])
}

describe('wasm-inspect', () => {
  it('counts the instructions of legacy catch bodies', () => {
    const tryIns = op('try', {
      blockType: null,
      body: [op('nop')],
      legacyCatches: [
        { tag: 0, body: [op('nop'), op('nop')] },
        { tag: -1, body: [op('nop')] },
      ],
    })
    expect(instructions(moduleOf([tryIns], true))).toBe(5)
  })

  it('counts a body nested 50,000 blocks deep', () => {
    let list: Instr[] = [op('nop')]
    for (let d = 0; d < 50_000; d++) list = [op('block', { blockType: null, body: list })]
    expect(instructions(moduleOf(list, false))).toBe(50_001)
  })
})

// The README's generated and checked parts besides its samples and errors: the benchmark table and
// chart (scripts/bench-chart.mjs, from test/bench/RESULTS.md) and the libraries table (every
// dependency of every workspace is named there). The options list is checked by
// packages/core/test/options-table.test.ts.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readmeText, root, section } from './readme.js'

const chart = (await import(join(root, 'scripts/bench-chart.mjs'))) as {
  summary(results?: string): { label: string; bars: { series: number; value: number | string }[] }[]
}

describe('README tables', () => {
  it('the benchmark table and docs/bench.svg are up to date with test/bench/RESULTS.md', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts/bench-chart.mjs'), '--check'], {
      encoding: 'utf8',
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const table = /<!-- bench:start -->\n([\s\S]*?)<!-- bench:end -->/.exec(readmeText())?.[1] ?? ''
    expect(table.split('\n').filter(l => l.startsWith('| ')).length).toBe(chart.summary().length + 2)
    expect(readFileSync(join(root, 'docs/bench.svg'), 'utf8')).toMatch(
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    )
  })

  it('the benchmark summary names the table or column it could not find', () => {
    const results = readFileSync(join(root, 'test/bench/RESULTS.md'), 'utf8')
    expect(() =>
      chart.summary(results.replace('| module | size | ours decode |', '| module | size | decode |')),
    ).not.toThrow()
    expect(() => chart.summary(results.replace('ours total', 'ours sum'))).toThrow(
      /RESULTS.md section codec, "Eager decode \+ encode": no column "ours total"/,
    )
    expect(() => chart.summary(results.replace('### Transform time', '### Time'))).toThrow(
      /RESULTS.md section asyncify: no "### Transform time" table/,
    )
    expect(() => chart.summary(results.replace('<!-- runtime:start -->', ''))).toThrow(/no runtime section/)
  })

  it("the plugin's options table is the plugin README's (which packages/unplugin/test/options.test.ts checks)", () => {
    const block = (text: string, name: string) =>
      new RegExp(`<!-- ${name}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(text)?.[1]
    const plugin = block(readFileSync(join(root, 'packages/unplugin/README.md'), 'utf8'), 'options')
    expect(plugin).toMatch(/^\| option \| type \| default \| what it does \|/)
    expect(block(readmeText(), 'plugin-options')).toBe(plugin)
  })

  it('the libraries table names every dependency of every workspace', () => {
    const table = section(readmeText(), 'Libraries and what each is for')
    const manifests = [
      'package.json',
      ...['packages', 'playground', 'test'].flatMap(dir =>
        dir === 'packages'
          ? readdirSync(join(root, dir)).map(p => `${dir}/${p}/package.json`)
          : [`${dir}/package.json`],
      ),
    ]
    const workspaces = new Set<string>()
    const deps = new Map<string, string>()
    for (const file of manifests) {
      const m = JSON.parse(readFileSync(join(root, file), 'utf8'))
      workspaces.add(m.name)
      for (const name of Object.keys({ ...m.dependencies, ...m.devDependencies })) deps.set(name, file)
    }
    const missing = [...deps]
      .filter(([name]) => !workspaces.has(name) && !name.startsWith('@types/'))
      .filter(([name]) => !table.includes(`[${name}]`) && !table.includes(`\`${name}\``))
      .map(([name, file]) => `${name} (${file})`)
    expect(missing).toEqual([])
  })
})

// `unplugin-asyncify/client`: a project that lists it in `types` typechecks its `?asyncify` imports —
// the right uses compile and a wrong one is an error at the expected place.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { root } from './helpers.js'

it('types ?asyncify imports for TypeScript', () => {
  // Inside the repository, so that `unplugin-asyncify` resolves like an installed package.
  const dir = join(root, 'test', '.cache', 'client-types')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        types: ['unplugin-asyncify/client'],
        skipLibCheck: false,
      },
      files: ['good.ts', 'bad.ts'],
    }),
  )
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(
    join(dir, 'good.ts'),
    [
      "import init, { mode, report, suspendingExports } from './engine.wasm?asyncify'",
      "import initText from './engine.wat?asyncify'",
      "import initJspi from './engine.wasm?mode=jspi&asyncify'",
      'const { exports, instance, fibers } = await init<{ main(): Promise<number> }>({ env: { sleep: (ms: number) => new Promise(r => setTimeout(r, ms)) } })',
      'const n: Promise<number> = exports.main()',
      "const fiber = fibers.create('main')",
      'const first: string | undefined = suspendingExports[0]',
      'const size: number = report.sizeAfter - report.sizeBefore',
      "const m: 'auto' | 'asyncify' | 'jspi' = mode",
      'const i: WebAssembly.Instance = instance',
      "await initText(undefined, { mode: 'asyncify' })",
      'await initJspi()',
      'export { exports, first, size, m, i, n, fiber }',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'bad.ts'),
    "import init, { report } from './engine.wasm?asyncify'\nawait init(42)\nconst n: number = report.file\nexport { n }\n",
  )
  const r = spawnSync('npx', ['tsc', '-p', dir], { cwd: root, encoding: 'utf8' })
  const errors = (r.stdout + r.stderr).split('\n').filter(l => l.includes('error TS'))
  expect(errors.filter(l => l.includes('good.ts'))).toEqual([])
  expect(errors).toHaveLength(2)
  expect(errors[0]).toMatch(/bad\.ts\(2,12\): error TS2345/)
  expect(errors[1]).toMatch(/bad\.ts\(3,7\): error TS2322/)
})

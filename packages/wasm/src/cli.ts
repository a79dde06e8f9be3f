#!/usr/bin/env node
/** `wasm-inspect <file.wasm>`: summarizes a module and checks that it survives a lazy and an eager round trip. */
import { readFileSync } from 'node:fs'
import { countImports, decode, encode, liftFunction, printBody, WasmDecodeError, walk } from './index.js'

function main(argv: string[]): number {
  const file = argv[0]
  if (file === undefined || argv.includes('--help')) {
    console.log('usage: wasm-inspect <module.wasm> [--print <function index>]')
    return file === undefined ? 1 : 0
  }
  const bytes = new Uint8Array(readFileSync(file))
  const printAt = argv.indexOf('--print')
  if (printAt >= 0) {
    const m = decode(bytes)
    const index = Number(argv[printAt + 1]) - countImports(m, 'func')
    console.log(printBody(liftFunction(m, index)))
    return 0
  }
  let t0 = performance.now()
  const lazy = decode(bytes, { bodies: 'lazy' })
  const lazyMs = performance.now() - t0
  const lazyOut = encode(lazy)
  const identical = lazyOut.length === bytes.length && lazyOut.every((b, i) => b === bytes[i])
  t0 = performance.now()
  const eager = decode(bytes, { bodies: 'eager' })
  const eagerMs = performance.now() - t0
  t0 = performance.now()
  const eagerOut = encode(eager)
  const encodeMs = performance.now() - t0
  let instrs = 0
  const count = (): void => {
    instrs++
  }
  for (let i = 0; i < lazy.funcs.length; i++) walk(liftFunction(lazy, i).body, count)
  const imported = countImports(lazy, 'func')
  console.log(`${file}: ${bytes.length} bytes`)
  console.log(
    `  types ${lazy.types.length}, imports ${lazy.imports.length}, functions ${imported} imported + ${lazy.funcs.length} defined`,
  )
  console.log(
    `  tables ${lazy.tables.length}, memories ${lazy.memories.length}, globals ${lazy.globals.length}, tags ${lazy.tags.length}`,
  )
  console.log(`  exports: ${lazy.exports.map(e => `${e.name} (${e.kind})`).join(', ') || 'none'}`)
  console.log(`  custom sections: ${lazy.customs.map(c => c.name).join(', ') || 'none'}`)
  console.log(`  instructions: ${instrs}`)
  console.log(
    `  lazy round trip: ${identical ? 'byte-identical' : 'DIFFERENT'} (decode ${lazyMs.toFixed(1)} ms)`,
  )
  console.log(
    `  eager round trip: ${eagerOut.length} bytes (decode ${eagerMs.toFixed(1)} ms, encode ${encodeMs.toFixed(1)} ms)`,
  )
  return identical ? 0 : 2
}

try {
  process.exitCode = main(process.argv.slice(2))
} catch (e) {
  if (e instanceof WasmDecodeError) {
    console.error(`wasm-inspect: ${e.message}`)
    process.exitCode = 1
  } else throw e
}

// Builds examples/*.wat into examples/*.wasm with binaryen, then checks the result in this engine.
// Usage: node examples/build.mjs   (npm run examples)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import binaryen from 'binaryen'

const here = dirname(fileURLToPath(import.meta.url))

// Only the features these examples use: binaryen emits some encodings (e.g. compact imports)
// when every feature is enabled, and engines may reject those.
const features = binaryen.Features.MutableGlobals | binaryen.Features.SignExt

binaryen.setDebugInfo(true) // keep the name section
for (const file of readdirSync(here)
  .filter(f => f.endsWith('.wat'))
  .sort()) {
  const text = readFileSync(join(here, file), 'utf8')
  const module = binaryen.parseText(text)
  module.setFeatures(features)
  if (!module.validate()) throw new Error(`${file}: binaryen validation failed`)
  const bytes = module.emitBinary()
  module.dispose()
  // The engine must accept what we wrote.
  if (!WebAssembly.validate(bytes)) throw new Error(`${file}: the engine rejects the emitted binary`)
  const out = join(here, file.replace(/\.wat$/, '.wasm'))
  writeFileSync(out, bytes)
  console.log(`${file} -> ${file.replace(/\.wat$/, '.wasm')} (${bytes.length} bytes)`)
}

// Sanity-check hello.wasm's behaviour.
const logged = []
const { instance } = await WebAssembly.instantiate(readFileSync(join(here, 'hello.wasm')), {
  env: { log: v => logged.push(v) },
})
const e = instance.exports
const checks = [
  [e.factorial(5), 120],
  [e.strlen(e.greeting.value), 11],
  [e.calls(), -1],
  [e.apply(0, 7), 49],
  [e.apply(1, 4), 24],
  [e.calls(), 2],
  [logged.join(), '49,24'],
]
for (const [got, want] of checks) {
  if (got !== want) throw new Error(`hello.wasm: expected ${want}, got ${got}`)
}
console.log('hello.wasm behaves as expected')

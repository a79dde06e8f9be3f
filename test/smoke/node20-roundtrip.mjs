// Run by test/smoke/node20.test.ts with the system Node 20: the built codec must work on the oldest
// Node the transforms support. Usage: node node20-roundtrip.mjs <in.wasm> <out.wasm>
// Prints one line of JSON: { ok, node, bytesIn, bytesOut, valid } or { ok: false, error }.
import { readFileSync, writeFileSync } from 'node:fs'

const [input, output] = process.argv.slice(2)
try {
  const { decode, encode } = await import('../../packages/wasm/dist/index.js')
  const bytes = new Uint8Array(readFileSync(input))
  const module = decode(bytes, { bodies: 'eager' })
  const out = encode(module)
  if (output) writeFileSync(output, out)
  const valid = WebAssembly.validate(out)
  console.log(
    JSON.stringify({ ok: true, node: process.version, bytesIn: bytes.length, bytesOut: out.length, valid }),
  )
} catch (error) {
  console.log(JSON.stringify({ ok: false, node: process.version, error: String(error?.stack ?? error) }))
  process.exitCode = 1
}

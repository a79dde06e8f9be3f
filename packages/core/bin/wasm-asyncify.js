#!/usr/bin/env node
// npm links a package's `bin` at install time, and in a fresh clone that is before `npm run build` has
// written dist/: this file is in the repository so that the link is made, and it runs the built command.
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (existsSync(cli)) await import(cli.href)
else {
  console.error('wasm-asyncify: not built yet; run `npm run build` in the repository first')
  process.exitCode = 1
}

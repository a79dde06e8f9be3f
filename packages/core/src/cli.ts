#!/usr/bin/env node
/** `wasm-asyncify`: the rewrite as a command (see `command.ts`). */
import { runCommand } from './command.js'

process.exitCode = await runCommand(process.argv.slice(2), {
  cwd: process.cwd(),
  out: line => console.log(line),
  err: line => console.error(line),
})

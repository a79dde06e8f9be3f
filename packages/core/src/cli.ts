#!/usr/bin/env node
/** `wasm-asyncify`: the rewrite as a command; exits non-zero with a one-line reason on any error. */
import { readFileSync, writeFileSync } from 'node:fs'
import { WasmDecodeError } from '@unplugin-asyncify/wasm'
import { asyncify } from './asyncify.js'
import { parseCliArgs, USAGE } from './cli-args.js'
import { AsyncifyError, AsyncifyOptionError } from './errors.js'
import { watToWasm } from './wat.js'

async function main(argv: string[]): Promise<number> {
  const args = parseCliArgs(argv)
  if (args.help) {
    console.log(USAGE)
    return 0
  }
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(args.input))
  } catch (e) {
    throw new AsyncifyError(`cannot read ${args.input}: ${(e as Error).message}`)
  }
  if (args.input.endsWith('.wat') || args.input.endsWith('.wast'))
    bytes = await watToWasm(new TextDecoder().decode(bytes), args.input)
  let result: Awaited<ReturnType<typeof asyncify>>
  try {
    result = await asyncify(bytes, { ...args.options, cwd: process.cwd() })
  } catch (e) {
    // Name the file: the library errors only know offsets, functions and options.
    if (e instanceof WasmDecodeError || (e instanceof AsyncifyError && !(e instanceof AsyncifyOptionError)))
      e.message = `${args.input}: ${e.message}`
    throw e
  }
  const { binary, report } = result
  writeFileSync(args.output as string, binary)
  if (args.report !== null) writeFileSync(args.report, `${JSON.stringify(report, null, 2)}\n`)
  if (!args.quiet) {
    for (const w of report.warnings) console.error(`warning: ${w}`)
    console.error(
      `wasm-asyncify: ${report.instrumented.length} functions instrumented, ${report.sites} call sites; ` +
        `${report.sizeBefore} → ${report.sizeAfter} bytes (${(report.sizeAfter / report.sizeBefore).toFixed(2)}x) ` +
        `in ${report.timings.total.toFixed(0)} ms`,
    )
  }
  return 0
}

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code
  },
  (e: unknown) => {
    if (e instanceof AsyncifyError || e instanceof WasmDecodeError) {
      console.error(`wasm-asyncify: ${e.message}`)
      process.exitCode = 1
    } else {
      console.error(e)
      process.exitCode = 2
    }
  },
)

#!/usr/bin/env node
/** `wasm-asyncify`: the rewrite as a command; exits non-zero with a one-line reason on any error. */
import { readFileSync, writeFileSync } from 'node:fs'
import { WasmDecodeError } from '@unplugin-asyncify/wasm'
import { asyncify } from './asyncify.js'
import { parseCliArgs, USAGE } from './cli-args.js'
import { AsyncifyError, AsyncifyOptionError } from './errors.js'
import { resolveOptions } from './options.js'
import { runPasses } from './passes.js'
import { watToWasm } from './wat.js'

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/** Library errors know offsets, functions and options; the command adds the file. */
function naming<T>(file: string, run: () => Promise<T>): Promise<T> {
  return run().catch((e: unknown) => {
    if (e instanceof WasmDecodeError || (e instanceof AsyncifyError && !(e instanceof AsyncifyOptionError)))
      e.message = `${file}: ${e.message}`
    throw e
  })
}

async function main(argv: string[]): Promise<number> {
  const args = parseCliArgs(argv)
  if (args.help) {
    console.log(USAGE)
    return 0
  }
  if (args.version) {
    console.log(`wasm-asyncify ${version()}`)
    return 0
  }
  if (!args.quiet) for (const w of args.warnings) console.error(`warning: ${w}`)
  const options = { ...args.options, cwd: process.cwd() }
  const settings = resolveOptions(options)
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(args.input))
  } catch (e) {
    throw new AsyncifyError(`cannot read ${args.input}: ${(e as Error).message}`)
  }
  if (args.input.endsWith('.wat') || args.input.endsWith('.wast'))
    bytes = await watToWasm(new TextDecoder().decode(bytes), args.input)
  const sizeIn = bytes.length
  const { before, after } = args.passes
  if (before.length > 0) bytes = await naming(args.input, () => runPasses(bytes, before, settings, true))
  const { binary: rewritten, report } = await naming(args.input, () => asyncify(bytes, options))
  let binary = rewritten
  if (after.length > 0)
    binary = await naming(args.input, () => runPasses(rewritten, after, settings, settings.debugInfo))
  writeFileSync(args.output as string, binary)
  if (args.report !== null) writeFileSync(args.report, `${JSON.stringify(report, null, 2)}\n`)
  if (!args.quiet) {
    for (const w of report.warnings) console.error(`warning: ${w}`)
    console.error(
      `wasm-asyncify: ${report.instrumented.length} functions instrumented, ${report.sites} call sites; ` +
        `${sizeIn} → ${binary.length} bytes (${(binary.length / sizeIn).toFixed(2)}x) ` +
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

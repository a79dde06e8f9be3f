/**
 * `wasm-asyncify` as a function of its arguments: the command (`cli.ts`) and the tests call it. Every
 * error ends as one line naming the file, option or flag, and exit code 1 (2 for a bug of ours).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
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

export interface CommandIO {
  /** Directory that file names and `@file` lists are relative to. */
  cwd: string
  out(line: string): void
  err(line: string): void
}

async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseCliArgs(argv, io.cwd)
  if (args.help) {
    io.out(USAGE)
    return 0
  }
  if (args.version) {
    io.out(`wasm-asyncify ${version()}`)
    return 0
  }
  if (!args.quiet) for (const w of args.warnings) io.err(`warning: ${w}`)
  const options = { ...args.options, cwd: io.cwd }
  const settings = resolveOptions(options)
  const path = (file: string): string => resolve(io.cwd, file)
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(path(args.input)))
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
  writeFileSync(path(args.output as string), binary)
  if (args.report !== null) writeFileSync(path(args.report), `${JSON.stringify(report, null, 2)}\n`)
  if (!args.quiet) {
    for (const w of report.warnings) io.err(`warning: ${w}`)
    io.err(
      `wasm-asyncify: ${report.instrumented.length} functions instrumented, ${report.sites} call sites; ` +
        `${sizeIn} → ${binary.length} bytes (${(binary.length / sizeIn).toFixed(2)}x) ` +
        `in ${report.timings.total.toFixed(0)} ms`,
    )
  }
  return 0
}

/** Runs the command; resolves to its exit code. */
export async function runCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  try {
    return await main(argv, io)
  } catch (e) {
    if (e instanceof AsyncifyError || e instanceof WasmDecodeError) {
      io.err(`wasm-asyncify: ${e.message}`)
      return 1
    }
    io.err(String((e as Error)?.stack ?? e))
    return 2
  }
}

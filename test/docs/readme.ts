// README.md as data for the docs tests: its fenced code blocks, each with the `<!-- sample: … -->`
// directive on the line before it, which says what the test does with the block:
//
//   file <name>           the block is a file of the sample project (written before what follows)
//   run [needs <tool>]    a shell block, run by bash in the sample project
//   node [needs <tool>]   an ES module, run by Node 26 in the sample project
//   output                the exact stdout of the run or node block before it
//   bundler <name>        a quick start: build the sample app with that bundler, open it in Chromium
//   layout                a directory listing: every path in it exists in the repository
//   not run: <reason>     not executed, and why (a test file it names must exist)
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../../', import.meta.url))

export interface Sample {
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  code: string
  kind: 'file' | 'run' | 'node' | 'output' | 'bundler' | 'layout' | 'not run'
  /** The rest of the directive: a file name, a bundler, a reason. */
  arg: string
  /** A command that must be on PATH for the sample to run (`needs clang-19`). */
  needs?: string
}

const DIRECTIVE = /^<!-- sample: (file|run|node|output|bundler|layout|not run)(?::| )?\s*(.*?)\s*-->$/

export function readmeText(): string {
  return readFileSync(`${root}README.md`, 'utf8')
}

/** Every fenced block of the README; a block without a valid directive is an error naming its line. */
export function samples(text = readmeText()): Sample[] {
  const lines = text.split('\n')
  const out: Sample[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i] as string)
    if (open === null) continue
    const end = lines.findIndex((l, j) => j > i && l === '```')
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`)
    const directive = DIRECTIVE.exec(lines[i - 1] ?? '')
    if (directive === null)
      throw new Error(
        `README.md:${i + 1}: a code block without a <!-- sample: … --> directive on the line before`,
      )
    const [, kind, rest = ''] = directive
    const [, arg = '', needs] = /^(.*?)(?:\s*\bneeds (\S+))?$/.exec(rest) ?? []
    out.push({
      line: i + 1,
      lang: open[1] ?? '',
      code: lines.slice(i + 1, end).join('\n'),
      kind: kind as Sample['kind'],
      arg,
      ...(needs === undefined ? {} : { needs }),
    })
    i = end
  }
  return out
}

/** The text of a `## heading` section, up to the next `## `. */
export function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`)
  const next = text.indexOf('\n## ', start + 1)
  return text.slice(start, next < 0 ? undefined : next)
}

// The error messages of the rewrite, the runtime and the plugin, read from their sources with the oxc
// parser (rolldown's): every `new AsyncifyError(…)`, `new AsyncifyOptionError(option, …)` (whose message
// is `option <option>: …`), `new PluginOptionError(…)`, `new BufferOverflowError(…)` (its class's
// template) and the runtime's plain `Error`s about the metadata section (runtime/src/abi.ts). A message
// is its text with `…` for every interpolated value; a conditional gives each branch.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseSync, Visitor } from 'rolldown/utils'
import { root } from './readme.js'

export interface Message {
  text: string
  /** `package/src/file.ts:line`. */
  where: string
  error: string
}

const OPTION_ERRORS = new Set(['AsyncifyOptionError', 'PluginOptionError'])
const ERRORS = new Set(['AsyncifyError', 'BufferOverflowError', 'TransformError', ...OPTION_ERRORS])
/** Plain `Error`s users can meet: the runtime's checks of a binary's metadata section, the plugin's worker. */
const PLAIN_ERROR_FILES = new Set(['runtime/src/abi.ts', 'unplugin/src/transformer.ts'])

/**
 * Errors that pass another error's message on (re-prefixed with where it came from, or sent back from
 * the transform worker): their texts are the messages listed elsewhere. By file and the message
 * expression's start.
 */
const RETHROWN: [string, string][] = [
  ['unplugin/src/options.ts', 'e.message.slice('],
  ['unplugin/src/transformer.ts', 'reply.message'],
]

/**
 * Messages passed in a variable: the expression that is thrown, and the constant that holds the text.
 * The test fails on any other message it cannot read, so that a new one is added here or made literal.
 */
const INDIRECT: Record<string, { file: string; constant: string }> = {
  'runtime/src/memory.ts this.missing': { file: 'runtime/src/driver.ts', constant: 'MISSING' },
}

// oxc's ESTree nodes, as far as this file reads them.
interface Node {
  type: string
  start: number
  end: number
  [key: string]: unknown
}

const lineOf = (source: string, offset: number): number => source.slice(0, offset).split('\n').length

/** The texts an expression can evaluate to, with `…` for what is not a literal; null if it is no text. */
function texts(node: Node): string[] | null {
  switch (node.type) {
    case 'Literal':
      return typeof node.value === 'string' ? [node.value] : null
    case 'TemplateLiteral': {
      // Each interpolation is `…`, unless it is itself a choice of texts (`${near ? ` (did you mean…)` : ''}`).
      const quasis = (node.quasis as { value: { cooked: string } }[]).map(q => q.value.cooked)
      const parts = (node.expressions as Node[]).map(
        e => (e.type === 'ConditionalExpression' ? texts(e) : null) ?? ['…'],
      )
      return parts.reduce(
        (acc, choices, i) => acc.flatMap(a => choices.map(c => a + c + quasis[i + 1])),
        [quasis[0] as string],
      )
    }
    case 'ConditionalExpression': {
      const a = texts(node.consequent as Node)
      const b = texts(node.alternate as Node)
      return a && b ? [...a, ...b] : null
    }
    case 'BinaryExpression': {
      if (node.operator !== '+') return null
      const a = texts(node.left as Node) ?? ['…']
      const b = texts(node.right as Node) ?? ['…']
      return a.flatMap(x => b.map(y => x + y))
    }
    case 'ParenthesizedExpression':
      return texts(node.expression as Node)
    default:
      return null
  }
}

function sourceFiles(): string[] {
  const out: string[] = []
  for (const pkg of ['core', 'runtime', 'unplugin']) {
    const dir = join(root, 'packages', pkg, 'src')
    for (const f of readdirSync(dir, { recursive: true }) as string[])
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push(`${pkg}/src/${f}`)
  }
  return out.sort()
}

function parse(file: string): { source: string; program: Node } {
  const source = readFileSync(join(root, 'packages', file), 'utf8')
  const r = parseSync(file, source)
  if (r.errors.length > 0) throw new Error(`${file}: ${r.errors[0]?.message}`)
  return { source, program: r.program as unknown as Node }
}

/** The text of `const name = '…'` (or a template) at the top level of a file. */
function constant(file: string, name: string): string[] {
  const { program } = parse(file)
  for (const statement of program.body as Node[]) {
    if (statement.type !== 'VariableDeclaration') continue
    for (const d of statement.declarations as Node[])
      if ((d.id as Node & { name?: string }).name === name && d.init) {
        const t = texts(d.init as Node)
        if (t) return t
      }
  }
  throw new Error(`${file}: no constant ${name} with a literal value`)
}

/** The template of `super(…)` in the constructor of class `name` in `file`. */
function superTemplate(file: string, name: string): string[] {
  const { program } = parse(file)
  let found: string[] | null = null
  new Visitor({
    ClassDeclaration(c) {
      if (c.id?.name !== name) return
      new Visitor({
        CallExpression(call) {
          if (call.callee.type === 'Super' && call.arguments[0])
            found = texts(call.arguments[0] as unknown as Node)
        },
      }).visit({
        type: 'Program',
        body: [c],
        sourceType: 'module',
        hashbang: null,
        start: 0,
        end: 0,
      } as never)
    },
  }).visit(program as never)
  if (found === null) throw new Error(`${file}: class ${name} has no super(message) template`)
  return found
}

/** Every message, and the error sites whose message could not be read (a bug of this list). */
export function messages(): { messages: Message[]; unread: string[] } {
  const out: Message[] = []
  const unread: string[] = []
  for (const file of sourceFiles()) {
    const { source, program } = parse(file)
    const pkg = file.split('/')[0]
    new Visitor({
      NewExpression(n) {
        const callee = n.callee as unknown as Node & { name?: string }
        const error = callee.type === 'Identifier' ? (callee.name ?? '') : ''
        if (!ERRORS.has(error) && !(error === 'Error' && PLAIN_ERROR_FILES.has(file))) return
        const where = `${file}:${lineOf(source, n.start)}`
        const args = n.arguments as unknown as Node[]
        // TransformError(file, message, option?); the option errors' message follows the option.
        const message = args[error === 'TransformError' || OPTION_ERRORS.has(error) ? 1 : 0]
        const expression = message ? source.slice(message.start, message.end) : ''
        if (RETHROWN.some(([f, start]) => f === file && expression.startsWith(start))) return
        let found: string[] | null
        if (error === 'BufferOverflowError') found = superTemplate(`${pkg}/src/errors.ts`, error)
        else if (message === undefined) found = null
        else if (OPTION_ERRORS.has(error)) {
          const option = args[0] ? (texts(args[0]) ?? ['…']) : ['…']
          const text = texts(message)
          found = text && option.flatMap(o => text.map(t => `option ${o}: ${t}`))
        } else {
          const indirect = INDIRECT[`${file} ${expression}`]
          found = indirect ? constant(indirect.file, indirect.constant) : texts(message)
        }
        if (found === null)
          unread.push(`${where}: new ${error}(${source.slice(n.start, n.end).slice(0, 80)}…)`)
        else for (const t of found) out.push({ text: t.replace(/…+/g, '…'), where, error })
      },
    }).visit(program as never)
  }
  return { messages: out, unread }
}

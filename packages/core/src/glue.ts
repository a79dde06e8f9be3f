/**
 * The JS module a bundler serves for `import init from './x.wasm?asyncify'`.
 *
 * The data flow ends here: the rewrite gave bytes and a report, the bundler adapter decided where the
 * bytes go (an emitted asset, a dev-server URL, inline), and this function writes the module text that
 * ties them to the runtime. It mirrors Vite's own `?init` helper:
 *
 * - the default export is `init(imports?, options?) → Promise<AsyncifiedInstance>`, a thin call of the
 *   runtime's `instantiate` with the right binary for the mode and the report the runtime needs to
 *   drive it (the original binary of JSPI mode carries no metadata section, so the report travels
 *   in the glue);
 * - named exports give the transform's report (`suspendingExports`, `suspendingImports`, `report`);
 * - nothing runs at import time and there is no top-level await, so the module works in any build
 *   target that has ES modules; the binaries are located only when `init` is called.
 *
 * An asset is referenced either by a URL resolved against the glue module (`new URL(u, import.meta.url)`,
 * which every bundler recognises as an asset reference), by a JS expression the bundler later replaces
 * (Rollup's `import.meta.ROLLUP_FILE_URL_<ref>`), or inline as base64.
 */
import type { InstantiateOptions } from '@unplugin-asyncify/runtime'
import type { AsyncifyReport } from './asyncify.js'

/** How the runtime runs the module (its `mode`): the instrumented binary, the original under JSPI, or whichever the engine allows. */
export type GlueMode = NonNullable<InstantiateOptions['mode']>

/** Where the glue finds one binary. */
export type WasmAssetRef =
  /** A URL resolved against the glue module's own URL: `new URL(url, import.meta.url)`. */
  | { kind: 'url'; url: string }
  /**
   * A JS expression that evaluates to a URL string, such as `import.meta.ROLLUP_FILE_URL_<ref>`, resolved
   * against the glue; unlike a `url`, bundlers do not take a literal here for an asset of theirs.
   */
  | { kind: 'expression'; code: string }
  /** A module whose default export is the binary's URL string (esbuild's `file` loader); relative URLs resolve against the glue. */
  | { kind: 'import'; specifier: string }
  /** The bytes themselves, embedded as base64. */
  | { kind: 'inline'; bytes: Uint8Array }

export interface GlueInput {
  /** The file the module came from, for error messages (a display name, not a path the glue reads). */
  file: string
  /** The transform's report. */
  report: AsyncifyReport
  /** Default mode of `init`; it decides which binaries are shipped ('auto' ships both). */
  mode: GlueMode
  /** The instrumented binary; required unless mode is 'jspi'. */
  asyncify?: WasmAssetRef
  /** The original binary, run under JSPI; required unless mode is 'asyncify'. */
  original?: WasmAssetRef
  /** Import specifier of the runtime (default `@unplugin-asyncify/runtime`). */
  runtime?: string
  /** The plugin option to name when a mode is asked for whose binary was not shipped. */
  modeOption?: string
}

export const DEFAULT_RUNTIME = '@unplugin-asyncify/runtime'

/** The part of the report the glue exports as `report` (timings and per-function reasons stay in the build log). */
export interface GlueReport {
  file: string
  suspendingExports: string[]
  suspendingImports: string[]
  instrumented: string[]
  sites: number
  sizeBefore: number
  sizeAfter: number
  legacyExceptionsTranslated: boolean
  warnings: string[]
}

export function glueReport(file: string, report: AsyncifyReport): GlueReport {
  return {
    file,
    suspendingExports: report.suspendingExports,
    suspendingImports: report.suspendingImports,
    instrumented: report.instrumented.map(f => f.name),
    sites: report.sites,
    sizeBefore: report.sizeBefore,
    sizeAfter: report.sizeAfter,
    legacyExceptionsTranslated: report.legacyExceptionsTranslated,
    warnings: report.warnings,
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** JS statement (after `case …:`) that returns the runtime's `source` argument for one binary. */
function sourceStatement(ref: WasmAssetRef, role: string): string {
  switch (ref.kind) {
    case 'url':
      return `\n      return new URL(${JSON.stringify(ref.url)}, import.meta.url)`
    case 'expression':
      // Through a variable: bundlers rewrite `new URL('literal', import.meta.url)` as an asset of their own.
      return ` {\n      const href = ${ref.code}\n      return new URL(href, import.meta.url)\n    }`
    case 'import':
      return `\n      return new URL(${role}Url, import.meta.url)`
    case 'inline':
      return `\n      return decode(${JSON.stringify(base64(ref.bytes))})`
  }
}

/** `import` lines for the binaries referenced through a module. */
function assetImports(refs: [string, WasmAssetRef | undefined][]): string {
  return refs
    .map(([role, ref]) =>
      ref?.kind === 'import' ? `import ${role}Url from ${JSON.stringify(ref.specifier)}\n` : '',
    )
    .join('')
}

const DECODE = `function decode(b64) {
  const s = atob(b64)
  const bytes = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i)
  return bytes
}
`

function checkInput(input: GlueInput): void {
  const { mode, file } = input
  if (mode !== 'auto' && mode !== 'asyncify' && mode !== 'jspi')
    throw new TypeError(
      `glue for ${file}: mode must be 'auto', 'asyncify' or 'jspi', got ${JSON.stringify(mode)}`,
    )
  if (mode !== 'jspi' && input.asyncify === undefined)
    throw new TypeError(`glue for ${file}: mode '${mode}' needs the instrumented binary (asyncify)`)
  if (mode !== 'asyncify' && input.original === undefined)
    throw new TypeError(`glue for ${file}: mode '${mode}' needs the original binary (original)`)
}

/** Writes the glue module's text. */
export function generateGlue(input: GlueInput): string {
  checkInput(input)
  const { file, mode } = input
  const report = glueReport(file, input.report)
  const asyncify = mode === 'jspi' ? undefined : input.asyncify
  const original = mode === 'asyncify' ? undefined : input.original
  const cases: string[] = []
  if (asyncify !== undefined) cases.push(`    case 'asyncify':${sourceStatement(asyncify, 'asyncify')}`)
  if (original !== undefined) cases.push(`    case 'jspi':${sourceStatement(original, 'original')}`)
  if (cases.length === 2)
    cases.push(`    case 'auto':\n      return { asyncify: source('asyncify'), original: source('jspi') }`)
  const shipped = cases.length === 3 ? 'auto' : mode
  const inline = asyncify?.kind === 'inline' || original?.kind === 'inline'
  const option = input.modeOption ?? 'mode'
  const missing = `${file} was built with ${option} '${shipped}', which does not ship the binary for mode `
  return `import { instantiate } from ${JSON.stringify(input.runtime ?? DEFAULT_RUNTIME)}
${assetImports([
  ['asyncify', asyncify],
  ['original', original],
])}
export const suspendingExports = ${JSON.stringify(report.suspendingExports)}
export const suspendingImports = ${JSON.stringify(report.suspendingImports)}
export const report = /* @__PURE__ */ Object.freeze(${JSON.stringify(report)})
export const mode = ${JSON.stringify(mode)}

${inline ? DECODE : ''}function source(mode) {
  switch (mode) {
${cases.join('\n')}
  }
  throw new Error(${JSON.stringify(missing)} + JSON.stringify(mode))
}

/** Instantiates the module: \`init(imports?, options?) → Promise<AsyncifiedInstance>\`. */
export default async function init(imports, options) {
  const chosen = (options && options.mode) || mode
  const settings = Object.assign({ report: { suspendingExports, suspendingImports } }, options, { mode: chosen })
  return instantiate(source(chosen), imports, settings)
}
`
}

export { type AsyncifyReport, type AsyncifyResult, asyncify, type InstrumentedFunction } from './asyncify.js'
export { AsyncifyError, AsyncifyOptionError } from './errors.js'
export {
  DEFAULT_RUNTIME,
  type GlueInput,
  type GlueMode,
  type GlueReport,
  generateGlue,
  glueReport,
  type WasmAssetRef,
} from './glue.js'
// The option table's machinery, for tables that extend ASYNCIFY_OPTIONS (the bundler plugin's).
export * from './option-table.js'
export {
  ASYNCIFY_OPTIONS,
  type AsyncifyOptionRows,
  type AsyncifyOptions,
  levelsOf,
  OPTIMIZE_LEVELS,
  type OptimizeLevel,
  type ResolvedOptions,
  resolveOptions,
} from './options.js'
export { parseList, wildcardToRegExp } from './patterns.js'
export { watToWasm } from './wat.js'

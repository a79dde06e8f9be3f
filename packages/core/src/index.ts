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
export { type AsyncifyOptions, type OptimizeLevel, resolveOptions } from './options.js'
export { parseList, wildcardToRegExp } from './patterns.js'
export { watToWasm } from './wat.js'

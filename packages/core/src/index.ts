export { type AsyncifyReport, type AsyncifyResult, asyncify, type InstrumentedFunction } from './asyncify.js'
export { AsyncifyError, AsyncifyOptionError } from './errors.js'
export {
  type AnySpec,
  boolean,
  type Check,
  choice,
  closest,
  defineOptions,
  directory,
  type InputOf,
  integer,
  keyValues,
  nameList,
  type OptionDoc,
  type OptionKind,
  type OptionRows,
  OptionSet,
  type OptionSpec,
  type ResolvedOf,
  type Spelling,
  text,
} from './option-table.js'
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

/**
 * The module-level steps of the rewrite that add or move things, in the order `asyncify()` runs them:
 * place the data memory, add the state/data globals, replace the `asyncify.*` imports and lay out the
 * new functions (one step: the API functions take the place of those imports). Every new function, global and table gets its index here, by being appended (a function as
 * a placeholder whose body `NewFunctions.fill` writes once the instrumentation is done), so no index is
 * computed in one place and trusted in another. Index shifts of existing functions and globals are
 * applied to every body (all are lifted, see prepare-input.ts).
 */
import { type ApiName, EXPORTS, GLOBALS, RELOCATABLE_MODULE } from '@unplugin-asyncify/runtime/abi'
import {
  type BlockType,
  bodyContext,
  countImports,
  type FuncBody,
  getNames,
  type Module,
  ref,
  setFunctionName,
  type ValType,
  valTypeText,
} from '@unplugin-asyncify/wasm'
import { apiFunctions, type FrameHelpers, frameHelperFunctions, internFuncType } from './api.js'
import { I, nullable } from './build.js'
import { AsyncifyError, AsyncifyOptionError } from './errors.js'
import { exportsAllocator } from './metadata.js'
import { REWIND_SUFFIX } from './normal-copy.js'
import type { ResolvedOptions } from './options.js'
import { type Hierarchy, type RefSlotLayout, refSlotFunctions, tableCount } from './ref-slots.js'
import { remapIndices } from './renumber.js'

/** Where the asyncify data structure and its buffer live. */
export interface DataMemory {
  mem: number
  ptr: 'i32' | 'i64'
  /** Whether `mem` is a memory of the rewrite's own (`inSecondaryMemory`, or `'auto'` without an allocator). */
  secondary: boolean
}

/** Picks (or adds) the memory holding the asyncify data. */
export function placeDataMemory(
  m: Module,
  opts: Pick<ResolvedOptions, 'inSecondaryMemory' | 'secondaryMemorySize' | 'memory'>,
): DataMemory {
  const memCount = countImports(m, 'memory') + m.memories.length
  const secondary = opts.inSecondaryMemory === 'auto' ? !exportsAllocator(m) : opts.inSecondaryMemory
  let mem: number
  if (secondary) {
    mem = memCount
    const size = opts.secondaryMemorySize
    // As binaryen makes it (fixed size); chosen by 'auto', it may grow: the runtime grows it when full.
    const max = opts.inSecondaryMemory === 'auto' ? null : size
    m.memories.push({ limits: { min: size, max, shared: false, is64: false }, pageSizeLog2: null })
    exportUnique(m, EXPORTS.memory, 'memory', mem)
  } else if (memCount === 0) {
    mem = 0
    m.memories.push({ limits: { min: 1, max: null, shared: false, is64: false }, pageSizeLog2: null })
    exportUnique(m, 'memory', 'memory', mem)
  } else if (memCount === 1 && opts.memory === null) mem = 0
  else {
    const want = opts.memory ?? 'memory'
    const e = m.exports.find(x => x.kind === 'memory' && x.name === want)
    if (e === undefined)
      throw new AsyncifyOptionError(
        'memory',
        opts.memory === null
          ? `the module has ${memCount} memories: name the exported one to use`
          : `no exported memory is named ${want}`,
      )
    mem = e.index
  }
  return { mem, ptr: bodyContext(m).memIs64[mem] === true ? 'i64' : 'i32', secondary }
}

export interface StateGlobals {
  state: number
  data: number
}

/**
 * The state and data-pointer globals: defined, or (relocatable) imported from `env`, which shifts the
 * indices of the defined globals by two.
 */
export function addStateGlobals(
  m: Module,
  opts: Pick<ResolvedOptions, 'relocatable' | 'exportGlobals'>,
  ptr: 'i32' | 'i64',
): StateGlobals {
  let g: StateGlobals
  const importedGlobals = countImports(m, 'global')
  if (opts.relocatable) {
    keepNamesInStep(m)
    remapIndices(m, { global: x => (x >= importedGlobals ? x + 2 : x) })
    m.imports.splice(
      lastImportPosition(m, 'global'),
      0,
      {
        module: RELOCATABLE_MODULE,
        name: GLOBALS.state,
        desc: { kind: 'global', global: { type: 'i32', mutable: true } },
      },
      {
        module: RELOCATABLE_MODULE,
        name: GLOBALS.data,
        desc: { kind: 'global', global: { type: ptr, mutable: true } },
      },
    )
    g = { state: importedGlobals, data: importedGlobals + 1 }
  } else {
    g = {
      state: addGlobal(m, 'i32', [I.i32(0)]),
      data: addGlobal(m, ptr, [ptr === 'i64' ? I.i64(0n) : I.i32(0)]),
    }
  }
  if (opts.exportGlobals) {
    exportUnique(m, GLOBALS.state, 'global', g.state)
    exportUnique(m, GLOBALS.data, 'global', g.data)
  }
  return g
}

function addGlobal(m: Module, type: ValType, init: ReturnType<typeof I.i32>[]): number {
  m.globals.push({ type, mutable: true, init })
  return countImports(m, 'global') + m.globals.length - 1
}

/**
 * Removes the `asyncify.*` function imports; every call to one calls `apiIndex[name]` instead. Returns the
 * new index of each old function index.
 */
function removeApiImports(
  m: Module,
  api: Map<number, ApiName>,
  apiIndex: Record<ApiName, number>,
): (old: number) => number {
  keepNamesInStep(m)
  const removed = [...api.keys()].sort((a, b) => a - b)
  const shift = (i: number): number => {
    const name = api.get(i)
    if (name !== undefined) return apiIndex[name]
    let below = 0
    for (const r of removed) if (r < i) below++
    return i - below
  }
  remapIndices(m, { func: shift })
  let k = -1
  m.imports = m.imports.filter(imp => {
    if (imp.desc.kind !== 'func') return true
    k++
    return !api.has(k)
  })
  return shift
}

/** Index shifts must reach the name section too: parse it now; a malformed one is dropped, not left wrong. */
function keepNamesInStep(m: Module): void {
  if (!m.customs.some(c => c.name === 'name')) return
  try {
    getNames(m)
  } catch {
    m.customs = m.customs.filter(c => c.name !== 'name')
  }
}

/** A function added by the rewrite: its index, and how its body is made once the module is final. */
interface Planned {
  index: number
  body: () => FuncBody
}

/**
 * The functions the rewrite adds: the API (exported, serving the removed imports), the frame helpers,
 * and (on first use) the reference-slot functions with their tables and globals. Each is appended when
 * its index is handed out; `fill` writes the bodies.
 */
export class NewFunctions {
  readonly api: Record<ApiName, number>
  readonly helpers: FrameHelpers
  private readonly planned: Planned[] = []
  private readonly named: boolean
  private slots: RefSlotLayout | null = null

  /** New index of each function index of the input (shifted when `asyncify.*` imports are removed). */
  readonly shift: (old: number) => number

  constructor(
    private readonly m: Module,
    private readonly env: { stateGlobal: number; dataGlobal: number; mem: number; ptr: 'i32' | 'i64' },
    apiImports: Map<number, ApiName>,
  ) {
    this.named = m.names !== null || m.customs.some(c => c.name === 'name')
    const typeFor = this.typeFor
    const apiEnv = { ...env, typeFor }
    const api = apiFunctions(apiEnv)
    // The API functions come first after the existing ones, once the imports they replace are gone.
    const apiBase = countImports(m, 'func') - apiImports.size + m.funcs.length
    const apiIndex = {} as Record<ApiName, number>
    api.forEach((a, k) => {
      apiIndex[a.name] = apiBase + k
    })
    this.shift = apiImports.size === 0 ? i => i : removeApiImports(m, apiImports, apiIndex)
    for (const a of api) {
      const index = this.append(a.type, EXPORTS[a.name], () => a.body)
      exportUnique(m, EXPORTS[a.name], 'func', index)
    }
    this.api = apiIndex
    const [rewindTake, unwindTake] = frameHelperFunctions(apiEnv).map(h =>
      this.append(h.type, h.name, () => h.body),
    ) as [number, number]
    this.helpers = { rewindTake, unwindTake }
  }

  private readonly typeCache = new Map<string, number>()
  /** A plain function type (params) → (results), interned (the rewrite asks for block types a lot). */
  readonly typeFor = (params: ValType[], results: ValType[]): number => {
    const key = `${params.map(valTypeText).join(' ')}>${results.map(valTypeText).join(' ')}`
    let t = this.typeCache.get(key)
    if (t === undefined) {
      t = internFuncType(this.m, params, results)
      this.typeCache.set(key, t)
    }
    return t
  }

  /** A block type for [params] → [results], adding a function type when needed. */
  readonly blockType = (params: ValType[], results: ValType[]): BlockType =>
    params.length === 0 && results.length === 0
      ? null
      : params.length === 0 && results.length === 1
        ? (results[0] as ValType)
        : this.typeFor(params, results)

  /** A new tag carrying `params`. */
  addTag(params: ValType[]): number {
    this.m.tags.push({ type: this.typeFor(params, []) })
    return countImports(this.m, 'tag') + this.m.tags.length - 1
  }

  private readonly wrappers = new Map<number, number>()
  /** Export wrapper index → the function it wraps. */
  readonly wrapped = new Map<number, number>()

  /**
   * A function exported in place of `target`, with its parameters and its results made nullable; the
   * body is made from those. One per target.
   */
  exportWrapper(target: number, body: (params: ValType[], results: ValType[]) => FuncBody): number {
    const known = this.wrappers.get(target)
    if (known !== undefined) return known
    const type = this.m.funcs[target - countImports(this.m, 'func')]?.type
    const ft = type === undefined ? undefined : this.m.types[type]?.composite
    if (ft?.kind !== 'func') throw new AsyncifyError(`internal: no function ${target} to wrap`)
    const index = this.append(
      this.typeFor(ft.params, ft.results.map(nullable)),
      `asyncify_export_${target}`,
      () => body(ft.params, ft.results),
    )
    this.wrappers.set(target, index)
    this.wrapped.set(index, target)
    return index
  }

  /**
   * A new function of type `type` holding `body`: the rewritten body of a function `name` that runs a
   * normal-state copy of itself (normal-copy.ts).
   */
  readonly rewindFunction = (name: string, type: number, body: FuncBody): number => {
    const index = this.append(type, name + REWIND_SUFFIX, () => body)
    // Named even in a module without names: optimize() keeps these functions out of line by name.
    if (!this.named) setFunctionName(this.m, index, name + REWIND_SUFFIX)
    this.rewinds++
    return index
  }

  private rewinds = 0
  /** How many functions rewindFunction added. */
  get rewindFunctions(): number {
    return this.rewinds
  }

  /** Whether reference slots were used (so `asyncify_release_refs` is exported). */
  get usesRefSlots(): boolean {
    return this.slots !== null
  }

  private append(type: number, name: string, body: () => FuncBody): number {
    const index = countImports(this.m, 'func') + this.m.funcs.length
    this.m.funcs.push({ type, body: null, raw: null, rawOffset: 0 })
    if (this.named) setFunctionName(this.m, index, name)
    this.planned.push({ index, body })
    return index
  }

  /** The function saving a reference of hierarchy `h` to a slot (ref → i32), or loading it (i32 → ref). */
  refSlot(h: Hierarchy, dir: 'save' | 'load'): number {
    const l = this.slots ?? this.startRefSlots()
    let fs = l.funcs.save.get(h)
    if (fs === undefined) {
      l.tables.set(h, this.addTable(h))
      const top = ref(h, true)
      fs = this.append(this.typeFor([top], ['i32']), `asyncify_save_${h}ref`, () =>
        this.slotBody(fs as number),
      )
      const fl = this.append(this.typeFor(['i32'], [top]), `asyncify_load_${h}ref`, () => this.slotBody(fl))
      l.funcs.save.set(h, fs)
      l.funcs.load.set(h, fl)
    }
    return dir === 'save' ? fs : (l.funcs.load.get(h) as number)
  }

  private startRefSlots(): RefSlotLayout {
    const { m } = this
    const head = addGlobal(m, 'i32', [I.i32(-1)])
    const cap = addGlobal(m, 'i32', [I.i32(0)])
    const linksTable = tableCount(m)
    m.tables.push({
      refType: ref('i31', true),
      limits: { min: 0, max: null, shared: false, is64: false },
      init: null,
    })
    const funcs = { alloc: -1, free: -1, release: -1, save: new Map(), load: new Map() }
    const l: RefSlotLayout = {
      linksTable,
      tables: new Map(),
      headGlobal: head,
      capGlobal: cap,
      dataGlobal: this.env.dataGlobal,
      ptr: this.env.ptr,
      funcs,
    }
    this.slots = l
    funcs.alloc = this.append(this.typeFor([], ['i32']), 'asyncify_slot_alloc', () =>
      this.slotBody(funcs.alloc),
    )
    funcs.free = this.append(this.typeFor(['i32'], []), 'asyncify_slot_free', () => this.slotBody(funcs.free))
    funcs.release = this.append(this.typeFor([this.env.ptr], []), 'asyncify_release_refs', () =>
      this.slotBody(funcs.release),
    )
    exportUnique(m, EXPORTS.releaseRefs, 'func', funcs.release)
    return l
  }

  private addTable(h: Hierarchy): number {
    const index = tableCount(this.m)
    this.m.tables.push({
      refType: ref(h, true),
      limits: { min: 0, max: null, shared: false, is64: false },
      init: null,
    })
    return index
  }

  private slotBodies: Map<number, FuncBody> | null = null

  /** The body of slot function `index` (all are made together, once every table is known). */
  private slotBody(index: number): FuncBody {
    if (this.slotBodies === null) {
      this.slotBodies = new Map()
      for (const f of refSlotFunctions(this.slots as RefSlotLayout)) this.slotBodies.set(f.index, f.body)
    }
    const body = this.slotBodies.get(index)
    if (body === undefined) throw new AsyncifyError(`internal: no slot function ${index}`)
    return body
  }

  /** Writes the body of every added function (after instrumentation: the slot tables are final then). */
  fill(): void {
    const imported = countImports(this.m, 'func')
    for (const p of this.planned)
      (this.m.funcs[p.index - imported] as Module['funcs'][number]).body = p.body()
  }
}

export function exportUnique(
  m: Module,
  name: string,
  kind: 'func' | 'memory' | 'global',
  index: number,
): void {
  if (m.exports.some(e => e.name === name))
    throw new AsyncifyError(`the module already exports something named ${name}`)
  m.exports.push({ name, kind, index })
}

/** Position in the import list right after the last import of `kind` (or at the end). */
function lastImportPosition(m: Module, kind: 'global'): number {
  for (let i = m.imports.length - 1; i >= 0; i--) if (m.imports[i]?.desc.kind === kind) return i + 1
  return m.imports.length
}

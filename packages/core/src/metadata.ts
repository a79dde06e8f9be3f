/**
 * The self-description an instrumented binary carries (`METADATA_SECTION`, format in the runtime's
 * `abi.ts`): what a runtime must know to drive it without the transform's report at hand. Finding the
 * data memory's export and the C stack pointer may add exports, so both run before encoding.
 */
import {
  ALLOCATORS,
  type AsyncifyMetadata,
  EMSCRIPTEN_STACK_ACCESSORS,
  EXPORTS,
  encodeMetadata,
  METADATA_SECTION,
  METADATA_VERSION,
  type PointerWidth,
  STACK_POINTER_GLOBAL,
  type StackPointerAccess,
} from '@unplugin-asyncify/runtime/abi'
import {
  countImports,
  getNames,
  type Module,
  type ValType,
  valTypeText,
  Writer,
} from '@unplugin-asyncify/wasm'

/** Whether the module exports one of the allocator pairs a runtime takes buffers from (`ALLOCATORS`). */
export function exportsAllocator(m: Module): boolean {
  const funcs = new Set(m.exports.filter(e => e.kind === 'func').map(e => e.name))
  return ALLOCATORS.some(([malloc, free]) => funcs.has(malloc) && funcs.has(free))
}

/** Export name of memory `mem`, exporting it as `EXPORTS.memory` when the module does not. */
export function exportedMemoryName(m: Module, mem: number): string {
  const e = m.exports.find(x => x.kind === 'memory' && x.index === mem)
  if (e !== undefined) return e.name
  m.exports.push({ name: EXPORTS.memory, kind: 'memory', index: mem })
  return EXPORTS.memory
}

/**
 * How a runtime reaches the C stack pointer: wasm-ld's exported `__stack_pointer`, emscripten's
 * accessors, or a mutable global the name section calls `__stack_pointer` (exported here so that a
 * runtime can give each suspended call a C stack of its own). Null when there is none.
 */
export function stackPointerAccess(m: Module): StackPointerAccess | null {
  const exported = m.exports.find(e => e.kind === 'global' && e.name === STACK_POINTER_GLOBAL)
  if (exported !== undefined) return { kind: 'global', export: exported.name }
  const funcs = new Set(m.exports.filter(e => e.kind === 'func').map(e => e.name))
  for (const [get, set] of EMSCRIPTEN_STACK_ACCESSORS)
    if (funcs.has(get) && funcs.has(set)) return { kind: 'functions', get, set }
  if (!m.customs.some(c => c.name === 'name') || m.exports.some(e => e.name === STACK_POINTER_GLOBAL))
    return null
  let globalNames: Map<number, string> | undefined
  try {
    globalNames = getNames(m).maps.get(7)
  } catch {
    return null // a malformed name section only costs the per-call C stacks
  }
  for (const [index, name] of globalNames ?? []) {
    if (name !== STACK_POINTER_GLOBAL || !isPointerGlobal(m, index)) continue
    m.exports.push({ name: STACK_POINTER_GLOBAL, kind: 'global', index })
    return { kind: 'global', export: STACK_POINTER_GLOBAL }
  }
  return null
}

function isPointerGlobal(m: Module, index: number): boolean {
  const imported = countImports(m, 'global')
  let type: { type: ValType; mutable: boolean } | undefined
  if (index < imported) {
    const imp = m.imports.filter(i => i.desc.kind === 'global')[index]
    type = imp?.desc.kind === 'global' ? imp.desc.global : undefined
  } else type = m.globals[index - imported]
  return type?.mutable === true && (type.type === 'i32' || type.type === 'i64')
}

/**
 * The suspending imports as `[module, name]` pairs and, in the same order, their result types (a runtime
 * returns a stand-in of those types while it starts an unwind). `names` are `module.name` strings; the
 * asyncify.* imports are gone by now (served by the module itself), every other import keeps its name.
 */
export function suspendingImportFacts(
  m: Module,
  names: string[],
): Pick<MetadataFacts, 'suspendingImports' | 'suspendingImportResults'> {
  const byName = new Map<string, { pair: [string, string]; results: string[] }>()
  for (const i of m.imports) {
    if (i.desc.kind !== 'func') continue
    const c = m.types[i.desc.type]?.composite
    const results = c?.kind === 'func' ? c.results.map(valTypeText) : []
    byName.set(`${i.module}.${i.name}`, { pair: [i.module, i.name], results })
  }
  const found = names.flatMap(n => {
    const f = byName.get(n)
    return f === undefined ? [] : [f]
  })
  return { suspendingImports: found.map(f => f.pair), suspendingImportResults: found.map(f => f.results) }
}

export interface MetadataFacts {
  pointer: PointerWidth
  memory: string
  secondaryMemory: boolean
  suspendingImports: [string, string][]
  suspendingImportResults: string[][]
  suspendingExports: string[]
  stackPointer: StackPointerAccess | null
  releaseRefs: boolean
}

/** `bytes` with the metadata custom section appended (after optimization, so nothing can drop it). */
export function withMetadata(bytes: Uint8Array<ArrayBuffer>, facts: MetadataFacts): Uint8Array<ArrayBuffer> {
  const meta: AsyncifyMetadata = { version: METADATA_VERSION, ...facts }
  const w = new Writer()
  w.name(METADATA_SECTION)
  w.bytes(encodeMetadata(meta))
  const payload = w.finish()
  const head = new Writer()
  head.u8(0)
  head.u32(payload.length)
  const section = head.finish()
  const out = new Uint8Array(bytes.length + section.length + payload.length)
  out.set(bytes, 0)
  out.set(section, bytes.length)
  out.set(payload, bytes.length + section.length)
  return out
}

// The metadata custom section: an instrumented binary says which imports and exports may suspend, where
// its data memory is and how to reach its C stack pointer (format and names in the runtime's abi.ts).
import { asyncify } from '@unplugin-asyncify/core'
import { decodeMetadata, METADATA_SECTION } from '@unplugin-asyncify/runtime/abi'
import { describe, expect, it } from 'vitest'
import { wat, watAll } from './shared.js'

async function metadataOf(text: string, options = {}, parse = wat) {
  const { binary } = await asyncify(parse(text), options)
  const module = new WebAssembly.Module(binary)
  const sections = WebAssembly.Module.customSections(module, METADATA_SECTION)
  expect(sections).toHaveLength(1)
  return { meta: decodeMetadata(sections[0] as ArrayBuffer), module }
}

const SLEEPER = `(module
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (global $__stack_pointer (mut i32) (i32.const 4096))
  (func $main (export "main") (call $sleep (i32.const 1)) (call $log (i32.const 2)))
  (func $pure (export "pure") (result i32) (i32.const 7)))`

describe('metadata section', () => {
  it('lists the suspending imports and exports, the memory and the pointer width', async () => {
    const { meta } = await metadataOf(SLEEPER, { imports: ['env.sleep'] })
    expect(meta.suspendingImports).toEqual([['env', 'sleep']])
    expect(meta.suspendingExports).toEqual(['main'])
    expect(meta.memory).toBe('memory')
    expect(meta.pointer).toBe('i32')
    expect(meta.secondaryMemory).toBe(false)
    expect(meta.releaseRefs).toBe(false)
  })

  it('exports a global the name section calls __stack_pointer', async () => {
    const { meta, module } = await metadataOf(SLEEPER)
    expect(meta.stackPointer).toEqual({ kind: 'global', export: '__stack_pointer' })
    expect(WebAssembly.Module.exports(module)).toContainEqual({ name: '__stack_pointer', kind: 'global' })
  })

  it("finds emscripten's stack accessors", async () => {
    const { meta } = await metadataOf(`(module
      (import "env" "sleep" (func $sleep))
      (memory (export "memory") 1)
      (global $sp (mut i32) (i32.const 4096))
      (func (export "emscripten_stack_get_current") (result i32) (global.get $sp))
      (func (export "_emscripten_stack_restore") (param i32) (global.set $sp (local.get 0)))
      (func (export "main") (call $sleep)))`)
    expect(meta.stackPointer).toEqual({
      kind: 'functions',
      get: 'emscripten_stack_get_current',
      set: '_emscripten_stack_restore',
    })
  })

  it('has no stack pointer when the module has none', async () => {
    const { meta } = await metadataOf(`(module
      (import "env" "sleep" (func $sleep))
      (memory (export "memory") 1)
      (func (export "main") (call $sleep)))`)
    expect(meta.stackPointer).toBeNull()
  })

  it('exports an unexported data memory, and names the secondary memory', async () => {
    const hidden = `(module
      (import "env" "sleep" (func $sleep))
      (memory 1)
      (func (export "main") (call $sleep)))`
    const { meta, module } = await metadataOf(hidden)
    expect(meta.memory).toBe('asyncify_memory')
    expect(WebAssembly.Module.exports(module)).toContainEqual({ name: 'asyncify_memory', kind: 'memory' })
    const secondary = await metadataOf(hidden, { inSecondaryMemory: true })
    expect(secondary.meta).toMatchObject({ memory: 'asyncify_memory', secondaryMemory: true })
  })

  it('survives the binaryen optimizer', async () => {
    const { meta } = await metadataOf(SLEEPER, { imports: ['env.sleep'], optimize: 2 })
    expect(meta.suspendingExports).toEqual(['main'])
  })

  it('gives the result types of the suspending imports, in their order', async () => {
    const { meta } = await metadataOf(
      `(module
      (import "env" "a" (func $a (result i64 f32)))
      (import "env" "quiet" (func $quiet (result i32)))
      (import "env" "b" (func $b (result externref)))
      (import "env" "c" (func $c))
      (memory (export "memory") 1)
      (func (export "main") (result i64)
        (drop (call $b)) (call $c) (drop (call $quiet)) (drop (call $a))))`,
      { imports: ['env.a', 'env.b', 'env.c'] },
      watAll,
    )
    expect(meta.suspendingImports).toEqual([
      ['env', 'a'],
      ['env', 'b'],
      ['env', 'c'],
    ])
    expect(meta.suspendingImportResults).toEqual([['i64', 'f32'], ['(ref null extern)'], []])
  })

  it('says whether reference slots can be released', async () => {
    const { meta } = await metadataOf(
      `(module
      (import "env" "sleep" (func $sleep))
      (memory (export "memory") 1)
      (func (export "main") (param $x externref) (result externref)
        (call $sleep) (local.get $x)))`,
      {},
      watAll,
    )
    expect(meta.releaseRefs).toBe(true)
  })
})

describe('decodeMetadata', () => {
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
  it('refuses another version with a message saying what to do', () => {
    expect(() => decodeMetadata(bytes({ version: 99 }))).toThrow(/version 99.*rebuild/)
  })
  it('refuses malformed payloads', () => {
    expect(() => decodeMetadata(new TextEncoder().encode('{'))).toThrow(/not valid JSON/)
    expect(() => decodeMetadata(bytes({ version: 1, pointer: 'i16' }))).toThrow(/malformed/)
  })
})

describe("inSecondaryMemory: 'auto'", () => {
  const module = (exportsAllocator: boolean) => `(module
    (import "env" "sleep" (func $sleep))
    (memory (export "memory") 1)
    (func $malloc (param i32) (result i32) (i32.const 1024))
    (func $free (param i32))
    ${exportsAllocator ? '(export "malloc" (func $malloc)) (export "free" (func $free))' : ''}
    (func (export "main") (call $sleep)))`

  it('gives a module without an allocator a memory of its own for the data', async () => {
    const { meta, module: m } = await metadataOf(module(false), { inSecondaryMemory: 'auto' })
    expect(meta).toMatchObject({ memory: 'asyncify_memory', secondaryMemory: true })
    expect(WebAssembly.Module.exports(m)).toContainEqual({ name: 'asyncify_memory', kind: 'memory' })
  })

  it("keeps the data in the module's memory when it exports malloc and free", async () => {
    const { meta, module: m } = await metadataOf(module(true), { inSecondaryMemory: 'auto' })
    expect(meta).toMatchObject({ memory: 'memory', secondaryMemory: false })
    expect(WebAssembly.Module.exports(m).map(e => e.name)).not.toContain('asyncify_memory')
  })

  it('is refused in other spellings, naming the option', async () => {
    await expect(asyncify(wat(module(false)), { inSecondaryMemory: 'yes' as never })).rejects.toThrow(
      /option inSecondaryMemory: expected true or false/,
    )
  })
})

/*
 * emscripten/fiber.h as @unplugin-asyncify/runtime serves it: emscripten's Fibers API (the same types,
 * the same wasm32 layout, the same functions) for C and C++ built with plain clang and wasi-libc, so
 * that code written for emscripten's fibers builds and runs unchanged under the runtime, in asyncify
 * mode and in JSPI mode. This is a header of our own, not emscripten's.
 *
 * A fiber is a C stack plus an asyncify buffer. emscripten_fiber_swap(old, new) saves the running
 * context into `old` and continues `new`: at its entry function the first time (the runtime calls
 * `new->entry(new->user_data)` through the module's function table and clears `entry`), afterwards
 * where it last swapped away. The three functions are imports from module "env"; the runtime serves
 * them when the caller's import object does not.
 *
 * Building, e.g. with Debian's clang-19 and wasi-libc:
 *
 *   clang-19 --target=wasm32-wasi -O2 -I node_modules/@unplugin-asyncify/runtime/include \
 *     -mexec-model=reactor -Wl,--export=__stack_pointer -Wl,--export-table \
 *     -Wl,--export=malloc -Wl,--export=free prog.c -o prog.wasm
 *   npx wasm-asyncify prog.wasm -o prog.async.wasm --imports env.emscripten_fiber_swap
 *
 * `__stack_pointer` lets the runtime switch C stacks (it must reach the pointer); the table export lets
 * it call entry functions; malloc/free give each call in flight its own buffer and C stack.
 */
#ifndef UNPLUGIN_ASYNCIFY_EMSCRIPTEN_FIBER_H
#define UNPLUGIN_ASYNCIFY_EMSCRIPTEN_FIBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A fiber's entry function: called with `user_data`; it must not return (swap away instead). */
typedef void (*em_arg_callback_func)(void *);

/** The `{ current, end }` header the asyncify ABI unwinds into, plus a word of the runtime's. */
typedef struct asyncify_data_s {
  void *stack_ptr;   /* where the next saved frame goes (grows upward) */
  void *stack_limit; /* end of the buffer: an unwind past it traps */
  int rewind_id;     /* the runtime's; 0 after init */
} asyncify_data_t;

/** One fiber's context; the runtime keeps no pointer to it, only what is in it. */
typedef struct emscripten_fiber_s {
  void *stack_base;              /* top of the C stack (16-byte aligned); the stack grows down */
  void *stack_limit;             /* bottom of the C stack */
  void *stack_ptr;               /* saved stack pointer while switched out */
  em_arg_callback_func entry;    /* called on the first switch into the fiber, then cleared */
  void *user_data;               /* the entry's argument */
  asyncify_data_t asyncify_data; /* where the switched-out call stack is saved */
} emscripten_fiber_t;

#define UNPLUGIN_ASYNCIFY_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/**
 * Makes `fiber` start `entry_func(entry_func_arg)` on the C stack `[c_stack, c_stack + c_stack_size)`
 * the first time it is switched to, saving its frames into `[asyncify_stack, + asyncify_stack_size)`.
 */
UNPLUGIN_ASYNCIFY_IMPORT(emscripten_fiber_init)
void emscripten_fiber_init(emscripten_fiber_t *fiber, em_arg_callback_func entry_func, void *entry_func_arg,
                           void *c_stack, size_t c_stack_size, void *asyncify_stack, size_t asyncify_stack_size);

/** Makes `fiber` describe the running context, so that another fiber can switch back to it. */
UNPLUGIN_ASYNCIFY_IMPORT(emscripten_fiber_init_from_current_context)
void emscripten_fiber_init_from_current_context(emscripten_fiber_t *fiber, void *asyncify_stack,
                                                size_t asyncify_stack_size);

/** Saves the running context into `old_fiber` and continues `new_fiber`; returns when switched back to. */
UNPLUGIN_ASYNCIFY_IMPORT(emscripten_fiber_swap)
void emscripten_fiber_swap(emscripten_fiber_t *old_fiber, emscripten_fiber_t *new_fiber);

#undef UNPLUGIN_ASYNCIFY_IMPORT

/* The wasm32 layout the runtime reads (its abi.ts says the same; a test compares the two). */
#if defined(__wasm32__)
#ifdef __cplusplus
#define UNPLUGIN_ASYNCIFY_ASSERT static_assert
#else
#define UNPLUGIN_ASYNCIFY_ASSERT _Static_assert
#endif
UNPLUGIN_ASYNCIFY_ASSERT(sizeof(asyncify_data_t) == 12, "asyncify_data_t is 12 bytes");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(asyncify_data_t, stack_ptr) == 0, "asyncify_data_t.stack_ptr at 0");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(asyncify_data_t, stack_limit) == 4, "asyncify_data_t.stack_limit at 4");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(asyncify_data_t, rewind_id) == 8, "asyncify_data_t.rewind_id at 8");
UNPLUGIN_ASYNCIFY_ASSERT(sizeof(emscripten_fiber_t) == 32, "emscripten_fiber_t is 32 bytes");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, stack_base) == 0, "emscripten_fiber_t.stack_base at 0");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, stack_limit) == 4, "emscripten_fiber_t.stack_limit at 4");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, stack_ptr) == 8, "emscripten_fiber_t.stack_ptr at 8");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, entry) == 12, "emscripten_fiber_t.entry at 12");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, user_data) == 16, "emscripten_fiber_t.user_data at 16");
UNPLUGIN_ASYNCIFY_ASSERT(offsetof(emscripten_fiber_t, asyncify_data) == 20, "emscripten_fiber_t.asyncify_data at 20");
#undef UNPLUGIN_ASYNCIFY_ASSERT
#endif

#ifdef __cplusplus
}
#endif

#endif

/*
 * Panel 3 of the playground: a producer and a consumer fiber sharing a small queue, written against
 * emscripten's Fibers API (`emscripten/fiber.h`, served by @unplugin-asyncify/runtime — the header ships in
 * its include/ directory) and built with plain clang-19 + wasi-libc.
 *
 * The producer fills the queue and switches to the consumer when it is full; the consumer empties it
 * and switches back. Every `emscripten_fiber_swap` is counted. Every fourth item the producer also
 * awaits the host (`host_sleep`, a promise in JS) while it is the running fiber: the whole wasm stack
 * unwinds to JS and comes back into the producer, in the middle of its loop.
 */
#include <emscripten/fiber.h>
#include <stdint.h>
#include <stdlib.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
IMPORT(sleep) void host_sleep(int ms);
/* Tells the page what happened: 'P' produced `value`, 'C' consumed `value`. */
IMPORT(event) void host_event(int kind, int value);

#define QUEUE 3
#define C_STACK 16384
#define ASYNCIFY_STACK 8192

static int queue[QUEUE], head, count, done, switches;
static unsigned sum;
static emscripten_fiber_t main_fiber, producer_fiber, consumer_fiber;

static void swap(emscripten_fiber_t *from, emscripten_fiber_t *to) {
  switches++;
  emscripten_fiber_swap(from, to);
}

static void producer(void *arg) {
  int items = (int)(intptr_t)arg;
  for (int i = 1; i <= items; i++) {
    if (count == QUEUE) swap(&producer_fiber, &consumer_fiber);
    int value = i * i;
    if (i % 4 == 0) host_sleep(20);
    queue[(head + count++) % QUEUE] = value;
    host_event('P', value);
  }
  done = 1;
  /* Entry functions never return: hand over to the consumer for the last items. */
  for (;;) swap(&producer_fiber, &consumer_fiber);
}

static void consumer(void *arg) {
  (void)arg;
  for (;;) {
    while (count > 0) {
      int value = queue[head];
      head = (head + 1) % QUEUE;
      count--;
      sum += (unsigned)value;
      host_event('C', value);
    }
    swap(&consumer_fiber, done ? &main_fiber : &producer_fiber);
  }
}

/* Runs the pipeline over `items` squares; returns their sum (switches() says how many swaps it took). */
__attribute__((export_name("produce_consume"))) int produce_consume(int items) {
  static char main_asyncify[ASYNCIFY_STACK];
  char *stacks = aligned_alloc(16, 2 * C_STACK);
  char *asyncify = malloc(2 * ASYNCIFY_STACK);
  head = count = done = switches = 0;
  sum = 0;
  emscripten_fiber_init_from_current_context(&main_fiber, main_asyncify, sizeof main_asyncify);
  emscripten_fiber_init(&producer_fiber, producer, (void *)(intptr_t)items, stacks, C_STACK, asyncify,
                        ASYNCIFY_STACK);
  emscripten_fiber_init(&consumer_fiber, consumer, NULL, stacks + C_STACK, C_STACK,
                        asyncify + ASYNCIFY_STACK, ASYNCIFY_STACK);
  swap(&main_fiber, &producer_fiber);
  free(stacks);
  free(asyncify);
  return (int)sum;
}

__attribute__((export_name("switches"))) int get_switches(void) { return switches; }

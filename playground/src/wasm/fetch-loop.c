/*
 * Panel 1 of the playground: a plain, synchronous-looking C loop that sleeps and fetches a file.
 *
 * `host_sleep` and `host_fetch_text` are imports whose JS side returns promises. Asyncify (the `?asyncify`
 * import in the page) rewrites this module so that, at each of those calls, the wasm stack unwinds to
 * JS, the promise is awaited, and the stack is rewound to the same point with `i`, `words` and the
 * caller's frames intact. The C code never sees a callback or a promise.
 *
 * Built with clang-19 + wasi-libc by playground/scripts/build-wasm.mjs (the .wasm is committed).
 */
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* Resolves after `ms` milliseconds. */
IMPORT(sleep) void host_sleep(int ms);
/* fetch(url) → the body's first `capacity` bytes copied to `buffer`; resolves to how many were copied. */
IMPORT(fetch_text) int host_fetch_text(const char *url, char *buffer, int capacity);
/* Shows one step's text in the page (synchronous). */
IMPORT(step) void host_step(int step, const char *text, int length);

static char buffer[512];

static int count_words(const char *text, int length) {
  int words = 0, in_word = 0;
  for (int i = 0; i < length; i++) {
    int space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    if (!space && !in_word) words++;
    in_word = !space;
  }
  return words;
}

/* Sleeps `ms`, fetches data/greeting.txt and counts its words, `steps` times; returns the total. */
__attribute__((export_name("fetch_loop"))) int fetch_loop(int steps, int ms) {
  int words = 0;
  for (int i = 0; i < steps; i++) {
    host_sleep(ms);
    int n = host_fetch_text("data/greeting.txt", buffer, sizeof buffer);
    words += count_words(buffer, n);
    host_step(i, buffer, n);
  }
  return words;
}

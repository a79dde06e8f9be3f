/*
 * Panel 4 of the playground: one workload, run both ways — instrumented by asyncify, and as this original
 * module under JSPI (native stack switching), where the browser has it. The page imports it with
 * `?asyncify&mode=auto`, so both binaries ship and `init(imports, { mode })` picks one.
 *
 * - round_trips(depth, rounds): `rounds` suspensions, each with `depth` C frames on the wasm stack (each
 *   frame keeps a value in its C stack frame and in a local). Asyncify saves and restores every frame;
 *   JSPI switches stacks and does not care how deep it is.
 * - collatz(limit): CPU work with a suspension only every 2^16 numbers — mostly the cost of running
 *   instrumented code when nothing suspends.
 */
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
/* Resolves (at once) to `value`: a suspension and a resumption, nothing else. */
IMPORT(tick) int host_tick(int value);

__attribute__((noinline)) static int descend(int depth, int value) {
  volatile int frame[2] = {depth, value};
  if (depth <= 1) return host_tick(value);
  int below = descend(depth - 1, value + 1);
  return below + frame[0] - frame[1];
}

__attribute__((export_name("round_trips"))) int round_trips(int depth, int rounds) {
  int sum = 0;
  for (int r = 0; r < rounds; r++) sum += descend(depth, r);
  return sum;
}

__attribute__((export_name("collatz"))) int collatz(int limit) {
  int longest = 0;
  for (int n = 1; n <= limit; n++) {
    long long x = n;
    int steps = 0;
    while (x != 1) {
      x = (x & 1) ? 3 * x + 1 : x >> 1;
      steps++;
    }
    if (steps > longest) longest = steps;
    if ((n & 0xffff) == 0) host_tick(n);
  }
  return longest;
}

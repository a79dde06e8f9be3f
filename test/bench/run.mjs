// Benchmarks live here once there is something to measure (see DESIGN.md: codec speed vs binaryen).
console.log('no benchmarks yet')

//go:build !race

package bench_test

// speed is how much faster than real time the server and the runs go: a
// minute of load takes 1.5 s.
const speed = 40

//go:build race

package bench_test

// speed is how much faster than real time the server and the runs go. The
// race detector slows the server and the runs several times over, so under
// it a simulated minute takes 6 s instead of 1.5 s: the tests need their
// calls to keep pace with the clock, not a particular wall time.
const speed = 10

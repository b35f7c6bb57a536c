//go:build race

package engine

// raceEnabled reports a test binary built with -race, under which the
// long training claims take minutes.
const raceEnabled = true

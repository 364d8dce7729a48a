//go:build !race

package browser

// raceEnabled: the tests run with the race detector, which slows the
// probe's own decoding of CDP events several times over.
const raceEnabled = false

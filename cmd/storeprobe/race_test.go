//go:build race

package main

// raceEnabled: race-instrumented code allocates more than the real thing,
// so allocation bounds measured here are looser under -race.
const raceEnabled = true

//go:build race

package httpcheck

// raceEnabled: the race detector maps shadow memory for every page the heap
// touches and never returns it, so RSS says little about our own growth.
const raceEnabled = true

//go:build race

package isolate

// The race detector's shadow memory is resident beside the heap: the
// memory assertions do not hold under it.
func init() { raceEnabled = true }

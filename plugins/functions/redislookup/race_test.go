//go:build race

package redislookup

// The race detector drops sync.Pool items at random, so pooled buffers
// are allocated again now and then.
func init() { raceEnabled = true }

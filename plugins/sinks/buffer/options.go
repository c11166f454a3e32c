package buffer

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"sluice/operators"
)

// Options size a buffer and pace its retries.
type Options struct {
	Capacity   int           // rows held (queued plus in flight) before Write blocks
	MaxBatch   int           // rows per request to the external system
	Interval   time.Duration // longest a row waits for its batch to fill
	MinBackoff time.Duration // first retry delay; doubles per attempt
	MaxBackoff time.Duration // cap of the retry delay
	// CloseTimeout bounds Close: past it, requests still running are cancelled.
	CloseTimeout time.Duration
}

// Defaults are the options a sink gets when its annotation says nothing.
var Defaults = Options{
	Capacity:     10000,
	MaxBatch:     1000,
	Interval:     time.Second,
	MinBackoff:   100 * time.Millisecond,
	MaxBackoff:   5 * time.Second,
	CloseTimeout: 5 * time.Second,
}

// Args documents the @Sink arguments every buffered sink accepts.
var Args = []operators.ArgSpec{
	{Name: "batch", Doc: "rows per request (default 1000)"},
	{Name: "flush", Doc: "longest a row waits for its batch to fill, as a Go duration (default 1s)"},
	{Name: "buffer", Doc: "rows held before the statement waits (back-pressure); default 10 batches"},
	{Name: "backoff", Doc: "first retry delay after a failed request, doubled per attempt with jitter (default 100ms)"},
	{Name: "max_backoff", Doc: "longest retry delay (default 5s)"},
}

// IsArg reports whether name is one of Args.
func IsArg(name string) bool {
	return slices.ContainsFunc(Args, func(a operators.ArgSpec) bool { return a.Name == name })
}

// ParseOptions reads the buffer arguments of a @Sink annotation over Defaults.
func ParseOptions(args map[string]string) (Options, error) {
	o := Defaults
	if err := positiveInt(args, "batch", &o.MaxBatch); err != nil {
		return o, err
	}
	o.Capacity = 10 * o.MaxBatch
	if err := positiveInt(args, "buffer", &o.Capacity); err != nil {
		return o, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"flush", &o.Interval}, {"backoff", &o.MinBackoff}, {"max_backoff", &o.MaxBackoff}} {
		if err := positiveDuration(args, d.name, d.dst); err != nil {
			return o, err
		}
	}
	if o.Capacity < o.MaxBatch {
		return o, fmt.Errorf("buffer=%d is smaller than batch=%d", o.Capacity, o.MaxBatch)
	}
	if o.MaxBackoff < o.MinBackoff {
		return o, fmt.Errorf("max_backoff=%s is shorter than backoff=%s", o.MaxBackoff, o.MinBackoff)
	}
	return o, nil
}

func positiveInt(args map[string]string, name string, dst *int) error {
	s, ok := args[name]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return fmt.Errorf("%s=%q: want a positive whole number", name, s)
	}
	*dst = n
	return nil
}

func positiveDuration(args map[string]string, name string, dst *time.Duration) error {
	s, ok := args[name]
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("%s=%q: want a positive duration such as 500ms or 2s", name, s)
	}
	*dst = d
	return nil
}

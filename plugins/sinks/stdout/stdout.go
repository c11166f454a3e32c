// Package stdout is the stdout sink: one JSON line per output row, for
// trying statements out and for piping sluice into other tools.
package stdout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"sluice/operators"
)

func init() {
	operators.RegisterSink(operators.SinkPlugin{
		Name: "stdout",
		Doc:  "writes each output row as one JSON line to standard output",
		Args: []operators.ArgSpec{},
		New:  func(operators.SinkConfig) (operators.Sink, error) { return New(os.Stdout), nil },
	})
}

// writeMu keeps the batches of different statements from interleaving.
var writeMu sync.Mutex

// Sink writes JSON lines to a writer, one Write call per batch.
type Sink struct{ w io.Writer }

// New returns a sink writing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

func (s *Sink) Write(_ context.Context, rows []*operators.Record) error {
	buf := operators.JSONBuffer()
	defer operators.PutJSONBuffer(buf)
	for _, r := range rows {
		*buf = append(r.AppendJSON(*buf), '\n')
	}
	writeMu.Lock()
	defer writeMu.Unlock()
	if _, err := s.w.Write(*buf); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

func (s *Sink) Flush(context.Context) error { return nil }
func (s *Sink) Close() error                { return nil }

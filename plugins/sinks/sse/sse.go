// Package sse registers the sse sink. Every statement's rows are already
// served as Server-Sent Events at /v1/queries/{name}/results; naming the sink
// documents that a statement exists to be watched (dashboards, curl -N).
package sse

import (
	"context"

	"sluice/operators"
)

func init() {
	operators.RegisterSink(operators.SinkPlugin{
		Name: "sse",
		Doc:  "rows are served at GET /v1/queries/{name}/results (every statement's are; this makes it explicit)",
		Args: []operators.ArgSpec{},
		New:  func(operators.SinkConfig) (operators.Sink, error) { return sink{}, nil },
	})
}

type sink struct{}

func (sink) Write(context.Context, []*operators.Record) error { return nil }
func (sink) Flush(context.Context) error                      { return nil }
func (sink) Close() error                                     { return nil }

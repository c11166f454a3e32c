package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

// batchTimeout is how long kafka-go holds a partial partition batch of a
// synchronous write before sending it; the buffer has already batched.
const batchTimeout = time.Millisecond

// maxBatchBytes is kafka-go's default batch limit, within the brokers'
// default message.max.bytes; a single larger message is dead-lettered.
const maxBatchBytes = 1 << 20

// sender turns a batch of rows into one synchronous WriteMessages call. It
// runs on the buffer's writer goroutine only.
type sender struct {
	topic string
	key   *rowtemplate.Template // nil: messages without key
	w     *kafkago.Writer
	msgs  []kafkago.Message // reused: kafka-go copies the Message values it keeps
}

// send is the buffer's Sender.
func (s *sender) send(ctx context.Context, rows []*operators.Record) (buffer.Result, error) {
	var res buffer.Result
	// A fresh arena per batch: kafka-go may still hold the bytes of a write
	// whose context ended.
	arena := make([]byte, 0, 256*len(rows))
	type span struct{ k0, k1, v0, v1 int }
	spans := make([]span, len(rows))
	for i, r := range rows {
		sp := span{k0: len(arena), k1: -1}
		if s.key != nil {
			var err error
			if arena, err = s.key.Append(arena, r); err != nil {
				arena = arena[:sp.k0] // NULL key: the message goes without one
			} else {
				sp.k1 = len(arena)
			}
		}
		sp.v0 = len(arena)
		arena = r.AppendJSON(arena)
		sp.v1 = len(arena)
		spans[i] = sp
	}
	msgs := s.msgs[:0]
	for _, sp := range spans {
		m := kafkago.Message{Value: arena[sp.v0:sp.v1:sp.v1]}
		if sp.k1 >= 0 {
			m.Key = arena[sp.k0:sp.k1:sp.k1]
		}
		msgs = append(msgs, m)
	}
	s.msgs = msgs
	// kafka-go reports each message's outcome through the writer's
	// Completion, even for a write whose context ended; fresh per batch, as
	// for the arena.
	outcomes := make([]outcome, len(msgs))
	for i := range msgs {
		msgs[i].WriterData = &outcomes[i]
	}
	pending := rows
	for {
		if err := ctx.Err(); err != nil {
			// The buffer is closing: kafka-go would still queue the messages.
			return res, fmt.Errorf("kafka write not started: %w", err)
		}
		err := s.w.WriteMessages(ctx, msgs...)
		if err != nil && ctx.Err() != nil {
			return s.afterClose(res, msgs, pending)
		}
		var tooLarge kafkago.MessageTooLargeError
		if errors.As(err, &tooLarge) {
			// Nothing was sent: drop the offending row and try the rest.
			i := indexOf(msgs, tooLarge.Message)
			if i < 0 {
				return res, buffer.Permanent(err)
			}
			res.Rejected = append(res.Rejected, buffer.Rejection{Row: pending[i],
				Reason: fmt.Sprintf("message of %d bytes is over the %d-byte batch limit", len(msgs[i].Key)+len(msgs[i].Value), s.w.BatchBytes)})
			msgs = append(msgs[:i], msgs[i+1:]...)
			pending = append(pending[:i:i], pending[i+1:]...)
			if len(msgs) == 0 {
				return res, nil
			}
			continue
		}
		var werrs kafkago.WriteErrors
		if err == nil || !errors.As(err, &werrs) {
			if err != nil && !retriable(err) {
				// A Kafka error for the whole batch, such as a metadata
				// answer refusing the topic: another attempt fails alike.
				return res, buffer.Permanent(fmt.Errorf("kafka refused the batch: %w", err))
			}
			return res, err
		}
		for i, e := range werrs {
			switch {
			case e == nil:
			case retriable(e):
				res.Retry = append(res.Retry, pending[i])
				if res.RetryReason == "" {
					res.RetryReason = e.Error()
				}
			default:
				res.Rejected = append(res.Rejected, buffer.Rejection{Row: pending[i], Reason: "kafka refused the message: " + e.Error()})
			}
		}
		return res, nil
	}
}

// outcome is what the writer's Completion said of one message.
type outcome struct {
	done bool
	err  error
}

// completed is the writer's Completion: it runs on kafka-go's goroutines,
// before WriteMessages returns or, for a write whose context ended, before
// the writer's Close does.
func completed(msgs []kafkago.Message, err error) {
	for _, m := range msgs {
		if o, ok := m.WriterData.(*outcome); ok {
			*o = outcome{done: true, err: err}
		}
	}
}

// afterClose settles a write whose context ended (the buffer's Close timed
// out) while kafka-go may still hold its messages: retrying would send
// them twice. Closing the writer lets it finish what it holds and tells
// each message's fate.
func (s *sender) afterClose(res buffer.Result, msgs []kafkago.Message, rows []*operators.Record) (buffer.Result, error) {
	if err := s.w.Close(); err != nil {
		return res, buffer.Permanent(fmt.Errorf("kafka writer close: outcome unknown: %w", err))
	}
	for i, m := range msgs {
		o := m.WriterData.(*outcome)
		switch {
		case !o.done:
			res.Rejected = append(res.Rejected, buffer.Rejection{Row: rows[i], Reason: "sink closed before delivery: the message was never sent"})
		case o.err != nil:
			// Not "before delivery": a produce that timed out may have landed.
			res.Rejected = append(res.Rejected, buffer.Rejection{Row: rows[i], Reason: "sink closed without an acknowledgement from Kafka: " + o.err.Error()})
		}
	}
	return res, nil
}

// indexOf finds m among msgs by the identity of its value bytes (never
// empty: a row is at least "{}"), or -1.
func indexOf(msgs []kafkago.Message, m kafkago.Message) int {
	for i := range msgs {
		if len(m.Value) > 0 && len(msgs[i].Value) > 0 && &msgs[i].Value[0] == &m.Value[0] {
			return i
		}
	}
	return -1
}

// retriable is false for Kafka errors that another attempt cannot fix
// (a record too large for the broker, an authorization failure).
func retriable(err error) bool {
	var ke kafkago.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	return true
}

package buffer

import (
	"context"
	"errors"

	"sluice/operators"
)

// Sender delivers one batch to the external system. The buffer calls it
// from its single writer goroutine only, so a Sender may reuse scratch space
// between calls. rows is only valid during the call.
//
// An error means the whole batch failed: it is sent again after a backoff,
// unless the error is Permanent, in which case every row goes to the
// dead-letter stream with the error as reason.
type Sender func(ctx context.Context, rows []*operators.Record) (Result, error)

// Result names the rows of a batch that were not acknowledged; every other
// row of the batch was.
type Result struct {
	Retry       []*operators.Record // refused for now (e.g. 429): sent again after a backoff
	RetryReason string              // why, for logs
	Rejected    []Rejection         // refused for good: sent to the dead-letter stream
}

// Rejection is a row the external system refused for good, and why.
type Rejection struct {
	Row    *operators.Record
	Reason string
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a Sender error that retrying cannot fix (a malformed
// request, refused credentials): the batch goes to the dead-letter stream.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sink is closed")

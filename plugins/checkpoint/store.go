package checkpoint

import "context"

// Store keeps checkpoint documents: the latest and the one before it, in
// case the latest cannot be read.
type Store interface {
	// Save replaces the latest document atomically, keeping the one it
	// replaces as the previous.
	Save(ctx context.Context, doc []byte) error
	// Load returns the latest and the previous document; nil where there
	// is none.
	Load(ctx context.Context) (latest, previous []byte, err error)
	// String says where documents are kept, for logs.
	String() string
}

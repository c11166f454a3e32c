package checkpoint

import "context"

// Store keeps checkpoint documents: the latest and the one before it, in
// case the latest cannot be read. It also keeps partition records: the
// state of one Kafka partition, shared by every process of a consumer
// group so that a rebalance can hand it from one to another.
type Store interface {
	// Save replaces the latest document atomically, keeping the one it
	// replaces as the previous.
	Save(ctx context.Context, doc []byte) error
	// Load returns the latest and the previous document; nil where there
	// is none.
	Load(ctx context.Context) (latest, previous []byte, err error)
	// SavePartition replaces the record under key unless the stored one
	// is at a later offset: a process that lost a partition without
	// knowing it yet cannot overwrite its new owner's record.
	SavePartition(ctx context.Context, key string, offset int64, doc []byte) error
	// LoadPartitions returns the records under keys; nil where there is
	// none.
	LoadPartitions(ctx context.Context, keys []string) ([][]byte, error)
	// String says where documents are kept, for logs.
	String() string
}

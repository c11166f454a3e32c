package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
)

// DirStore keeps a node's checkpoints in a directory as <node>.json and
// <node>.previous.json, and partition records, shared by the nodes of a
// consumer group that run on one machine, as partitions/<key>.json (the
// key path-escaped). A document is written to a temporary file, synced,
// and renamed into place, so a crash leaves either document whole.
type DirStore struct {
	dir, latest, previous string
}

// NewDirStore creates dir if needed.
func NewDirStore(dir, node string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	return &DirStore{dir: dir, latest: filepath.Join(dir, node+".json"), previous: filepath.Join(dir, node+".previous.json")}, nil
}

func (s *DirStore) Save(_ context.Context, doc []byte) error {
	if err := writeFile(s.dir, s.latest, s.previous, doc); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", s.latest, err)
	}
	return nil
}

// writeFile writes doc to path through a synced temporary file in dir,
// first moving what path holds to previous unless previous is "".
func writeFile(dir, path, previous string, doc []byte) error {
	f, err := os.CreateTemp(dir, ".checkpoint-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(doc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && previous != "" {
		if err = os.Rename(path, previous); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func (s *DirStore) partitionPath(key string) string {
	return filepath.Join(s.dir, "partitions", url.PathEscape(key)+".json")
}

func (s *DirStore) SavePartition(_ context.Context, key string, offset int64, doc []byte) error {
	path := s.partitionPath(key)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save partition record: %w", err)
	}
	// Writers compare and write one at a time, in this process or another:
	// each takes the lock through a file description of its own.
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return fmt.Errorf("save partition record: %w", err)
	}
	defer unlock()
	cur, err := readIfExists(path)
	if err != nil {
		return err
	}
	if cur != nil {
		var stored struct {
			Offset int64 `json:"offset"`
		}
		if json.Unmarshal(cur, &stored) == nil && stored.Offset > offset {
			return nil
		}
	}
	if err := writeFile(dir, path, "", doc); err != nil {
		return fmt.Errorf("save partition record %s: %w", path, err)
	}
	return nil
}

// lockFile takes an exclusive advisory lock on path, creating it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func (s *DirStore) LoadPartitions(_ context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, key := range keys {
		b, err := readIfExists(s.partitionPath(key))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (s *DirStore) Load(context.Context) (latest, previous []byte, err error) {
	if latest, err = readIfExists(s.latest); err != nil {
		return nil, nil, err
	}
	if previous, err = readIfExists(s.previous); err != nil {
		return nil, nil, err
	}
	return latest, previous, nil
}

func readIfExists(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

func (s *DirStore) String() string { return "directory " + s.dir }

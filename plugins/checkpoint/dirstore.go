package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DirStore keeps a node's checkpoints in a directory as <node>.json and
// <node>.previous.json. A document is written to a temporary file, synced,
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
	f, err := os.CreateTemp(s.dir, ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(doc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.Rename(s.latest, s.previous); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = os.Rename(tmp, s.latest)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save checkpoint %s: %w", s.latest, err)
	}
	return syncDir(s.dir)
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
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	return b, nil
}

func (s *DirStore) String() string { return "directory " + s.dir }

package checkpoint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"sluice/plugins/sinks/redis/redistest"
)

func TestStores(t *testing.T) {
	ctx := context.Background()
	redisAddr := redistest.Start(t)
	dir := t.TempDir()
	tests := []struct {
		name  string
		store func(t *testing.T) Store
		check func(t *testing.T, latest, previous string)
	}{
		{"redis", func(t *testing.T) Store {
			s, err := NewRedisStore("redis://"+redisAddr+"/3", "n1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}, func(t *testing.T, latest, previous string) {
			c := goredis.NewClient(&goredis.Options{Addr: redisAddr, DB: 3})
			defer c.Close()
			for key, want := range map[string]string{"sluice:checkpoint:n1": latest, "sluice:checkpoint:n1:previous": previous} {
				if got, err := c.Get(ctx, key).Result(); err != nil || got != want {
					t.Errorf("GET %s = %q, %v; want %q", key, got, err, want)
				}
			}
		}},
		{"dir", func(t *testing.T) Store {
			s, err := NewDirStore(filepath.Join(dir, "state"), "n1")
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, func(t *testing.T, latest, previous string) {
			entries, err := os.ReadDir(filepath.Join(dir, "state"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != 2 || names[0] != "n1.json" || names[1] != "n1.previous.json" {
				t.Errorf("files %v, want n1.json and n1.previous.json only", names)
			}
			for file, want := range map[string]string{"n1.json": latest, "n1.previous.json": previous} {
				if b, err := os.ReadFile(filepath.Join(dir, "state", file)); err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", file, b, err, want)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.store(t)
			load := func(wantLatest, wantPrevious string) {
				t.Helper()
				l, p, err := s.Load(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(l) != wantLatest || string(p) != wantPrevious || (wantLatest == "" && l != nil) || (wantPrevious == "" && p != nil) {
					t.Fatalf("Load = %q, %q; want %q, %q", l, p, wantLatest, wantPrevious)
				}
			}
			load("", "")
			for _, doc := range []string{"a", "b", "c"} {
				if err := s.Save(ctx, []byte(doc)); err != nil {
					t.Fatal(err)
				}
			}
			load("c", "b")
			tt.check(t, "c", "b")

			// Partition records: a record at an earlier offset than the
			// stored one leaves it; one at the same or a later offset
			// replaces it.
			rec := func(off int64, n string) []byte { return fmt.Appendf(nil, `{"offset":%d,"n":%q}`, off, n) }
			for _, r := range []struct {
				key string
				off int64
				n   string
			}{{"g/t/0", 5, "a"}, {"g/t/0", 9, "b"}, {"g/t/0", 9, "c"}, {"g/t/0", 7, "stale"}, {"g/t/1", 3, "d"}} {
				if err := s.SavePartition(ctx, r.key, r.off, rec(r.off, r.n)); err != nil {
					t.Fatal(err)
				}
			}
			docs, err := s.LoadPartitions(ctx, []string{"g/t/0", "g/t/1", "g/t/2"})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{string(rec(9, "c")), string(rec(3, "d")), ""}; len(docs) != 3 || string(docs[0]) != want[0] || string(docs[1]) != want[1] || docs[2] != nil {
				t.Errorf("LoadPartitions = %q, want %q", docs, want)
			}
		})
	}
}

func TestRedisStoreDown(t *testing.T) {
	srv := redistest.NewServer(t)
	s, err := NewRedisStore(srv.URL(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.Stop()
	if err := s.Save(context.Background(), []byte("x")); err == nil {
		t.Fatal("Save with Redis down succeeded")
	}
	if _, _, err := s.Load(context.Background()); err == nil {
		t.Fatal("Load with Redis down succeeded")
	}
	if err := s.SavePartition(context.Background(), "g/t/0", 1, []byte("x")); err == nil {
		t.Fatal("SavePartition with Redis down succeeded")
	}
	if _, err := s.LoadPartitions(context.Background(), []string{"g/t/0"}); err == nil {
		t.Fatal("LoadPartitions with Redis down succeeded")
	}
}

package sqlengine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"sluice/operators"
)

// TestReplaceUnderLoadLosesNothing replaces a running aggregate again and
// again while events stream in: each replacement keeps the state, so the
// final counts are exactly what was ingested, none lost or doubled in a
// handover.
func TestReplaceUnderLoadLosesNothing(t *testing.T) {
	versions := []string{
		`@Name("c") SELECT a, COUNT(*) AS n FROM s GROUP BY a`,
		`@Name("c") @Description("the same state, another text") SELECT a, COUNT(*) AS n FROM s WHERE TRUE GROUP BY a`,
	}
	specs := make([]*operators.QuerySpec, len(versions))
	for i, sql := range versions {
		specs[i] = compileOne(t, sql)
	}
	rt := operators.NewRuntime(operators.RuntimeConfig{QueueSize: 4})
	defer rt.Close()
	if _, err := rt.Deploy(specs[0]); err != nil {
		t.Fatal(err)
	}
	const batches, per = 400, 50
	want := map[string]int64{}
	var wg sync.WaitGroup
	ingested := make(chan struct{})
	wg.Go(func() {
		defer close(ingested)
		for b := range batches {
			batch := make([]*operators.Record, per)
			for i := range batch {
				a := []string{"x", "y", "z"}[(b*per+i)%3]
				batch[i] = &operators.Record{Raw: fmt.Appendf(nil, `{"a":%q}`, a)}
			}
			for {
				err := rt.Ingest("s", batch)
				if err == nil {
					break
				}
				if !errors.Is(err, operators.ErrBackpressure) {
					t.Error(err)
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
			time.Sleep(50 * time.Microsecond) // a steady stream, not one burst
		}
	})
	for b := range batches * per {
		want[[]string{"x", "y", "z"}[b%3]]++
	}
	replaced := 0
	wg.Go(func() {
		for {
			select {
			case <-ingested:
				return
			default:
			}
			_, kept, err := rt.Replace(specs[(replaced+1)%2])
			if err != nil || !kept {
				t.Errorf("replace %d: kept %v, err %v", replaced, kept, err)
				return
			}
			replaced++
		}
	})
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rt.Recent("c") {
		got[r.Get("a").Text()] = r.Get("n").I
	}
	if replaced < 10 || len(got) != 3 || got["x"] != want["x"] || got["y"] != want["y"] || got["z"] != want["z"] {
		t.Fatalf("after %d replacements: counts %v, want %v", replaced, got, want)
	}
}

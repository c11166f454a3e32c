package buffer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sinks/sinktest"
)

// recorder is a Sender that remembers every batch it was given and answers
// with what the test's script says.
type recorder struct {
	mu      sync.Mutex
	batches [][]int64 // the "n" column of each batch's rows
	answer  func(call int, rows []*operators.Record) (Result, error)
	gate    chan struct{} // when set, each call waits for a value
}

func (r *recorder) send(ctx context.Context, rows []*operators.Record) (Result, error) {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	r.mu.Lock()
	call := len(r.batches)
	ns := make([]int64, len(rows))
	for i, row := range rows {
		ns[i] = row.Values[0].I
	}
	r.batches = append(r.batches, ns)
	r.mu.Unlock()
	if r.answer == nil {
		return Result{}, nil
	}
	return r.answer(call, rows)
}

func (r *recorder) seen() [][]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func rows(from, to int) []*operators.Record {
	var out []*operators.Record
	for i := from; i < to; i++ {
		out = append(out, operators.NewRow([]string{"n"}, operators.Int(int64(i))))
	}
	return out
}

func fast(capacity, batch int, interval time.Duration) Options {
	return Options{Capacity: capacity, MaxBatch: batch, Interval: interval, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, CloseTimeout: time.Second}
}

func flush(t *testing.T, b *Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBatchesBySizeThenFlush(t *testing.T) {
	rec := &recorder{}
	b := New("q", "test", nil, fast(100, 3, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 7)); err != nil {
		t.Fatal(err)
	}
	sinktest.Poll(t, "two full batches", func() bool { return len(rec.seen()) == 2 })
	flush(t, b)
	want := [][]int64{{0, 1, 2}, {3, 4, 5}, {6}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if s := b.Stats(); s != (Stats{Acked: 7}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestBatchesByTime(t *testing.T) {
	rec := &recorder{}
	b := New("q", "test", nil, fast(100, 50, 20*time.Millisecond), rec.send)
	defer b.Close()
	start := time.Now()
	if err := b.Write(context.Background(), rows(0, 2)); err != nil {
		t.Fatal(err)
	}
	sinktest.Poll(t, "the interval to send a partial batch", func() bool { return len(rec.seen()) == 1 })
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("partial batch sent after %s, before the 20ms interval", waited)
	}
	if got := rec.seen()[0]; !slices.Equal(got, []int64{0, 1}) {
		t.Fatalf("batch %v", got)
	}
}

func TestRetriesFailedBatchesThenAcknowledges(t *testing.T) {
	rec := &recorder{answer: func(call int, _ []*operators.Record) (Result, error) {
		if call < 2 {
			return Result{}, errors.New("connection refused")
		}
		return Result{}, nil
	}}
	b := New("q", "test", nil, fast(100, 10, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 4)); err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	want := [][]int64{{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if s := b.Stats(); s != (Stats{Acked: 4, Retries: 2}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetriesOnlyRowsRefusedForNow(t *testing.T) {
	rec := &recorder{answer: func(call int, rows []*operators.Record) (Result, error) {
		if call == 0 {
			return Result{Retry: []*operators.Record{rows[1], rows[3]}, RetryReason: "429"}, nil
		}
		return Result{}, nil
	}}
	b := New("q", "test", nil, fast(100, 10, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 5)); err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	want := [][]int64{{0, 1, 2, 3, 4}, {1, 3}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if s := b.Stats(); s != (Stats{Acked: 5, Retries: 1}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestRejectedRowsGoToDeadLetters(t *testing.T) {
	var dl sinktest.DeadLetters
	rec := &recorder{answer: func(call int, rows []*operators.Record) (Result, error) {
		switch call {
		case 0:
			return Result{Rejected: []Rejection{{rows[0], "bad a"}, {rows[2], "bad a"}, {rows[3], "bad b"}}}, nil
		case 1:
			return Result{}, Permanent(errors.New("400 malformed request"))
		}
		return Result{}, nil
	}}
	b := New("q", "test", dl.Env(operators.Env{}), fast(100, 4, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 6)); err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	want := []string{
		`q|test|bad a|{"n":0}`, `q|test|bad a|{"n":2}`, `q|test|bad b|{"n":3}`,
		`q|test|400 malformed request|{"n":4}`, `q|test|400 malformed request|{"n":5}`,
	}
	if got := dl.Got("query", "sink", "reason", "row"); !slices.Equal(got, want) {
		t.Fatalf("dead letters\n%q\nwant\n%q", got, want)
	}
	if s := b.Stats(); s != (Stats{Acked: 1, DeadLettered: 5}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestWriteBlocksWhileFullAndResumes(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	b := New("q", "test", nil, fast(4, 2, time.Millisecond), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 4)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Write(context.Background(), rows(4, 7)) }()
	sinktest.Poll(t, "a full buffer", func() bool { return b.Stats().Buffered == 4 })
	select {
	case err := <-done:
		t.Fatalf("Write returned %v while the buffer was full", err)
	default:
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	err := b.Write(ctx, rows(100, 101))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write with an ending context returned %v", err)
	}

	go func() {
		for range 4 {
			rec.gate <- struct{}{}
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	var all []int64
	for _, batch := range rec.seen() {
		all = append(all, batch...)
	}
	if want := []int64{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(all, want) {
		t.Fatalf("delivered %v, want %v", all, want)
	}
}

// A Write that ends part way says how many rows it queued; those, and only
// those, are delivered.
func TestWriteCutShortReportsTheRowsItQueued(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	b := New("q", "test", nil, fast(2, 2, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err := b.Write(ctx, rows(1, 4)) // row 1 fits, rows 2 and 3 do not
	cancel()
	var partial *operators.PartialWriteError
	if !errors.As(err, &partial) || partial.Accepted != 1 || !errors.Is(err, context.DeadlineExceeded) ||
		err.Error() != "test sink: buffer full, 2 rows not queued: context deadline exceeded" {
		t.Fatalf("Write cut short returned %#v", err)
	}
	go func() { rec.gate <- struct{}{} }()
	flush(t, b)
	if want := [][]int64{{0, 1}}; !slices.EqualFunc(rec.seen(), want, slices.Equal) {
		t.Fatalf("batches %v, want %v", rec.seen(), want)
	}
	if s := b.Stats(); s != (Stats{Acked: 2}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlushWaitsForAcknowledgement(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	b := New("q", "test", nil, fast(100, 10, time.Hour), rec.send)
	defer b.Close()
	if err := b.Write(context.Background(), rows(0, 3)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err := b.Flush(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "test sink: flush: 3 rows not yet acknowledged: context deadline exceeded" {
		t.Fatalf("Flush before acknowledgement returned %v", err)
	}
	go func() { rec.gate <- struct{}{} }()
	flush(t, b)
	if s := b.Stats(); s.Acked != 3 || s.Buffered != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloseDeadLettersWhatCannotBeDelivered(t *testing.T) {
	var dl sinktest.DeadLetters
	rec := &recorder{answer: func(int, []*operators.Record) (Result, error) {
		return Result{}, errors.New("connection refused")
	}}
	b := New("q", "test", dl.Env(operators.Env{}), fast(100, 2, time.Hour), rec.send)
	if err := b.Write(context.Background(), rows(0, 3)); err != nil {
		t.Fatal(err)
	}
	sinktest.Poll(t, "a failed attempt", func() bool { return len(rec.seen()) > 0 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`q|test|sink closed before delivery: connection refused|{"n":0}`,
		`q|test|sink closed before delivery: connection refused|{"n":1}`,
		`q|test|sink closed before delivery: connection refused|{"n":2}`,
	}
	if got := dl.Got("query", "sink", "reason", "row"); !slices.Equal(got, want) {
		t.Fatalf("dead letters\n%q\nwant\n%q", got, want)
	}
	if s := b.Stats(); s.DeadLettered != 3 || s.Buffered != 0 || s.Acked != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := b.Write(context.Background(), rows(3, 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close returned %v", err)
	}
	flush(t, b)
}

func TestCloseDeliversQueuedRows(t *testing.T) {
	rec := &recorder{}
	b := New("q", "test", nil, fast(100, 2, time.Hour), rec.send)
	if err := b.Write(context.Background(), rows(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want := [][]int64{{0, 1}, {2}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	b := &Buffer{opt: Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for _, tc := range []struct {
		attempt int
		full    time.Duration
	}{{0, 100 * time.Millisecond}, {1, 200 * time.Millisecond}, {3, 800 * time.Millisecond}, {4, time.Second}, {64, time.Second}} {
		for range 50 {
			if d := b.backoff(tc.attempt); d < tc.full/2 || d > tc.full {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", tc.attempt, d, tc.full/2, tc.full)
			}
		}
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		args map[string]string
		want Options
		err  string
	}{
		{args: nil, want: Defaults},
		{args: map[string]string{"batch": "50", "flush": "250ms"}, want: Options{Capacity: 500, MaxBatch: 50, Interval: 250 * time.Millisecond, MinBackoff: Defaults.MinBackoff, MaxBackoff: Defaults.MaxBackoff, CloseTimeout: Defaults.CloseTimeout}},
		{args: map[string]string{"batch": "50", "buffer": "60", "backoff": "1s", "max_backoff": "1m"}, want: Options{Capacity: 60, MaxBatch: 50, Interval: time.Second, MinBackoff: time.Second, MaxBackoff: time.Minute, CloseTimeout: Defaults.CloseTimeout}},
		{args: map[string]string{"batch": "0"}, err: `batch="0": want a positive whole number`},
		{args: map[string]string{"flush": "soon"}, err: `flush="soon": want a positive duration such as 500ms or 2s`},
		{args: map[string]string{"batch": "10", "buffer": "5"}, err: `buffer=5 is smaller than batch=10`},
		{args: map[string]string{"backoff": "2s", "max_backoff": "1s"}, err: `max_backoff=1s is shorter than backoff=2s`},
	} {
		got, err := ParseOptions(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/plugins/sources/kafka/kafkatest"
)

// TestAlignMergesPartitionsByTimestamp reads a backlog of three
// partitions whose timestamps interleave: an aligned source hands every
// message on in timestamp order, however the fetches interleave.
func TestAlignMergesPartitionsByTimestamp(t *testing.T) {
	// Resumed (from a checkpoint, or at the group's committed offsets),
	// every partition starts at a known offset, and still holds the others
	// back until it is heard from.
	for _, resume := range []map[int]int64{nil, {0: 0, 1: 0, 2: 0}} {
		t.Run(fmt.Sprintf("resume=%v", resume), func(t *testing.T) { testAlignMerges(t, resume) })
	}
}

func testAlignMerges(t *testing.T, resume map[int]int64) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 3))
	const perPartition = 3000
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for p := range 3 {
		msgs := make([]kafkatest.Message, perPartition)
		for i := range msgs {
			ts := 3*i + p // partition p holds the times ≡ p (mod 3)
			msgs[i] = kafkatest.Message{Partition: p, Value: fmt.Appendf(nil, `{"t":%d}`, ts), Time: base.Add(time.Duration(ts) * time.Millisecond)}
		}
		for i := 0; i < len(msgs); i += 1000 {
			c.Produce(t, "events", msgs[i:i+1000]...)
		}
	}
	tg := newTarget()
	open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1, Align: true, Resume: resume}, tg)
	waitFor(t, "every message", func() bool { return tg.count("ev") == 3*perPartition })
	for i, r := range tg.records("ev") {
		if got := r.Get("t").I; got != int64(i) {
			t.Fatalf("message %d handed on has t=%d: partitions were not merged by timestamp", i, got)
		}
	}
}

// add takes fetched messages of the aligner's partitions in, as pull
// would from their queues.
func (a *aligner) add(msgs []kafkago.Message, now time.Time) {
	for _, m := range msgs {
		for _, q := range a.parts {
			if q.p == m.Partition {
				a.take(q, m, now)
			}
		}
	}
}

func TestAlignerRelease(t *testing.T) {
	t0 := time.Unix(1000, 0)
	msg := func(p int, off int64, ts, hw int64) kafkago.Message {
		return kafkago.Message{Partition: p, Offset: off, Time: time.UnixMilli(ts), HighWaterMark: hw}
	}
	offsets := func(msgs []kafkago.Message) string {
		s := ""
		for _, m := range msgs {
			s += fmt.Sprintf("%d/%d ", m.Partition, m.Offset)
		}
		return s
	}
	tests := []struct {
		name        string
		resume      map[int]int64
		add         []kafkago.Message
		at          time.Duration // after t0
		want        string
		wantBlocked bool
	}{
		{"partition 1 not heard from yet holds partition 0", nil, []kafkago.Message{msg(0, 0, 10, 5)}, 0, "", true},
		{"until it has been silent for the wait", nil, []kafkago.Message{msg(0, 0, 10, 5)}, 2 * time.Second, "0/0 ", false},
		{"so does one resumed at an offset", map[int]int64{0: 4, 1: 7}, []kafkago.Message{msg(0, 4, 10, 5)}, 0, "", true},
		{"merged by time, then partition", nil, []kafkago.Message{msg(0, 0, 10, 2), msg(0, 1, 30, 2), msg(1, 0, 10, 2), msg(1, 1, 20, 2)}, 0, "0/0 1/0 1/1 0/1 ", false},
		{"a partition with more to fetch holds the others", nil, []kafkago.Message{msg(0, 0, 10, 5), msg(1, 0, 20, 2), msg(1, 1, 30, 2)}, 0, "0/0 ", true},
		{"a caught-up partition does not", nil, []kafkago.Message{msg(0, 0, 10, 1), msg(1, 0, 20, 2), msg(1, 1, 30, 2)}, 0, "0/0 1/0 1/1 ", false},
		{"messages before the resume positions are dropped", map[int]int64{0: 4}, []kafkago.Message{msg(0, 3, 10, 9), msg(0, 4, 10, 9), msg(1, 7, 5, 8)}, 0, "1/7 0/4 ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAligner([]int{0, 1}, tt.resume, 2*time.Second, 0, t0)
			a.add(tt.add, t0)
			got, blocked := a.release(t0.Add(tt.at), nil, 10)
			if offsets(got) != tt.want || (blocked > 0) != tt.wantBlocked {
				t.Errorf("released %q blocked %v; want %q blocked %v", offsets(got), blocked, tt.want, tt.wantBlocked)
			}
		})
	}
	t.Run("blocked says how long until the partition counts as silent", func(t *testing.T) {
		a := newAligner([]int{0, 1}, nil, 2*time.Second, 0, t0)
		a.add([]kafkago.Message{msg(0, 0, 10, 5)}, t0)
		if _, blocked := a.release(t0.Add(1500*time.Millisecond), nil, 10); blocked != 500*time.Millisecond {
			t.Errorf("blocked %v, want 500ms", blocked)
		}
	})
}

// TestAlignerPull takes from the readers' queues only up to room messages
// per partition: the rest stays queued, where it blocks its reader, until
// the merge needs it.
func TestAlignerPull(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := newAligner([]int{0, 1}, nil, time.Hour, 8, t0)
	for off := range int64(6) {
		a.queue(0) <- kafkago.Message{Partition: 0, Offset: off, Time: time.UnixMilli(2 * off), HighWaterMark: 6}
	}
	a.queue(1) <- kafkago.Message{Partition: 1, Offset: 0, Time: time.UnixMilli(3), HighWaterMark: 1}
	if n := a.pull(t0, 4); n != 5 || a.held != 5 || len(a.queue(0)) != 2 {
		t.Fatalf("pulled %d, holding %d, %d left queued; want 5, 5 and 2", n, a.held, len(a.queue(0)))
	}
	got, blocked := a.release(t0, nil, 10)
	if len(got) != 5 || blocked != 0 {
		t.Fatalf("released %d, blocked %v; want all 5 (partition 1 caught up)", len(got), blocked)
	}
	for i, want := range []int64{0, 2, 3, 4, 6} { // partition 1's message at 3 between 0's at 2 and 4
		if ms := got[i].Time.UnixMilli(); ms != want {
			t.Errorf("message %d at %d ms, want %d", i, ms, want)
		}
	}
	if n := a.pull(t0, 4); n != 2 || a.held != 2 {
		t.Errorf("second pull took %d, holding %d; want the 2 left", n, a.held)
	}
}

// A pause of the source does not count as a partition's silence.
func TestAlignerAway(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := newAligner([]int{0, 1}, nil, 2*time.Second, 0, t0)
	a.add([]kafkago.Message{{Partition: 0, Offset: 0, HighWaterMark: 5}, {Partition: 1, Offset: 0, Time: time.UnixMilli(1), HighWaterMark: 5}}, t0)
	if got, _ := a.release(t0, nil, 10); len(got) != 1 {
		t.Fatalf("released %d, want partition 0's message only", len(got))
	}
	a.away(3 * time.Second) // handing on or paused, not reading
	if got, blocked := a.release(t0.Add(3*time.Second), nil, 10); len(got) != 0 || blocked != 2*time.Second {
		t.Errorf("after a pause: released %d, blocked %v; want partition 1 held for partition 0 another 2s", len(got), blocked)
	}
	if got, _ := a.release(t0.Add(5*time.Second), nil, 10); len(got) != 1 || a.lateByTime.Load() != 1 {
		t.Errorf("after 2 s of real silence: released %d, counted %d; want the message, counted", len(got), a.lateByTime.Load())
	}
}

// TestAlignerRandomFetches feeds three partitions' backlogs in fetches of
// random size and order to their queues, pulling and releasing random
// amounts between fetches: with no partition
// silent, the messages come out exactly once each, in
// timestamp order across partitions, however the fetches interleave.
func TestAlignerRandomFetches(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 61))
		t0 := time.Unix(1000, 0)
		backlog := map[int][]kafkago.Message{}
		total := 0
		for p := range 3 {
			n := 50 + rng.IntN(200)
			ts := int64(rng.IntN(1000))
			for off := range n {
				ts += rng.Int64N(20) // ties within and across partitions
				backlog[p] = append(backlog[p], kafkago.Message{Partition: p, Offset: int64(off), Time: time.UnixMilli(ts), HighWaterMark: int64(n)})
			}
			total += n
		}
		a := newAligner([]int{0, 1, 2}, nil, time.Hour, 32, t0)
		var out []kafkago.Message
		for round := 0; len(out) < total; round++ {
			if round > 100_000 {
				t.Fatalf("seed %d: %d of %d released after %d rounds", seed, len(out), total, round)
			}
			if p := rng.IntN(3); len(backlog[p]) > 0 {
				q := a.queue(p)
				k := min(1+rng.IntN(40), len(backlog[p]), cap(q)-len(q)) // a reader blocks when full
				for _, m := range backlog[p][:k] {
					q <- m
				}
				backlog[p] = backlog[p][k:]
			}
			a.pull(t0, 1+rng.IntN(50))
			batch, _ := a.release(t0, nil, 1+rng.IntN(100))
			out = append(out, batch...)
			if a.lateByTime.Load() != 0 {
				t.Fatalf("seed %d: released early", seed)
			}
		}
		if len(out) != total || a.held != 0 {
			t.Fatalf("seed %d: released %d of %d, %d held", seed, len(out), total, a.held)
		}
		for i := 1; i < len(out); i++ {
			if earlier(&out[i], out[i].Partition, &out[i-1], out[i-1].Partition) {
				t.Fatalf("seed %d: %d/%d at %v released after %d/%d at %v", seed,
					out[i].Partition, out[i].Offset, out[i].Time, out[i-1].Partition, out[i-1].Offset, out[i-1].Time)
			}
		}
	}
}

// TestMergeWaits drives the source's merge loop: a partial batch goes
// after BatchWait, a partition with more to fetch holds the others until
// it has been silent for AlignWait (then what goes ahead of it is
// counted), and the end of the generation ends it.
func TestMergeWaits(t *testing.T) {
	s := &Source{cfg: Config{BatchSize: 10, BatchWait: 5 * time.Millisecond, AlignWait: 100 * time.Millisecond}}
	a := newAligner([]int{0, 1}, nil, s.cfg.AlignWait, 16, time.Now())
	a.lateByTime = &s.lateByTime
	msg := func(p int, off int64, ts, hw int64) kafkago.Message {
		return kafkago.Message{Partition: p, Offset: off, Time: time.UnixMilli(ts), HighWaterMark: hw}
	}
	a.queue(1) <- msg(1, 0, 1, 5) // partition 1 has four more to fetch
	for off := range int64(3) {
		a.queue(0) <- msg(0, off, 10+off, 3)
	}
	ended := make(chan struct{})
	merge := func() string {
		got, open := s.merge(context.Background(), a, ended, nil)
		out := fmt.Sprint(open)
		for _, m := range got {
			out += fmt.Sprintf(" %d/%d", m.Partition, m.Offset)
		}
		return out
	}
	if got := merge(); got != "true 1/0" {
		t.Errorf("first batch %q, want partition 1's message alone, after BatchWait", got)
	}
	if got := merge(); got != "true 0/0 0/1 0/2" || s.lateByTime.Load() != 3 {
		t.Errorf("second batch %q with %d counted early; want partition 0's three once partition 1 is silent, counted", got, s.lateByTime.Load())
	}
	close(ended)
	if got := merge(); got != "false" {
		t.Errorf("after the generation ended: %q, want nothing and not open", got)
	}
}

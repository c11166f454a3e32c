package checkpoint

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sources/kafka"
	"sluice/plugins/sources/kafka/kafkatest"
)

// perUserSQL keeps its windows per Kafka partition: each user's events
// are in one partition.
const perUserSQL = `@Name("per_user")
@ClusterAffinity(key="user")
@EventTime(column="ts", lateness="1s")
SELECT user, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), user`

// member is one sluice process of a consumer group, in this test process.
type member struct {
	name string
	rt   *operators.Runtime
	cp   *Checkpointer
	src  *kafka.Source
	rows chan string
}

func startMember(t *testing.T, c *kafkatest.Cluster, dir, name string) *member {
	t.Helper()
	store, err := NewDirStore(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil)).With("member", name)
	rt, cp, sub := checkpointed(t, c, store, name, perUserSQL, log)
	m := &member{name: name, rt: rt, cp: cp, rows: make(chan string, 1024)}
	go func() {
		for r := range sub.C {
			m.rows <- fmt.Sprintf("%d:%s:%d:%d", r.Get("window_start").I/1000, r.Get("user").S, r.Get("n").I, r.Get("total").I)
		}
	}()
	ctx := context.Background()
	if _, err := m.cp.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if m.src, err = m.cp.Add(ctx, "ev", kafka.StreamConfig{Topic: "clicks", Group: "g"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.stop)
	return m
}

func (m *member) stop() {
	_ = m.cp.Close()
	m.rt.Close()
}

// owns says whether the member reads exactly parts.
func (m *member) owns(parts ...int) bool {
	pos := m.src.Positions()
	if len(pos) != len(parts) {
		return false
	}
	for _, p := range parts {
		if _, ok := pos[p]; !ok {
			return false
		}
	}
	return true
}

// take reads n rows.
func (m *member) take(t *testing.T, n int) []string {
	t.Helper()
	return receive(t, m.name+"'s rows", m.rows, n)
}

// produceUsers writes events i in [from, to): ts i seconds, v = i, user
// u<i%4>; users u0 and u2 are in partition 0, u1 and u3 in partition 1.
func produceUsers(t *testing.T, c *kafkatest.Cluster, from, to int) {
	t.Helper()
	var msgs []kafkatest.Message
	for p := range 2 {
		for i := from; i < to; i++ {
			if u := i % 4; u%2 == p {
				msgs = append(msgs, kafkatest.Message{Partition: p, Key: fmt.Appendf(nil, "u%d", u),
					Value: fmt.Appendf(nil, `{"ts":%d,"v":%d,"user":"u%d"}`, i*1000, i, u)})
			}
		}
	}
	c.Produce(t, "clicks", msgs...)
}

// perUser computes, independently of sluice, the rows of perUserSQL for
// events [0, to) in the windows before end seconds.
func perUser(to, end int) []string {
	type key struct{ w, u int }
	n, total := map[key]int{}, map[key]int{}
	for i := range to {
		if k := (key{i / 10 * 10, i % 4}); k.w+10 <= end {
			n[k]++
			total[k] += i
		}
	}
	var out []string
	for k := range n {
		out = append(out, fmt.Sprintf("%d:u%d:%d:%d", k.w, k.u, n[k], total[k]))
	}
	slices.Sort(out)
	return out
}

// partitionOf is the partition of a row's user.
func partitionOf(row string) int {
	var w, u int
	if _, err := fmt.Sscanf(row, "%d:u%d:", &w, &u); err != nil {
		panic(err)
	}
	return u % 2
}

func sorted(rows ...[]string) []string {
	out := slices.Concat(rows...)
	slices.Sort(out)
	return out
}

// TestRebalanceHandsPartitionStateOver runs two processes of one consumer
// group. When the second joins, the first hands one partition over with
// its open windows; when the second leaves, it hands the partition back
// with the windows it opened. Every window of every user comes out once, from
// whichever process owned the user's partition when the window closed,
// and counts all the window's events.
func TestRebalanceHandsPartitionStateOver(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	dir := filepath.Join(t.TempDir(), "state")

	produceUsers(t, c, 0, 26)
	a := startMember(t, c, dir, "a")
	// Watermarks 23 s and 24 s close the windows at 0 and 10 s.
	first := a.take(t, 8)
	if want := perUser(26, 20); strings.Join(sorted(first), " ") != strings.Join(want, " ") {
		t.Fatalf("first windows %v\nwant %v", sorted(first), want)
	}

	b := startMember(t, c, dir, "b")
	moved := -1 // the partition the group gives b
	waitFor(t, "the partitions to be divided", func() bool {
		for p := range 2 {
			if a.owns(1-p) && b.owns(p) {
				moved = p
			}
		}
		return moved >= 0
	})
	if got := b.cp.stats.takenOver.Load(); got != 1 {
		t.Errorf("b took %d partitions over, want 1", got)
	}
	if a.cp.stats.handedOff.Load() == 0 {
		t.Error("a took no checkpoint before the rebalance")
	}
	produceUsers(t, c, 26, 50)
	// The windows at 20 and 30 s close, two users' in each process. b's
	// windows at 20 s began in a (events 20 to 25).
	fromA, fromB := a.take(t, 4), b.take(t, 4)
	want := slices.DeleteFunc(perUser(50, 40), func(r string) bool {
		return strings.HasPrefix(r, "0:") || strings.HasPrefix(r, "10:") || partitionOf(r) != moved
	})
	if strings.Join(sorted(fromB), " ") != strings.Join(want, " ") {
		t.Errorf("b emitted %v, want %v", sorted(fromB), want)
	}
	for _, r := range fromA {
		if partitionOf(r) == moved {
			t.Errorf("a emitted %s, a row of partition %d it no longer owns", r, moved)
		}
	}

	b.stop() // its last checkpoint holds its partition's windows at 40 s
	waitFor(t, "a to own both partitions again", func() bool { return a.owns(0, 1) })
	if got := a.cp.stats.takenOver.Load(); got != 1 {
		t.Errorf("a took %d partitions over, want 1", got)
	}
	produceUsers(t, c, 50, 70)
	last := a.take(t, 8)
	if got, want := sorted(first, fromA, fromB, last), perUser(70, 60); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("all windows %v\nwant %v", got, want)
	}
	select {
	case r := <-a.rows:
		t.Errorf("a emitted %s beyond the windows that closed", r)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestTakeOver(t *testing.T) {
	rec := func(node string, off int64) *partitionRecord {
		return &partitionRecord{Header: Header{Node: node}, Offset: off}
	}
	tests := []struct {
		name string
		rec  *partitionRecord
		own  map[int]int64
		want bool
	}{
		{"no record", nil, map[int]int64{}, false},
		{"no record, own position", nil, map[int]int64{0: 5}, false},
		{"a new partition", rec("b", 7), map[int]int64{}, true},
		{"a new partition this node once had", rec("a", 7), map[int]int64{}, true},
		{"another node read further", rec("b", 9), map[int]int64{0: 5}, true},
		{"another node's record is older", rec("b", 3), map[int]int64{0: 5}, false},
		{"another node's record is as far", rec("b", 5), map[int]int64{0: 5}, false},
		{"this node's newer record: the latest document was unreadable", rec("a", 9), map[int]int64{0: 5}, false},
	}
	for _, tt := range tests {
		if got := takeOver([]int{0}, []*partitionRecord{tt.rec}, tt.own, "a"); got[0] != tt.want {
			t.Errorf("%s: take over = %v, want %v", tt.name, got[0], tt.want)
		}
	}
}

// TestUnusablePartitionRecordIsSkipped starts a process whose store holds
// a damaged record for partition 0: the partition starts without it
// rather than stalling, and the record is counted.
func TestUnusablePartitionRecordIsSkipped(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("clicks", 2))
	dir := filepath.Join(t.TempDir(), "state")
	store, err := NewDirStore(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SavePartition(context.Background(), partitionKey("g", "clicks", 0), 1, []byte(`{"offset":1,"version":99}`)); err != nil {
		t.Fatal(err)
	}
	produceUsers(t, c, 0, 26)
	a := startMember(t, c, dir, "a")
	if got, want := sorted(a.take(t, 8)), perUser(26, 20); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("windows %v\nwant %v", got, want)
	}
	if got := a.cp.stats.badRecords.Load(); got != 1 {
		t.Errorf("%d unusable records counted, want 1", got)
	}
}

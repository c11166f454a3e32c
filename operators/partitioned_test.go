package operators

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kafkaSchema names the Values of a Kafka record that these tests need.
var kafkaSchema = NewSchema("_kafka_key", PartitionField)

// partEvents are session events "partition/ts:u"; partition "-" makes a
// record without one, as HTTP ingest does.
func partEvents(evs ...string) []*Record {
	out := make([]*Record, len(evs))
	for i, e := range evs {
		part, ev, _ := strings.Cut(e, "/")
		r := sessionEvents(ev)[0]
		if part != "-" {
			n, _ := strconv.ParseInt(part, 10, 64)
			r.Schema, r.Values = kafkaSchema, []Value{Null(), Int(n)}
		}
		out[i] = r
	}
	return out
}

// newUserSessions builds userSessions without lateness, so that sessions
// close as soon as their partition's events pass them.
func newUserSessions() Operator {
	a, _ := userSessions(0)
	a.Lateness = 0
	return a
}

// sessionRows renders session rows as "u event ended".
func sessionRows(rows *[]string) Emit {
	return func(rs []*Record) {
		for _, r := range rs {
			*rows = append(*rows, r.Get("u").Text()+" "+r.Get("event").Text()+" "+r.Get("ended").Text())
		}
	}
}

// Each partition's sessions close by its own events: b's event at 20 s
// closes b's first session, and not a's or c's of partition 0.
func TestPartitionedMatchesOperatorPerPartition(t *testing.T) {
	batches := [][]*Record{
		partEvents("0/0:a", "1/500:b", "0/1000:a", "1/2000:b", "0/3000:c"),
		partEvents("1/20000:b", "0/5000:a"),
		partEvents("-/4000:d"),
	}
	var got []string
	p := NewPartitioned(newUserSessions)
	for _, b := range batches {
		p.Process(b, sessionRows(&got))
	}
	p.Finish(sessionRows(&got))

	// The same sub-batches through one operator per partition.
	var want []string
	ops := map[int64]Operator{}
	for _, b := range batches {
		var order []int64
		subs := map[int64][]*Record{}
		for _, r := range b {
			part := int64(-1)
			if r.Schema != nil {
				part = r.Values[1].I
			}
			if subs[part] == nil {
				order = append(order, part)
			}
			subs[part] = append(subs[part], r)
		}
		for _, part := range order {
			if ops[part] == nil {
				ops[part] = newUserSessions()
			}
			ops[part].Process(subs[part], sessionRows(&want))
		}
	}
	for _, part := range slices.Sorted(maps.Keys(ops)) {
		ops[part].Finish(sessionRows(&want))
	}

	exact := []string{
		"a start ", "c start ", "b start ",
		"b end 2000", "b start ",
		"d start ",
		"d end 4000", "c end 3000", "a end 5000", "b end 20000",
	}
	if !slices.Equal(got, want) || !slices.Equal(got, exact) {
		t.Errorf("partitioned emits\n%q\none operator per partition emits\n%q\nwant\n%q", got, want, exact)
	}
	if n := p.StateSize(); n != 0 {
		t.Errorf("%d sessions open after Finish", n)
	}
}

// nopOp processes batches without keeping anything.
type nopOp struct{}

func (nopOp) Process([]*Record, Emit) {}
func (nopOp) Tick(int64, Emit)        {}
func (nopOp) Finish(Emit)             {}
func (nopOp) StateSize() int          { return 0 }

// Splitting a batch allocates nothing once a partition's operator exists:
// a batch of one partition passes through, a mixed one reuses its scratch.
func TestPartitionedProcessDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name  string
		batch []*Record
	}{
		{"one partition", partEvents("3/0:a", "3/1:b", "3/2:c")},
		{"no partition", partEvents("-/0:a", "-/1:b")},
		{"mixed", partEvents("3/0:a", "1/1:b", "3/2:c", "-/3:d")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPartitioned(func() Operator { return nopOp{} })
			p.Process(tc.batch, nil)
			if n := testing.AllocsPerRun(100, func() { p.Process(tc.batch, nil) }); n != 0 {
				t.Errorf("%v allocations per batch", n)
			}
		})
	}
}

// A restored Partitioned emits what the one it was saved from emits; a
// snapshot with a damaged partition restores nothing.
func TestPartitionedSnapshotRoundTrip(t *testing.T) {
	first := partEvents("0/0:a", "1/500:b", "-/700:d", "0/1000:a")
	second := partEvents("1/20000:b", "0/5000:a", "-/800:d")
	saved := NewPartitioned(newUserSessions)
	var discard []string
	saved.Process(first, sessionRows(&discard))
	state, err := saved.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := NewPartitioned(newUserSessions)
	if err := restored.Restore(state); err != nil {
		t.Fatal(err)
	}
	if restored.StateSize() != 3 || !slices.Equal(restored.ids, []int64{-1, 0, 1}) {
		t.Fatalf("restored %d sessions in partitions %v, want 3 in [-1 0 1]", restored.StateSize(), restored.ids)
	}
	var want, got []string
	for _, run := range []struct {
		p    *Partitioned
		rows *[]string
	}{{saved, &want}, {restored, &got}} {
		run.p.Process(second, sessionRows(run.rows))
		run.p.Finish(sessionRows(run.rows))
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("restored emits\n%q\nsaved emits\n%q", got, want)
	}

	parts, err := SplitPartitions(state)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = []byte{9, 9}
	fresh := NewPartitioned(newUserSessions)
	fresh.Process(partEvents("5/0:x"), sessionRows(&discard))
	err = fresh.Restore(JoinPartitions(parts))
	if err == nil || !strings.Contains(err.Error(), "partition 1:") {
		t.Errorf("a damaged partition restored with %v, want an error naming partition 1", err)
	}
	if !slices.Equal(fresh.ids, []int64{5}) || fresh.StateSize() != 1 {
		t.Errorf("a failed restore left partitions %v, want [5] as before", fresh.ids)
	}
}

// Wrapped operators that keep no snapshot make the snapshot fail rather
// than lose their state silently.
func TestPartitionedSnapshotNeedsSnapshotters(t *testing.T) {
	p := NewPartitioned(func() Operator { return nopOp{} })
	p.Process(partEvents("2/0:a"), nil)
	if _, err := p.Snapshot(); err == nil || !strings.Contains(err.Error(), "partition 2:") {
		t.Errorf("snapshot error %v, want one naming partition 2", err)
	}
}

func TestSplitJoinPartitions(t *testing.T) {
	parts := map[int64][]byte{-1: []byte("minus one"), 0: {}, 3: []byte("three"), 1 << 40: {1, 2, 3}}
	got, err := SplitPartitions(JoinPartitions(parts))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, parts) {
		t.Errorf("split %v, want %v", got, parts)
	}
	if got, err := SplitPartitions(JoinPartitions(nil)); err != nil || len(got) != 0 {
		t.Errorf("no partitions split into %v, %v", got, err)
	}

	whole := JoinPartitions(parts)
	outOfOrder := &stateWriter{b: []byte(partitionsMagic)}
	outOfOrder.uint(snapshotVersion)
	outOfOrder.uint(2)
	for _, id := range []int64{3, 1} {
		outOfOrder.int(id)
		outOfOrder.bytes(nil)
	}
	aggregate, _ := cubeCount(0)
	aggState, err := aggregate.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		state []byte
		want  string
	}{
		{"empty", nil, "state: not the state of a partitioned statement"},
		{"an aggregate's", aggState, "state: not the state of a partitioned statement"},
		{"other version", append([]byte(partitionsMagic), 2, 0), "split partitions: state: snapshot version 2, this sluice reads 1"},
		{"truncated", whole[:len(whole)-1], "split partitions: state: truncated"},
		{"trailing bytes", append(slices.Clip(whole), 0), "split partitions: state: bytes after the last partition"},
		{"out of order", outOfOrder.b, "split partitions: state: partitions out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SplitPartitions(tc.state); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A replacement of the same state shape takes over every partition.
func TestPartitionedCopyState(t *testing.T) {
	old := NewPartitioned(newUserSessions)
	old.Process(partEvents("0/0:a", "1/0:b", "1/0:c"), func([]*Record) {})
	p := NewPartitioned(newUserSessions)
	p.CopyState(old)
	if !slices.Equal(p.ids, []int64{0, 1}) || p.StateSize() != 3 {
		t.Errorf("copied %d sessions in partitions %v, want 3 in [0 1]", p.StateSize(), p.ids)
	}
	p.CopyState(newUserSessions())
	if p.StateSize() != 3 {
		t.Errorf("copying an unpartitioned operator changed the state")
	}
}

// SetPartitions drops the partitions that moved away, loads those that
// moved in, keeps partition -1, and leaves statements on other streams as
// they were; when one state cannot be restored, no statement changes.
func TestRuntimeSetPartitions(t *testing.T) {
	spec := func(name, source string) *QuerySpec {
		return &QuerySpec{Name: name, Source: source, StateShape: "partitioned:s",
			Build: func(*Counters) Operator { return NewPartitioned(newUserSessions) }}
	}
	rt := NewRuntime(RuntimeConfig{TickInterval: time.Hour})
	defer rt.Close()
	for _, s := range []*QuerySpec{spec("a", "clicks"), spec("b", "clicks"), spec("other", "views")} {
		if _, err := rt.Deploy(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, stream := range []string{"clicks", "views"} {
		// Each stream its own records: a stream indexes what it is given.
		if err := rt.Ingest(stream, partEvents("0/0:u0", "1/0:u1", "2/0:u2", "-/0:h")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	// Partition 3 comes from another process with two open sessions.
	moved := NewPartitioned(newUserSessions)
	moved.Process(partEvents("3/0:x", "3/0:y"), func([]*Record) {})
	state, err := moved.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	parts, err := SplitPartitions(state)
	if err != nil {
		t.Fatal(err)
	}
	load := map[string]map[int64][]byte{"a": {3: parts[3]}, "b": {3: parts[3], 4: {9}}}
	err = rt.SetPartitions(ctx, "clicks", []int64{1}, load)
	if err == nil || err.Error() != `set partitions of "b": partition 4: restore sessions: state: snapshot version 9, this sluice reads 1` {
		t.Errorf("error %v, want one naming statement b and partition 4", err)
	}

	check := func(when string, want map[string][]int64) {
		t.Helper()
		for _, name := range []string{"a", "b", "other"} {
			q, _ := rt.Query(name)
			p := q.op.(*Partitioned)
			var ids []int64
			var sessions int
			if err := q.do(ctx, func() { ids, sessions = slices.Clone(p.ids), p.StateSize() }); err != nil {
				t.Fatal(err)
			}
			// One session per partition, two in partition 3.
			wantSessions := len(want[name])
			if slices.Contains(want[name], 3) {
				wantSessions++
			}
			if !slices.Equal(ids, want[name]) || sessions != wantSessions {
				t.Errorf("%s: %s: partitions %v with %d sessions, want %v with %d", when, name, ids, sessions, want[name], wantSessions)
			}
		}
	}
	before := []int64{-1, 0, 1, 2}
	check("after a failed restore", map[string][]int64{"a": before, "b": before, "other": before})

	delete(load["b"], 4)
	if err := rt.SetPartitions(ctx, "clicks", []int64{1}, load); err != nil {
		t.Fatal(err)
	}
	check("after the move", map[string][]int64{"a": {-1, 1, 3}, "b": {-1, 1, 3}, "other": before})
}

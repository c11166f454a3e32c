package kafka

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/operators"
	"sluice/plugins/sources/kafka/kafkatest"
)

// TestPauseHoldsHandOns pauses a source: nothing is handed on and its
// positions stand still until Resume, then everything arrives once.
func TestPauseHoldsHandOns(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	c.ProduceJSON(t, "events", 0, repeat(`{"n":1}`, 10)...)
	tg := newTarget()
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1}, tg)
	waitFor(t, "10 records", func() bool { return tg.count("ev") == 10 })

	ctx := context.Background()
	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(ctx); err != nil { // pauses nest
		t.Fatal(err)
	}
	c.ProduceJSON(t, "events", 0, repeat(`{"n":2}`, 10)...)
	// Absence can only be watched for a while: half a second is many
	// fetches (MaxWait is 500ms, BatchWait 5ms).
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n, p := tg.count("ev"), s.Positions()[0]; n != 10 || p != 10 {
			t.Fatalf("paused source handed on: %d records, position %d; want 10 and 10", n, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Resume()
	time.Sleep(100 * time.Millisecond)
	if n := tg.count("ev"); n != 10 {
		t.Fatalf("after one of two Resumes: %d records, want 10", n)
	}
	s.Resume()
	waitFor(t, "20 records", func() bool { return tg.count("ev") == 20 })
	if p := s.Positions()[0]; p != 20 {
		t.Errorf("position %d, want 20", p)
	}
}

// TestPauseWaitsForTheBatchInProgress pauses a source whose batch a full
// stream keeps refusing: Pause returns only once the batch is taken.
func TestPauseWaitsForTheBatchInProgress(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 1))
	c.ProduceJSON(t, "events", 0, repeat(`{"n":1}`, 5)...)
	var full atomic.Bool
	full.Store(true)
	tg := newTarget()
	tg.refuse = func(int, []*operators.Record) bool { return full.Load() }
	s := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", CommitInterval: -1}, tg)
	waitFor(t, "a refused batch", func() bool {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		return tg.refused > 0
	})

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Pause(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pause during a refused batch = %v, want the context's deadline", err)
	}
	paused := make(chan error, 1)
	go func() { paused <- s.Pause(context.Background()) }()
	select {
	case err := <-paused:
		t.Fatalf("Pause returned %v while the batch was still being refused", err)
	case <-time.After(100 * time.Millisecond):
	}
	full.Store(false)
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	if n, p := tg.count("ev"), s.Positions()[0]; n != 5 || p != 5 {
		t.Fatalf("after Pause: %d records, position %d; want 5 and 5", n, p)
	}
	s.Resume()
}

// TestRestartRemovesMembersOfACrashedRun leaves a member in the group the
// way a killed sluice does (joined, never heartbeating again, session of a
// minute). A new run of the same node removes it, so the resume commit is
// accepted and consumption starts at once rather than a minute later.
func TestRestartRemovesMembersOfACrashedRun(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	c.ProduceJSON(t, "events", 0, repeat(`{"p":0}`, 6)...)
	c.ProduceJSON(t, "events", 1, repeat(`{"p":1}`, 6)...)
	joinAndVanish(t, c, "g", "sluice/n1/deadbeef", "events")

	tg := newTarget()
	start := time.Now()
	resume := map[int]int64{0: 2, 1: 5}
	open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", Node: "n1", CommitInterval: -1, Resume: resume}, tg)
	waitFor(t, "the records after the checkpoint", func() bool { return tg.count("ev") == 4+1 })
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("consuming took %v: the crashed run's member was waited for", took)
	}
	if got := c.Committed(t, "g", "events"); got[0] != 2 || got[1] != 5 {
		t.Errorf("committed = %v, want the checkpoint's 2 and 5", got)
	}
}

// joinAndVanish joins group as a consumer with the given client id and
// takes every partition of topic, then never heartbeats: a crashed member.
func joinAndVanish(t *testing.T, c *kafkatest.Cluster, group, clientID, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Transport: &kafkago.Transport{ClientID: clientID}}
	req := &kafkago.JoinGroupRequest{
		GroupID: group, SessionTimeout: time.Minute, RebalanceTimeout: time.Minute, ProtocolType: "consumer",
		Protocols: []kafkago.GroupProtocol{{Name: "range", Metadata: kafkago.GroupProtocolSubscription{Topics: []string{topic}}}},
	}
	var jr *kafkago.JoinGroupResponse
	for range 3 {
		var err error
		if jr, err = cl.JoinGroup(ctx, req); err != nil {
			t.Fatalf("join group: %v", err)
		}
		if !errors.Is(jr.Error, kafkago.MemberIDRequired) {
			break
		}
		req.MemberID = jr.MemberID
	}
	if jr.Error != nil {
		t.Fatalf("join group: %v", jr.Error)
	}
	parts := make([]int, 0)
	for p := range c.EndOffsets(t, topic) {
		parts = append(parts, p)
	}
	sr, err := cl.SyncGroup(ctx, &kafkago.SyncGroupRequest{
		GroupID: group, GenerationID: jr.GenerationID, MemberID: jr.MemberID, ProtocolType: "consumer", ProtocolName: "range",
		Assignments: []kafkago.SyncGroupRequestAssignment{{MemberID: jr.MemberID, Assignment: kafkago.GroupProtocolAssignment{
			AssignedPartitions: map[string][]int{topic: parts},
		}}},
	})
	if err == nil {
		err = sr.Error
	}
	if err != nil {
		t.Fatalf("sync group: %v", err)
	}
}

// TestSharedGroupWarning lists the group's members, and warns on a
// checkpointed stream whose group has a member of another process.
func TestSharedGroupWarning(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Topic("events", 2))
	ctx := context.Background()
	// Two processes, each with two streams: one checkpointed (group g), one
	// at-least-once (group g2). A process's streams share its run id.
	checkpointed := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", Node: "n1", CommitInterval: -1, run: "r1"}, newTarget())
	plain := open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g2", Stream: "ev2", Node: "n1", run: "r1"}, newTarget())
	st, err := checkpointed.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Warning != "" {
		t.Errorf("warning %q with this process alone in the group (members %v)", st.Warning, st.Members)
	}
	open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g", Stream: "ev", Node: "n2", CommitInterval: -1, run: "r2"}, newTarget())
	open(t, Config{Brokers: c.Brokers, Topic: "events", Group: "g2", Stream: "ev2", Node: "n2", run: "r2"}, newTarget())
	const id = "sluice/n2/r2"
	waitFor(t, "the other process's member", func() bool {
		st, err = checkpointed.Stats(ctx)
		return err == nil && slices.Contains(st.Members, id)
	})
	if !strings.Contains(st.Warning, `consumer group "g" is shared with `+id+":") || strings.Contains(st.Warning, checkpointed.cfg.clientID()) {
		t.Errorf("warning %q (members %v)", st.Warning, st.Members)
	}
	waitFor(t, "the other process's member", func() bool {
		st, err = plain.Stats(ctx)
		return err == nil && slices.Contains(st.Members, id)
	})
	if st.Warning != "" {
		t.Errorf("an at-least-once stream warned: %q", st.Warning)
	}
}

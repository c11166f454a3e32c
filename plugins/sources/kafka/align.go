package kafka

import (
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// aligner makes a source hand on its partitions merged by message
// timestamp. The partition readers feed the source as their fetches
// return, so when a topic is read from a backlog (a restart, a replay
// after a crash) one partition can run minutes of event time ahead of
// another: events of the lagging partition then fall behind a statement's
// watermark, and a replay that interleaves differently computes different
// windows. The aligner holds fetched messages per partition and lets the
// earliest head go only while every other partition that may still hold
// earlier messages has a head too. A partition holds the others back while
// it is known to have more (its fetched offset is below the high
// watermark its last fetch reported) or has not been heard from since the
// source opened, but never for longer than wait without a message from it;
// and never once max messages are held.
type aligner struct {
	wait time.Duration
	max  int

	parts map[int]*partQueue
	held  int

	// Messages handed on while a partition that may hold earlier ones had
	// nothing buffered: it was silent for wait, or max were held. They
	// count into the source's totals.
	lateByTime, lateByMemory *atomic.Uint64
}

type partQueue struct {
	msgs     []kafkago.Message
	fetched  int64 // offset after the last message taken in; -1: none yet
	hw       int64 // the partition's high watermark at the last fetch
	lastSeen time.Time
}

// newAligner starts with a generation's partitions as unheard of, and their
// start positions where those are offsets (not "first" or "last").
func newAligner(partitions []int, resume map[int]int64, wait time.Duration, max int, now time.Time) *aligner {
	a := &aligner{wait: wait, max: max, parts: map[int]*partQueue{}, lateByTime: new(atomic.Uint64), lateByMemory: new(atomic.Uint64)}
	for _, p := range partitions {
		a.parts[p] = &partQueue{fetched: -1, hw: 0, lastSeen: now}
	}
	for p, off := range resume {
		if q := a.part(p, now); off > q.fetched {
			q.fetched = off
		}
	}
	return a
}

func (a *aligner) part(p int, now time.Time) *partQueue {
	q := a.parts[p]
	if q == nil {
		q = &partQueue{fetched: -1, lastSeen: now}
		a.parts[p] = q
	}
	return q
}

// add takes fetched messages in, dropping any before what was taken.
func (a *aligner) add(msgs []kafkago.Message, now time.Time) {
	for _, m := range msgs {
		q := a.part(m.Partition, now)
		q.lastSeen = now
		q.hw = max(q.hw, m.HighWaterMark)
		if m.Offset < q.fetched {
			continue
		}
		q.fetched = m.Offset + 1
		q.msgs = append(q.msgs, m)
		a.held++
	}
}

// away stops the silence clocks for d: the source was handing on (or
// paused by a checkpoint) and not reading, so no partition could be heard.
func (a *aligner) away(d time.Duration) {
	for _, q := range a.parts {
		q.lastSeen = q.lastSeen.Add(d)
	}
}

// behind reports whether a partition with nothing buffered may still
// deliver messages earlier than what the others hold.
func (q *partQueue) behind() bool { return q.fetched < 0 || q.fetched < q.hw }

// release appends up to n messages in timestamp order (then partition,
// then offset) to out. blocked says that messages are held waiting for a
// partition.
func (a *aligner) release(now time.Time, out []kafkago.Message, n int) (_ []kafkago.Message, blocked bool) {
	for len(out) < n && a.held > 0 {
		var next *partQueue
		var nextPart int
		overMemory, overTime := false, false
		for p, q := range a.parts {
			if len(q.msgs) == 0 {
				if q.behind() {
					switch {
					case a.held > a.max:
						overMemory = true
					case now.Sub(q.lastSeen) >= a.wait:
						// A partition never heard from is empty.
						overTime = overTime || q.fetched >= 0
					default:
						return out, true
					}
				}
				continue
			}
			if next == nil || earlier(&q.msgs[0], p, &next.msgs[0], nextPart) {
				next, nextPart = q, p
			}
		}
		switch {
		case overMemory:
			a.lateByMemory.Add(1)
		case overTime:
			a.lateByTime.Add(1)
		}
		out = append(out, next.msgs[0])
		next.msgs[0] = kafkago.Message{}
		next.msgs = next.msgs[1:]
		a.held--
	}
	return out, false
}

func earlier(m *kafkago.Message, p int, o *kafkago.Message, op int) bool {
	if !m.Time.Equal(o.Time) {
		return m.Time.Before(o.Time)
	}
	if p != op {
		return p < op
	}
	return m.Offset < o.Offset
}

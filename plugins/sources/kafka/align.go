package kafka

import (
	"slices"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// aligner makes a source hand on its partitions merged by message
// timestamp. Partition readers fetch independently, so when a topic is
// read from a backlog (a restart, a replay after a crash) one partition
// could run minutes of event time ahead of another: events of the lagging
// partition would then fall behind a statement's watermark, and a replay
// that interleaved differently would compute different windows.
//
// Each partition's reader queues into a channel of its own, and the aligner
// takes from a channel (pull) only while that partition has fewer than a
// given number of messages waiting here. It lets the earliest head go only
// while every other partition that may still hold earlier messages has a
// head too. A partition holds the others back while it is known to have
// more (its fetched offset is below the high watermark its last fetch
// reported) or has not been heard from since the generation began, but
// never for longer than wait without a message from it. While it does, the
// other partitions' readers stop at their full queues, so memory stays
// bounded: what they read ahead is a queue and a fetch per partition.
type aligner struct {
	wait  time.Duration
	parts []*partQueue // by partition
	held  int
	// notify is signalled by readers after each message they queue.
	notify chan struct{}

	// Messages handed on while a partition that may hold earlier ones had
	// nothing buffered and was silent for wait. It counts into the
	// source's total.
	lateByTime *atomic.Uint64
}

type partQueue struct {
	p        int
	in       chan kafkago.Message // the reader's queue; nil in tests that add
	msgs     []kafkago.Message    // msgs[head:] wait to be handed on
	head     int
	fetched  int64 // offset after the last message taken in; -1: none yet
	hw       int64 // the partition's high watermark at the last fetch
	heard    bool  // a message came since the generation began
	lastSeen time.Time
}

// newAligner starts with a generation's partitions as unheard of, with
// their start positions where those are offsets (not "first" or "last"),
// below which messages are dropped. Each partition's reader queues up to
// queue messages (0: no queues, for tests that add).
func newAligner(partitions []int, resume map[int]int64, wait time.Duration, queue int, now time.Time) *aligner {
	a := &aligner{wait: wait, notify: make(chan struct{}, 1), lateByTime: new(atomic.Uint64)}
	for _, p := range slices.Sorted(slices.Values(partitions)) {
		q := &partQueue{p: p, fetched: -1, lastSeen: now}
		if queue > 0 {
			q.in = make(chan kafkago.Message, queue)
		}
		if off, ok := resume[p]; ok && off > q.fetched {
			q.fetched = off
		}
		a.parts = append(a.parts, q)
	}
	return a
}

// queue is the channel partition p's reader sends to.
func (a *aligner) queue(p int) chan<- kafkago.Message {
	for _, q := range a.parts {
		if q.p == p {
			return q.in
		}
	}
	return nil
}

// take takes one message of q in, dropping it if it is before what was
// taken.
func (a *aligner) take(q *partQueue, m kafkago.Message, now time.Time) {
	q.lastSeen, q.heard = now, true
	q.hw = max(q.hw, m.HighWaterMark)
	if m.Offset < q.fetched {
		return
	}
	q.fetched = m.Offset + 1
	if len(q.msgs) == cap(q.msgs) && q.head > 0 {
		// Full, with room at the front: move the waiting messages there
		// rather than grow the array.
		n := copy(q.msgs, q.msgs[q.head:])
		clear(q.msgs[n:])
		q.msgs, q.head = q.msgs[:n], 0
	}
	q.msgs = append(q.msgs, m)
	a.held++
}

// pull takes in what the readers have queued, up to room messages waiting
// per partition, without waiting. It returns how many it took.
func (a *aligner) pull(now time.Time, room int) int {
	n := 0
	for _, q := range a.parts {
		for len(q.msgs)-q.head < room {
			m, ok := tryReceive(q.in)
			if !ok {
				break
			}
			a.take(q, m, now)
			n++
		}
	}
	return n
}

func tryReceive(c chan kafkago.Message) (kafkago.Message, bool) {
	select {
	case m := <-c:
		return m, true
	default:
		return kafkago.Message{}, false
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
// deliver messages earlier than what the others hold. Until it is heard
// from, where it starts says nothing of what it holds.
func (q *partQueue) behind() bool { return !q.heard || q.fetched < q.hw }

// release appends up to n messages in timestamp order (then partition,
// then offset) to out. blocked, when positive, says that messages are held
// waiting for a partition, which counts as silent after that long. n must
// not exceed what pull lets a partition hold: a partition that drained
// within one release would look silent since its last pull.
func (a *aligner) release(now time.Time, out []kafkago.Message, n int) (_ []kafkago.Message, blocked time.Duration) {
	for len(out) < n && a.held > 0 {
		var next *partQueue
		overTime := false
		for _, q := range a.parts {
			if q.head == len(q.msgs) {
				if q.behind() {
					if silent := now.Sub(q.lastSeen); silent < a.wait {
						return out, a.wait - silent
					}
					// A partition never heard from is empty.
					overTime = overTime || q.heard
				}
				continue
			}
			if next == nil || earlier(&q.msgs[q.head], q.p, &next.msgs[next.head], next.p) {
				next = q
			}
		}
		if overTime {
			a.lateByTime.Add(1)
		}
		out = append(out, next.msgs[next.head])
		next.msgs[next.head] = kafkago.Message{}
		if next.head++; next.head == len(next.msgs) {
			next.msgs, next.head = next.msgs[:0], 0 // reuse the array
		}
		a.held--
	}
	return out, 0
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

package operators

import "container/heap"

// sessionHeap orders open sessions by deadline, lazily: most events move
// their session's deadline later, and the heap is not reordered for them.
// An entry keeps the deadline its session had when it was queued; first
// moves an entry that comes up early back to the session's current
// deadline. An event earlier than its session's start moves a longest
// duration's deadline earlier: that queues the session again (see
// requeue), and its older entry becomes void. Entries of sessions closed
// meanwhile are void too; first drops void entries as they come up.
type sessionHeap struct {
	items []sessionEntry
}

type sessionEntry struct {
	at int64 // the session's deadline when queued; never later than its current one
	s  *session
}

// push queues s under its deadline.
func (h *sessionHeap) push(s *session, deadline int64) {
	s.queued = deadline
	heap.Push(h, sessionEntry{at: deadline, s: s})
}

// requeue queues s again if its deadline moved before its entry's.
func (h *sessionHeap) requeue(s *session, deadline int64) {
	if deadline < s.queued {
		h.push(s, deadline)
	}
}

// live reports whether e is its session's entry.
func (e sessionEntry) live() bool { return !e.s.closed && e.at == e.s.queued }

// first is the open session with the earliest deadline, or nil.
func (h *sessionHeap) first(gap, maxDuration int64) *session {
	for len(h.items) > 0 {
		e := h.items[0]
		switch d := e.s.deadline(gap, maxDuration); {
		case !e.live():
			heap.Pop(h)
		case d > e.at:
			h.items[0].at, e.s.queued = d, d
			heap.Fix(h, 0)
		default:
			return e.s
		}
	}
	return nil
}

// pop removes the entry first returned.
func (h *sessionHeap) pop() { heap.Pop(h) }

func (h *sessionHeap) Len() int { return len(h.items) }
func (h *sessionHeap) Less(i, j int) bool {
	if h.items[i].at != h.items[j].at {
		return h.items[i].at < h.items[j].at
	}
	return h.items[i].s.key < h.items[j].s.key
}
func (h *sessionHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *sessionHeap) Push(x any)    { h.items = append(h.items, x.(sessionEntry)) }
func (h *sessionHeap) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	h.items[n] = sessionEntry{}
	h.items = h.items[:n]
	return e
}

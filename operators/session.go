package operators

import (
	"crypto/sha256"
	"encoding/hex"
)

// SessionColumns lead every row of a session statement.
var SessionColumns = []string{"session_id", "event", "started", "ended", "duration_s", "events"}

// Sessions groups each key's events into sessions that close after Gap of
// inactivity in event time (when the watermark passes the last event plus
// Gap) or at MaxDuration. It emits a "start" row with a session's first
// event and an "end" row when it closes. Open sessions are bounded by
// MaxSessions: past it the session closest to expiry is closed early and
// counted as an eviction.
//
// Expressions after grouping read the same output-phase row as Aggregate:
// keys, then window_start (the session's first event time) and window_end
// (its last), then the aggregates.
type Sessions struct {
	KeyedInput
	Lateness    int64
	Idle        int64
	Gap         int64 // ms
	MaxDuration int64 // ms; 0: unlimited
	Having      Expr
	Columns     []string
	Project     []Expr
	MaxSessions int

	open    map[string]*session
	byEnd   sessionHeap
	time    watermark
	arrival int64

	orow   []Value
	keyBuf []byte
	schema *Schema
	out    []*Record
}

// session is one open session. Its key values and id are derived when a
// row is emitted (from key and first), which keeps a million open sessions
// small.
type session struct {
	key         string // the key values, encoded with AppendValue
	first       int64  // time of the event that opened it
	start, last int64
	events      int64
	aggs        []Aggregator
	queued      int64 // the deadline of its entry in byEnd
	closed      bool  // its entry in byEnd, if any, is void
}

// keys decodes the session's key values into dst.
func (s *session) keys(dst []Value) {
	b := []byte(s.key)
	for i := range dst {
		dst[i], b, _ = ReadValue(b)
	}
}

// deadline is when the session closes unless another event arrives.
func (s *session) deadline(gap, maxDuration int64) int64 {
	d := s.last + gap
	if maxDuration > 0 {
		d = min(d, s.start+maxDuration)
	}
	return d
}

func (a *Sessions) init() {
	if a.open != nil {
		return
	}
	a.open = map[string]*session{}
	a.byEnd = sessionHeap{}
	a.time = newWatermark(a.Lateness, a.Idle)
	a.initInput()
	a.orow = make([]Value, len(a.Keys)+2+len(a.Aggs))
	a.schema = NewSchema(append(append(append([]string(nil), SessionColumns...), a.Columns...), "_key")...)
	if a.MaxSessions <= 0 {
		a.MaxSessions = 1_000_000
	}
}

// Schema is the output rows' schema.
func (a *Sessions) Schema() *Schema { a.init(); return a.schema }

func (a *Sessions) Process(batch []*Record, emit Emit) {
	a.init()
	for _, r := range batch {
		a.arrival = max(a.arrival, r.Arrival)
		ts, ok := a.read(r)
		if !ok {
			continue
		}
		a.add(ts)
	}
	if wm, moved := a.time.afterBatch(); moved {
		a.closeUntil(wm)
	}
	a.flush(emit)
}

// flush emits the rows made since the last flush.
func (a *Sessions) flush(emit Emit) {
	if len(a.out) > 0 {
		emit(a.out)
	}
	clear(a.out)
	a.out = a.out[:0]
}

func (a *Sessions) add(ts int64) {
	buf := a.keyBuf[:0]
	for _, v := range a.kv {
		buf = AppendValue(buf, v)
	}
	a.keyBuf = buf
	s := a.open[string(buf)]
	if s != nil && before(ts, s.start, s.last, a.Gap, a.MaxDuration) {
		// Of an earlier session, which gave way to this one: a key has one
		// open session.
		a.Counters.Late.Add(1)
		return
	}
	if s != nil && (ts >= s.last+a.Gap || (a.MaxDuration > 0 && ts >= s.start+a.MaxDuration)) {
		// Past the gap or the longest duration: that session is over even
		// if the watermark has not said so yet.
		a.close(s)
		s = nil
	}
	if s == nil {
		if a.time.closed(ts + a.Gap) {
			a.Counters.Late.Add(1)
			return
		}
		if len(a.open) >= a.MaxSessions {
			a.close(a.byEnd.first(a.Gap, a.MaxDuration))
			a.Counters.Evictions.Add(1)
		}
		s = &session{key: string(buf), first: ts, start: ts, last: ts, aggs: newAggregators(a.Aggs)}
		a.open[s.key] = s
		a.fold(s, ts)
		a.byEnd.push(s, s.deadline(a.Gap, a.MaxDuration))
		a.emitRow(s, "start")
		return
	}
	a.fold(s, ts)
	a.byEnd.requeue(s, s.deadline(a.Gap, a.MaxDuration))
}

// before reports whether an event at ts, earlier than a session's first
// event (start), is too early to join it: the gap or more before start, or
// so early that the session would last MaxDuration (0: unlimited) or more.
func before(ts, start, last, gap, maxDuration int64) bool {
	return ts < start && (ts <= start-gap || (maxDuration > 0 && ts <= last-maxDuration))
}

func (a *Sessions) fold(s *session, ts int64) {
	s.events++
	s.start, s.last = min(s.start, ts), max(s.last, ts)
	a.addArgs(s.aggs)
	a.time.observe(ts)
}

// closeUntil ends every session whose deadline the watermark has passed,
// in deadline then key order: the order byEnd gives them in.
func (a *Sessions) closeUntil(wm int64) {
	for {
		s := a.byEnd.first(a.Gap, a.MaxDuration)
		if s == nil || s.deadline(a.Gap, a.MaxDuration) > wm {
			return
		}
		a.byEnd.pop()
		a.close(s)
	}
}

// close ends one session now; its entry in byEnd stays, void, until it
// comes first.
func (a *Sessions) close(s *session) {
	s.closed = true
	delete(a.open, s.key)
	a.emitRow(s, "end")
}

// emitRow appends a start or end row for s (HAVING applies to both).
func (a *Sessions) emitRow(s *session, event string) {
	nk := len(a.Keys)
	s.keys(a.orow[:nk])
	a.orow[nk], a.orow[nk+1] = Int(s.start), Int(s.last)
	for i, ag := range s.aggs {
		a.orow[nk+2+i] = ag.Result()
	}
	if a.Having != nil && !a.Having(a.orow).Truthy() {
		return
	}
	vals := make([]Value, 0, len(a.schema.Names))
	ended, duration := Null(), Float(0)
	if event == "end" {
		ended, duration = Int(s.last), Float(float64(s.last-s.start)/1000)
	}
	id := sessionID(s.key, s.first)
	vals = append(vals, Str(id), Str(event), Int(s.start), ended, duration, Int(s.events))
	for _, e := range a.Project {
		vals = append(vals, e(a.orow))
	}
	vals = append(vals, Str(id+":"+event))
	a.out = append(a.out, &Record{Arrival: a.arrival, Schema: a.schema, Values: vals})
}

func (a *Sessions) Tick(now int64, emit Emit) {
	a.init()
	if wm, moved := a.time.tick(now); moved {
		a.closeUntil(wm)
		a.flush(emit)
	}
}

func (a *Sessions) Finish(emit Emit) {
	a.init()
	a.time.finish()
	a.closeUntil(a.time.wm)
	a.flush(emit)
}

func (a *Sessions) StateSize() int { return len(a.open) }

// CopyState takes over the open sessions of a statement with the same shape.
func (a *Sessions) CopyState(old Operator) {
	o, ok := old.(*Sessions)
	if !ok || o.open == nil {
		return
	}
	a.init()
	a.open, a.byEnd, a.time, a.arrival = o.open, o.byEnd, o.time, o.arrival
	a.time.lateness, a.time.idle = a.Lateness, a.Idle
	o.open = nil
}

// SessionID is a session's stable id: its key values and first event time.
// Statements that sessionize the same stream the same way agree on it.
func SessionID(keys []Value, start int64) string {
	var buf []byte
	for _, k := range keys {
		buf = AppendValue(buf, k)
	}
	return sessionID(buf, start)
}

// sessionID is SessionID of key values already encoded with AppendValue.
func sessionID[K string | []byte](keys K, start int64) string {
	var scratch [128]byte
	b := AppendValue(append(scratch[:0], keys...), Int(start))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

package operators

// SessionTagger assigns each event of a pass-through statement its
// session id and its sequence number within the session, per key, in
// arrival order: a new session starts after Gap without events in event time
// or once MaxDuration has passed since the session began. Sessions idle for
// longer than Gap behind the watermark are forgotten on Tick.
type SessionTagger struct {
	Keys        []Expr
	EventTime   Expr // nil: arrival time
	Gap         int64
	MaxDuration int64
	Lateness    int64
	MaxSessions int
	Counters    *Counters

	open     map[string]*tag
	keyBuf   []byte
	maxEvent int64
	swept    int64
}

type tag struct {
	id          string
	start, last int64
	seq         int64
}

// init allocates the tagger's state on first use (or on restore).
func (t *SessionTagger) init() {
	if t.open != nil {
		return
	}
	t.open = map[string]*tag{}
	if t.MaxSessions <= 0 {
		t.MaxSessions = 1_000_000
	}
}

// Tag returns the session id and sequence number of the event in row.
func (t *SessionTagger) Tag(r *Record, row []Value) (Value, Value) {
	t.init()
	ts := r.Arrival
	if t.EventTime != nil {
		v, ok := TimeMillis(t.EventTime(row))
		if !ok {
			return Null(), Null()
		}
		ts = v
	}
	t.maxEvent = max(t.maxEvent, ts)
	buf := t.keyBuf[:0]
	for _, k := range t.Keys {
		buf = AppendValue(buf, groupValue(k(row)))
	}
	t.keyBuf = buf
	s := t.open[string(buf)]
	if s != nil && before(ts, s.start, s.last, t.Gap, t.MaxDuration) {
		// Of an earlier session, which gave way to the open one: a session
		// of its own, not kept.
		return Str(sessionID(buf, ts)), Int(1)
	}
	if s != nil && (ts >= s.last+t.Gap || (t.MaxDuration > 0 && ts >= s.start+t.MaxDuration)) {
		s = nil
	}
	if s == nil {
		if len(t.open) >= t.MaxSessions {
			if _, ok := t.open[string(buf)]; !ok {
				t.Counters.Errors.Add(1)
				return Null(), Null()
			}
		}
		s = &tag{id: sessionID(buf, ts), start: ts, last: ts}
		t.open[string(buf)] = s
	}
	s.seq++
	s.start, s.last = min(s.start, ts), max(s.last, ts)
	return Str(s.id), Int(s.seq)
}

// Tick forgets sessions the watermark has left behind, at most once per gap.
func (t *SessionTagger) Tick() {
	wm := t.maxEvent - t.Lateness
	if t.open == nil || wm-t.swept < t.Gap {
		return
	}
	t.swept = wm
	for k, s := range t.open {
		if s.last+t.Gap <= wm {
			delete(t.open, k)
		}
	}
}

// Open is the number of sessions tracked.
func (t *SessionTagger) Open() int { return len(t.open) }

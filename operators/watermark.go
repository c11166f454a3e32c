package operators

import "math"

// watermark tracks event time for one statement: the largest event time
// seen minus the allowed lateness, and — once input has stopped for idle —
// the wall clock carrying event time on, so the last window of a quiet
// stream still closes.
type watermark struct {
	lateness, idle int64
	wm             int64 // windows ending at or before it are closed
	maxEvent       int64
	lastInput      int64 // wall clock of the first tick after input
	sawInput       bool
}

func newWatermark(lateness, idle int64) watermark {
	return watermark{lateness: lateness, idle: idle, wm: math.MinInt64, maxEvent: math.MinInt64}
}

// observe notes an event time.
func (w *watermark) observe(ts int64) {
	w.sawInput = true
	if ts > w.maxEvent {
		w.maxEvent = ts
	}
}

// closed reports whether an interval ending at end is already closed.
func (w *watermark) closed(end int64) bool { return end <= w.wm }

// afterBatch is the watermark once a batch has been processed; ok is false
// when it did not move.
func (w *watermark) afterBatch() (int64, bool) {
	if w.maxEvent == math.MinInt64 {
		return w.wm, false
	}
	return w.advance(w.maxEvent - w.lateness)
}

// tick is the watermark at wall-clock time now.
func (w *watermark) tick(now int64) (int64, bool) {
	if w.sawInput {
		w.lastInput, w.sawInput = now, false
	}
	if w.maxEvent == math.MinInt64 {
		return w.wm, false
	}
	if quiet := now - w.lastInput; quiet >= w.idle {
		return w.advance(w.maxEvent - w.lateness + quiet - w.idle)
	}
	return w.wm, false
}

// finish closes everything.
func (w *watermark) finish() (int64, bool) { return w.advance(math.MaxInt64) }

func (w *watermark) advance(to int64) (int64, bool) {
	if to <= w.wm {
		return w.wm, false
	}
	w.wm = to
	return to, true
}

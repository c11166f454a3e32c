package operators

import (
	"strconv"
	"time"

	"github.com/buger/jsonparser"
)

// Expr is a compiled expression: it reads a statement's working row (the
// fields it extracted, or a group's keys and aggregates) and returns a value.
// Expressions are compiled once per statement, never interpreted per event.
type Expr func(row []Value) Value

// Extractor copies the fields a statement references out of a record into
// the slots of its working row, in one pass over the JSON. Fields a record
// carries as named Values are resolved through its Schema, once per schema.
// An Extractor belongs to one statement goroutine.
type Extractor struct {
	paths  [][]string
	schema *Schema // the last overlay schema seen
	idx    []int   // per path: position of its first segment in schema, or -1
	dst    []Value // target of the jsonparser callback
	each   func(int, []byte, jsonparser.ValueType, error)
}

// NewExtractor extracts each path into the slot of the same index.
func NewExtractor(paths [][]string) *Extractor {
	x := &Extractor{paths: paths, idx: make([]int, len(paths))}
	for i := range x.idx {
		x.idx[i] = -1
	}
	x.each = func(i int, b []byte, t jsonparser.ValueType, err error) {
		if err == nil && x.idx[i] < 0 {
			x.dst[i] = FromJSON(b, t)
		}
	}
	return x
}

// Len is the number of slots the extractor fills.
func (x *Extractor) Len() int { return len(x.paths) }

// Extract fills dst[:Len()] from r; missing fields are NULL.
func (x *Extractor) Extract(r *Record, dst []Value) {
	for i := range x.paths {
		dst[i] = Value{}
	}
	if r.Schema != x.schema {
		x.schema = r.Schema
		for i, p := range x.paths {
			x.idx[i] = r.Schema.Index(p[0])
		}
	}
	needRaw := false
	for i, p := range x.paths {
		j := x.idx[i]
		if j < 0 {
			if len(p) == 1 && p[0] == ArrivalField {
				dst[i] = Int(r.Arrival)
				continue
			}
			needRaw = true
			continue
		}
		v := r.Values[j]
		if len(p) > 1 {
			if v.Kind == KindJSON {
				v = jsonLookup([]byte(v.S), p[1:])
			} else {
				v = Value{}
			}
		}
		dst[i] = v
	}
	if needRaw && r.Raw != nil {
		x.dst = dst
		jsonparser.EachKey(r.Raw, x.each, x.paths...)
		x.dst = nil
	}
}

// ArrivalField names a record's arrival time (epoch ms) when the record has
// no field of that name itself.
const ArrivalField = "_arrival"

// TimeMillis reads an event time: epoch milliseconds as a number, or an
// RFC 3339 string.
func TimeMillis(v Value) (int64, bool) {
	switch v.Kind {
	case KindInt:
		return v.I, true
	case KindFloat:
		return int64(v.F), true
	case KindString:
		if t, err := time.Parse(time.RFC3339Nano, v.S); err == nil {
			return t.UnixMilli(), true
		}
		if i, err := strconv.ParseInt(v.S, 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

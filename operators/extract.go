package operators

import (
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
	idx    []int   // per path: position of its first segment in schema, inJSON or atArrival
	found  []bool  // scratch: slots filled from the JSON
	layout *Layout // the last indexed layout seen
	pos    []int   // per path: its member in layout, or -1
	// seen keeps pos for every layout met so far (at most maxLayouts, as
	// a stream interns), so that events of a few layouts arriving mixed
	// do not resolve their paths again each time.
	seen map[*Layout][]int
}

// Where a path's value comes from, when not from a named value.
const (
	inJSON    = -1 // the record's JSON
	atArrival = -2 // the record's arrival time: _arrival, never the JSON's
)

// NewExtractor extracts each path into the slot of the same index.
func NewExtractor(paths [][]string) *Extractor {
	x := &Extractor{paths: paths, idx: make([]int, len(paths))}
	x.resolve(nil)
	return x
}

// resolve finds where each path's value comes from in records of schema.
func (x *Extractor) resolve(schema *Schema) {
	x.schema = schema
	for i, p := range x.paths {
		x.idx[i] = schema.Index(p[0])
		if x.idx[i] < 0 && len(p) == 1 && p[0] == ArrivalField {
			x.idx[i] = atArrival
		}
	}
}

// Len is the number of slots the extractor fills.
func (x *Extractor) Len() int { return len(x.paths) }

// Extract fills dst[:Len()] from r; missing fields are NULL.
func (x *Extractor) Extract(r *Record, dst []Value) {
	for i := range x.paths {
		dst[i] = Value{}
	}
	if r.Schema != x.schema {
		x.resolve(r.Schema)
	}
	needRaw := false
	for i, p := range x.paths {
		j := x.idx[i]
		switch j {
		case atArrival:
			dst[i] = Int(r.Arrival)
			continue
		case inJSON:
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
		x.fromRaw(r.Raw, r.Index, dst)
	}
}

// fromRaw fills the slots not found among the record's named values from
// its JSON, in one pass that stops once every slot is filled. A field
// repeated in the JSON takes its first value.
func (x *Extractor) fromRaw(raw []byte, ix *RawIndex, dst []Value) {
	var m member
	if ix != nil && ix.layout == nil {
		for i, p := range x.paths {
			if x.idx[i] != inJSON {
				continue
			}
			if j := ix.find(raw, p[0]); j >= 0 {
				ix.fill(raw, j, &m)
				dst[i] = x.value(&m, p)
			}
		}
		return
	}
	if ix != nil {
		if ix.layout != x.layout {
			x.layout = ix.layout
			x.pos = x.seen[ix.layout]
			if x.pos == nil {
				x.pos = make([]int, len(x.paths))
				for i, p := range x.paths {
					x.pos[i] = ix.layout.pos(p[0])
				}
				if x.seen == nil {
					x.seen = map[*Layout][]int{}
				}
				x.seen[ix.layout] = x.pos
			}
		}
		for i, p := range x.paths {
			if x.idx[i] != inJSON || x.pos[i] < 0 {
				continue
			}
			ix.fill(raw, x.pos[i], &m)
			dst[i] = x.value(&m, p)
		}
		return
	}
	var s scanner
	if s.start(raw) != nil {
		return
	}
	missing := 0
	for i := range x.paths {
		if x.idx[i] == inJSON {
			missing++
		}
	}
	found := x.found[:0]
	for range x.paths {
		found = append(found, false)
	}
	x.found = found
	for missing > 0 {
		ok, err := s.next(&m)
		if !ok || err != nil {
			return
		}
		key := m.key
		if m.escaped {
			k, err := jsonparser.ParseString(key)
			if err != nil {
				continue
			}
			key = []byte(k)
		}
		for i, p := range x.paths {
			if x.idx[i] != inJSON || found[i] || p[0] != string(key) {
				continue
			}
			found[i] = true
			missing--
			dst[i] = x.value(&m, p)
		}
	}
}

// ArrivalField names a record's arrival time (epoch ms). A statement's
// output column of that name takes its place; a member of the event's JSON
// does not, so a client cannot set the time sluice received its event.
const ArrivalField = "_arrival"

// value is a member's value at the end of path (nested paths go inside it).
func (x *Extractor) value(m *member, p []string) Value {
	if len(p) == 1 {
		return memberValue(m)
	}
	if m.typ == jsonparser.Object {
		return jsonLookup(m.val, p[1:])
	}
	return Value{}
}

package operators

import "github.com/buger/jsonparser"

// RawIndex records where each top-level member of a record's JSON sits, so
// that the many statements reading one event (and the chained statements
// reading what SELECT *, … makes of it) find their fields without scanning
// the JSON again. A stream indexes each record once, before any statement
// sees it; records are immutable after that.
type RawIndex struct {
	members []rawMember
	layout  *Layout
}

type rawMember struct {
	key, val [2]uint32 // offsets into Raw: start, end
	typ      uint8     // a jsonparser.ValueType
}

// Layout is the sequence of a record's top-level keys. The events of one
// producer share a few layouts, and a stream hands the same *Layout to
// every record with those keys in that order, so that a statement finds
// where its fields are once per layout rather than once per record.
type Layout struct {
	keys []string
}

// pos is where key first appears, or -1.
func (l *Layout) pos(key string) int {
	for i, k := range l.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// Layouts interns the layouts of one stream's records. It belongs to the
// goroutine that indexes them.
type Layouts struct {
	recent [layoutsKept]*Layout // most recently used first
}

// layoutsKept bounds the layouts a stream remembers: a few producers with
// different field orders, or optional fields, each keep theirs.
const layoutsKept = 8

// get is the interned layout of ix's keys in raw.
func (ls *Layouts) get(raw []byte, members []rawMember) *Layout {
	for i, l := range ls.recent {
		if l == nil {
			break
		}
		if l.matches(raw, members) {
			copy(ls.recent[1:i+1], ls.recent[:i])
			ls.recent[0] = l
			return l
		}
	}
	l := newLayout(raw, members)
	copy(ls.recent[1:], ls.recent[:layoutsKept-1])
	ls.recent[0] = l
	return l
}

func newLayout(raw []byte, members []rawMember) *Layout {
	l := &Layout{keys: make([]string, len(members))}
	for i, m := range members {
		l.keys[i] = string(raw[m.key[0]:m.key[1]])
	}
	return l
}

func (l *Layout) matches(raw []byte, members []rawMember) bool {
	if len(l.keys) != len(members) {
		return false
	}
	for i, m := range members {
		if string(raw[m.key[0]:m.key[1]]) != l.keys[i] {
			return false
		}
	}
	return true
}

// IndexRaw indexes a JSON object's top-level members, interning its
// layout in ls (nil: a layout of its own). It returns nil for malformed
// JSON or keys with escapes (statements then scan as before).
func IndexRaw(raw []byte, ls *Layouts) *RawIndex {
	var s scanner
	var m member
	if s.start(raw) != nil {
		return nil
	}
	ix := &RawIndex{members: make([]rawMember, 0, 16)}
	for {
		ok, err := s.next(&m)
		if err != nil || m.escaped {
			return nil
		}
		if !ok {
			break
		}
		k, v := m.kOff, m.vOff
		ix.members = append(ix.members, rawMember{
			key: [2]uint32{uint32(k), uint32(k + len(m.key))},
			val: [2]uint32{uint32(v), uint32(v + len(m.val))},
			typ: uint8(m.typ),
		})
	}
	if ls == nil {
		ix.layout = newLayout(raw, ix.members)
	} else {
		ix.layout = ls.get(raw, ix.members)
	}
	return ix
}

func (ix *RawIndex) fill(raw []byte, i int, m *member) {
	x := &ix.members[i]
	m.key, m.val, m.typ, m.escaped = raw[x.key[0]:x.key[1]], raw[x.val[0]:x.val[1]], jsonparser.ValueType(x.typ), false
}

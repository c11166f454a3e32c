package operators

import "github.com/buger/jsonparser"

// RawIndex records where each top-level member of a record's JSON sits, so
// that the many statements reading one event (and the chained statements
// reading what SELECT *, … makes of it) find their fields without scanning
// the JSON again. A stream indexes each record once, before any statement
// sees it; records are immutable after that.
type RawIndex struct {
	vals   []rawValue  // per member, in order
	layout *Layout     // the members' keys; nil for a stream of too many shapes
	keys   [][2]uint32 // the keys' offsets into Raw, when there is no layout
}

// rawValue is where a member's value sits in Raw and its JSON type. The
// keys are the layout's, shared by the records of that shape. What every
// statement reading the member would work out again is worked out here,
// once: whether a string needs unescaping, and an integer's value.
type rawValue struct {
	off     [2]uint32 // start, end
	typ     uint8     // a jsonparser.ValueType
	escaped bool      // a string with a backslash
	isInt   bool      // num holds the value
	num     int64
}

// rawMember is a member as the scan finds it.
type rawMember struct {
	key, val [2]uint32 // offsets into Raw: start, end
	typ      uint8     // a jsonparser.ValueType
	escaped  bool      // a string value with a backslash
}

// Layout is the sequence of a record's top-level keys. The events of one
// producer share a few layouts, and a stream hands the same *Layout to
// every record with those keys in that order, so that a statement finds
// where its fields are once per layout rather than once per record.
type Layout struct {
	keys string   // the keys, one after the other
	ends []uint32 // where each key ends in keys
	next *Layout  // another layout with the same fingerprint
}

func (l *Layout) key(i int) string {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.keys[start:l.ends[i]]
}

// pos is where key first appears, or -1.
func (l *Layout) pos(key string) int {
	for i := range l.ends {
		if l.key(i) == key {
			return i
		}
	}
	return -1
}

func newLayout(raw []byte, members []rawMember) *Layout {
	var b []byte
	l := &Layout{ends: make([]uint32, len(members))}
	for i, m := range members {
		b = append(b, raw[m.key[0]:m.key[1]]...)
		l.ends[i] = uint32(len(b))
	}
	l.keys = string(b)
	return l
}

func (l *Layout) matches(raw []byte, members []rawMember) bool {
	if len(l.ends) != len(members) {
		return false
	}
	for i, m := range members {
		if string(raw[m.key[0]:m.key[1]]) != l.key(i) {
			return false
		}
	}
	return true
}

// Layouts interns the layouts of one stream's records. It belongs to the
// goroutine that indexes them.
type Layouts struct {
	last    *Layout
	byHash  map[uint64]*Layout
	n       int
	members []rawMember // scratch for IndexRaw
}

// maxLayouts bounds the layouts a stream interns. Records of a stream with
// more shapes than that (keys in ever new orders) get none, and statements
// look their fields up by name.
const maxLayouts = 4096

// get is the interned layout of the keys of members, or nil.
func (ls *Layouts) get(raw []byte, members []rawMember) *Layout {
	if l := ls.last; l != nil && l.matches(raw, members) {
		return l
	}
	h := uint64(14695981039346656037) // FNV-1a over the keys and their lengths
	for _, m := range members {
		for _, c := range raw[m.key[0]:m.key[1]] {
			h = (h ^ uint64(c)) * 1099511628211
		}
		h = (h ^ uint64(m.key[1]-m.key[0])) * 1099511628211
	}
	for l := ls.byHash[h]; l != nil; l = l.next {
		if l.matches(raw, members) {
			ls.last = l
			return l
		}
	}
	if ls.n >= maxLayouts {
		return nil
	}
	if ls.byHash == nil {
		ls.byHash = map[uint64]*Layout{}
	}
	l := newLayout(raw, members)
	l.next, ls.byHash[h] = ls.byHash[h], l
	ls.n++
	ls.last = l
	return l
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
	var members []rawMember
	if ls != nil {
		members = ls.members[:0]
	}
	for {
		ok, err := s.next(&m)
		if err != nil || m.escaped {
			return nil
		}
		if !ok {
			break
		}
		k, v := m.kOff, m.vOff
		members = append(members, rawMember{
			key: [2]uint32{uint32(k), uint32(k + len(m.key))},
			val: [2]uint32{uint32(v), uint32(v + len(m.val))},
			typ: uint8(m.typ), escaped: m.valEscaped,
		})
	}
	ix := &RawIndex{vals: make([]rawValue, len(members))}
	for i, x := range members {
		ix.vals[i] = rawValue{off: x.val, typ: x.typ, escaped: x.escaped}
		if x.typ == uint8(jsonparser.Number) {
			ix.vals[i].num, ix.vals[i].isInt = parseInt(raw[x.val[0]:x.val[1]])
		}
	}
	if ls == nil {
		ix.layout = newLayout(raw, members)
		return ix
	}
	ls.members = members
	if ix.layout = ls.get(raw, members); ix.layout == nil {
		ix.keys = make([][2]uint32, len(members))
		for i, x := range members {
			ix.keys[i] = x.key
		}
	}
	return ix
}

// find is the first member named key, or -1: the lookup of records
// without a layout.
func (ix *RawIndex) find(raw []byte, key string) int {
	for i, k := range ix.keys {
		if string(raw[k[0]:k[1]]) == key {
			return i
		}
	}
	return -1
}

// fill sets m to member i's value (its key is left out: the index path
// reads values only).
func (ix *RawIndex) fill(raw []byte, i int, m *member) {
	x := &ix.vals[i]
	m.key, m.val, m.typ, m.escaped = nil, raw[x.off[0]:x.off[1]], jsonparser.ValueType(x.typ), false
	m.valEscaped, m.isInt, m.num = x.escaped, x.isInt, x.num
}

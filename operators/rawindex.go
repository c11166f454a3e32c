package operators

import "github.com/buger/jsonparser"

// RawIndex records where each top-level member of a record's JSON sits, so
// that the many statements reading one event (and the chained statements
// reading what SELECT *, … makes of it) find their fields without scanning
// the JSON again. A stream indexes each record once, before any statement
// sees it; records are immutable after that.
type RawIndex struct {
	members []rawMember
	dups    bool // some key appears twice
}

type rawMember struct {
	key, val [2]uint32 // offsets into Raw: start, end
	typ      uint8     // a jsonparser.ValueType
}

// IndexRaw indexes a JSON object's top-level members. It returns nil for
// malformed JSON or keys with escapes (statements then scan as before).
func IndexRaw(raw []byte) *RawIndex {
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
			return ix
		}
		k, v := m.kOff, m.vOff
		if !ix.dups {
			for i := range ix.members {
				if ix.is(raw, i, string(m.key)) {
					ix.dups = true
				}
			}
		}
		ix.members = append(ix.members, rawMember{
			key: [2]uint32{uint32(k), uint32(k + len(m.key))},
			val: [2]uint32{uint32(v), uint32(v + len(m.val))},
			typ: uint8(m.typ),
		})
	}
}

// lookup finds a member by key; the first of duplicates wins, as in a scan.
// hint is where the key was in the last record: events of one producer
// keep their keys in one order, so it is usually right at once.
func (ix *RawIndex) lookup(raw []byte, key string, hint *int, m *member) bool {
	if h := *hint; h < len(ix.members) && ix.is(raw, h, key) && !ix.earlier(raw, h, key) {
		ix.fill(raw, h, m)
		return true
	}
	for i := range ix.members {
		if ix.is(raw, i, key) {
			*hint = i
			ix.fill(raw, i, m)
			return true
		}
	}
	return false
}

func (ix *RawIndex) is(raw []byte, i int, key string) bool {
	x := &ix.members[i]
	return int(x.key[1]-x.key[0]) == len(key) && string(raw[x.key[0]:x.key[1]]) == key
}

// earlier reports a duplicate of key before member i (rare; keeps "first wins").
func (ix *RawIndex) earlier(raw []byte, i int, key string) bool {
	if !ix.dups {
		return false
	}
	for j := 0; j < i; j++ {
		if ix.is(raw, j, key) {
			return true
		}
	}
	return false
}

func (ix *RawIndex) fill(raw []byte, i int, m *member) {
	x := &ix.members[i]
	m.key, m.val, m.typ, m.escaped = raw[x.key[0]:x.key[1]], raw[x.val[0]:x.val[1]], jsonparser.ValueType(x.typ), false
}

package functions

// hashSet is a set of 64-bit hashes, open-addressed with linear probing.
// The members are already well-mixed hashes, so their low bits pick the
// slot; an empty slot holds 0 and the hash 0 is kept aside. For the exact
// phase of COUNT_DISTINCT it costs a fraction of a Go map per insert.
type hashSet struct {
	slots []uint64 // len is a power of two, at most half full
	n     int
	zero  bool
}

// add inserts h.
func (s *hashSet) add(h uint64) {
	if h == 0 {
		if !s.zero {
			s.zero = true
			s.n++
		}
		return
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(2*len(old), 64))
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}

// len is the number of members.
func (s *hashSet) len() int { return s.n }

// each calls fn with every member.
func (s *hashSet) each(fn func(uint64)) {
	if s.zero {
		fn(0)
	}
	for _, h := range s.slots {
		if h != 0 {
			fn(h)
		}
	}
}

package functions

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sluice/operators"
)

const (
	maxTopK = 1000
	// topKSlack is c in the O(k·c) memory bound: TOPK(x, k) tracks at most
	// c·k distinct values.
	topKSlack = 10
)

func init() {
	operators.RegisterAggregate(operators.AggregateFunc{
		Name: "TOPK", Params: 1,
		Doc: "TOPK(x, k): the k most frequent values of x as JSON [{\"value\":\"…\",\"count\":N},…], by count " +
			"descending then value; exact while x has at most 10·k distinct values, then space-saving " +
			"(counts may be overestimated by at most the smallest tracked count)",
		New: func(params []operators.Value) (operators.AggregatorFactory, error) {
			k := params[0]
			if k.Kind != operators.KindInt || k.I < 1 || k.I > maxTopK {
				return nil, fmt.Errorf("k must be an integer in [1, %d], got %s", maxTopK, k)
			}
			return func(dst []operators.Aggregator) { operators.Fill(dst, topK{k: int(k.I)}) }, nil
		},
	})
}

type counter struct {
	value string
	count uint64
}

// topK is the space-saving algorithm (Metwally et al.) over a min-heap of
// counters: a value not tracked while the heap is full replaces the
// least-counted one and inherits its count plus one.
type topK struct {
	k     int
	heap  []counter
	index map[string]int // value → position in heap
}

func (t *topK) capacity() int { return t.k * topKSlack }

// Reset drops the values and the index, which a busy group grew to k×10
// entries; the next group most likely counts far fewer.
func (t *topK) Reset() {
	clear(t.heap)
	t.heap, t.index = t.heap[:0], nil
}

func (t *topK) Add(v operators.Value) {
	switch v.Kind {
	case operators.KindNull:
	case operators.KindString, operators.KindJSON:
		if i, ok := t.index[v.S]; ok {
			t.bump(i)
		} else {
			// Clone: the value may point into a large event buffer.
			t.insert(strings.Clone(v.S))
		}
	default:
		var scratch [32]byte
		b := v.AppendText(scratch[:0])
		if i, ok := t.index[string(b)]; ok {
			t.bump(i)
		} else {
			t.insert(string(b))
		}
	}
}

func (t *topK) bump(i int) {
	t.heap[i].count++
	t.down(i)
}

// insert starts counting key, evicting the least-counted value when full.
func (t *topK) insert(key string) {
	if t.index == nil {
		t.index = map[string]int{}
	}
	if len(t.heap) < t.capacity() {
		t.heap = append(t.heap, counter{key, 1})
		t.index[key] = len(t.heap) - 1
		t.up(len(t.heap) - 1)
		return
	}
	delete(t.index, t.heap[0].value)
	t.heap[0] = counter{key, t.heap[0].count + 1}
	t.index[key] = 0
	t.down(0)
}

func (t *topK) less(i, j int) bool { return t.heap[i].count < t.heap[j].count }

func (t *topK) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.index[t.heap[i].value] = i
	t.index[t.heap[j].value] = j
}

func (t *topK) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !t.less(i, parent) {
			return
		}
		t.swap(i, parent)
		i = parent
	}
}

func (t *topK) down(i int) {
	for {
		smallest := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(t.heap) && t.less(c, smallest) {
				smallest = c
			}
		}
		if smallest == i {
			return
		}
		t.swap(i, smallest)
		i = smallest
	}
}

func (t *topK) Result() operators.Value {
	top := slices.Clone(t.heap)
	slices.SortFunc(top, func(a, b counter) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	top = top[:min(len(top), t.k)]
	b := []byte{'['}
	for i, c := range top {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = operators.AppendJSONString(b, c.value)
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, c.count, 10)
		b = append(b, '}')
	}
	return operators.RawJSON(string(append(b, ']')))
}

// The state is k, the number of counters, then each counter as its value's
// length, the value and the count, all uvarints but the value bytes.
func (t *topK) MarshalBinary() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(t.k))
	b = binary.AppendUvarint(b, uint64(len(t.heap)))
	for _, c := range t.heap {
		b = binary.AppendUvarint(b, uint64(len(c.value)))
		b = append(b, c.value...)
		b = binary.AppendUvarint(b, c.count)
	}
	return b, nil
}

var errTopKState = errors.New("topk state: truncated or inconsistent")

func (t *topK) UnmarshalBinary(b []byte) error {
	k, n := binary.Uvarint(b)
	if n <= 0 || k < 1 || k > maxTopK {
		return errTopKState
	}
	b = b[n:]
	size, n := binary.Uvarint(b)
	if n <= 0 || size > k*topKSlack {
		return errTopKState
	}
	b = b[n:]
	restored := &topK{k: int(k), index: make(map[string]int, size)}
	for range size {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errTopKState
		}
		value := string(b[n : n+int(l)])
		b = b[n+int(l):]
		count, n := binary.Uvarint(b)
		if n <= 0 {
			return errTopKState
		}
		b = b[n:]
		if _, dup := restored.index[value]; dup {
			return errTopKState
		}
		restored.heap = append(restored.heap, counter{value, count})
		restored.index[value] = len(restored.heap) - 1
		restored.up(len(restored.heap) - 1)
	}
	if len(b) != 0 {
		return errTopKState
	}
	*t = *restored
	return nil
}

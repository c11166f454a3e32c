package functions

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/axiomhq/hyperloglog"
	"github.com/cespare/xxhash/v2"

	"sluice/operators"
)

func init() {
	operators.RegisterAggregate(operators.AggregateFunc{
		Name: "COUNT_DISTINCT",
		Doc: "COUNT_DISTINCT(x), written COUNT(DISTINCT x): number of distinct non-NULL x; exact up to 1,024, " +
			"then a HyperLogLog estimate (precision 14: 0.81% standard error). " +
			"Values are compared by their text, so 5, 5.0 and '5' are one value",
		New: func([]operators.Value) (operators.AggregatorFactory, error) {
			return func(dst []operators.Aggregator) { operators.Fill(dst, countDistinct{}) }, nil
		},
	})
}

// exactDistinct is how many distinct hashes a COUNT_DISTINCT keeps before
// it moves them into a dense HyperLogLog sketch (16 KiB). The library's own
// sparse form would be smaller but rebuilds a sorted list every ~160 inserts
// of repeated values, some 300-600 ns per Add; a set of hashes costs a probe
// or two and answers exactly while it is small.
const exactDistinct = 1024

// fewDistinct hashes are kept in a slice rather than a set: most groups
// (a session's pages, a small CUBE cell) see only a handful of values, and
// a short slice is a fraction of a set's size and as fast to scan.
const fewDistinct = 32

// countDistinct counts the 64-bit hashes of values' text: exactly while
// there are few, then with a dense HyperLogLog sketch.
type countDistinct struct {
	few  []uint64
	many *hashSet
	sk   *hyperloglog.Sketch
	// small holds the first hashes: most groups of a CUBE see one or two.
	small [2]uint64
}

func (c *countDistinct) Reset() { c.few, c.many, c.sk = nil, nil, nil }

func (c *countDistinct) Add(v operators.Value) {
	switch v.Kind {
	case operators.KindNull:
		return
	case operators.KindString, operators.KindJSON:
		c.addHash(xxhash.Sum64String(v.S))
	default:
		var scratch [32]byte
		c.addHash(xxhash.Sum64(v.AppendText(scratch[:0])))
	}
}

func (c *countDistinct) addHash(h uint64) {
	switch {
	case c.sk != nil:
		c.sk.InsertHash(h)
	case c.many != nil:
		c.many.add(h)
		if c.many.len() > exactDistinct {
			c.sk = hyperloglog.NewNoSparse()
			c.many.each(func(h uint64) { c.sk.InsertHash(h) })
			c.many = nil
		}
	case !slices.Contains(c.few, h):
		if c.few == nil {
			c.few = c.small[:0]
		}
		c.few = append(c.few, h)
		if len(c.few) > fewDistinct {
			c.many = &hashSet{}
			for _, h := range c.few {
				c.many.add(h)
			}
			c.few = nil
		}
	}
}

func (c *countDistinct) Result() operators.Value {
	if c.sk != nil {
		return operators.Int(int64(c.sk.Estimate()))
	}
	n := len(c.few)
	if c.many != nil {
		n += c.many.len()
	}
	return operators.Int(int64(n))
}

// The state is a tag byte, then the exact hashes as little-endian uint64s
// or the sketch's own binary form.
const (
	distinctExact  = 1
	distinctSketch = 2
)

func (c *countDistinct) MarshalBinary() ([]byte, error) {
	if c.sk != nil {
		state, err := c.sk.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("count_distinct sketch: %w", err)
		}
		return append([]byte{distinctSketch}, state...), nil
	}
	b := make([]byte, 1, 1+8*c.Result().I)
	b[0] = distinctExact
	for _, h := range c.few {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	if c.many != nil {
		c.many.each(func(h uint64) { b = binary.LittleEndian.AppendUint64(b, h) })
	}
	return b, nil
}

var errDistinctState = errors.New("count_distinct state: bad length or tag")

func (c *countDistinct) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errDistinctState
	}
	switch body := b[1:]; {
	case b[0] == distinctExact && len(body)%8 == 0 && len(body)/8 <= exactDistinct:
		*c = countDistinct{}
		for i := 0; i < len(body); i += 8 {
			c.addHash(binary.LittleEndian.Uint64(body[i:]))
		}
	case b[0] == distinctSketch:
		sk := hyperloglog.NewNoSparse()
		if err := sk.UnmarshalBinary(body); err != nil {
			return fmt.Errorf("count_distinct sketch: %w", err)
		}
		*c = countDistinct{sk: sk}
	default:
		return errDistinctState
	}
	return nil
}

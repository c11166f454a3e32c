package functions

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

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
		New: func([]operators.Value) (func() operators.Aggregator, error) {
			return func() operators.Aggregator { return &countDistinct{} }, nil
		},
	})
}

// exactDistinct is how many distinct hashes a COUNT_DISTINCT keeps before
// it moves them into a dense HyperLogLog sketch (16 KiB). The library's own
// sparse form would be smaller but rebuilds a sorted list every ~160 inserts
// of repeated values, some 300-600 ns per Add; a set of hashes costs a map
// lookup and answers exactly while it is small.
const exactDistinct = 1024

// countDistinct counts the 64-bit hashes of values' text: exactly in a set
// while there are few, then with a dense HyperLogLog sketch.
type countDistinct struct {
	exact map[uint64]struct{}
	sk    *hyperloglog.Sketch
}

func (c *countDistinct) Add(v operators.Value) {
	var h uint64
	var scratch [32]byte
	switch v.Kind {
	case operators.KindNull:
		return
	case operators.KindString, operators.KindJSON:
		h = xxhash.Sum64String(v.S)
	case operators.KindInt:
		h = xxhash.Sum64(strconv.AppendInt(scratch[:0], v.I, 10))
	case operators.KindFloat:
		h = xxhash.Sum64(strconv.AppendFloat(scratch[:0], v.F, 'f', -1, 64))
	case operators.KindBool:
		h = xxhash.Sum64(strconv.AppendBool(scratch[:0], v.I != 0))
	}
	c.addHash(h)
}

func (c *countDistinct) addHash(h uint64) {
	if c.sk != nil {
		c.sk.InsertHash(h)
		return
	}
	if c.exact == nil {
		c.exact = map[uint64]struct{}{}
	}
	c.exact[h] = struct{}{}
	if len(c.exact) > exactDistinct {
		c.sk = hyperloglog.NewNoSparse()
		for h := range c.exact {
			c.sk.InsertHash(h)
		}
		c.exact = nil
	}
}

func (c *countDistinct) Result() operators.Value {
	if c.sk != nil {
		return operators.Int(int64(c.sk.Estimate()))
	}
	return operators.Int(int64(len(c.exact)))
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
	b := make([]byte, 1, 1+8*len(c.exact))
	b[0] = distinctExact
	for h := range c.exact {
		b = binary.LittleEndian.AppendUint64(b, h)
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

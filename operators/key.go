package operators

import (
	"encoding/binary"
	"math"
)

// appendKey appends an order-preserving encoding of v: comparing two
// encodings byte by byte orders them NULL first, then booleans, then numbers
// (ints and floats by value), then strings, then JSON — so groups sort with
// one bytes comparison. Distinct values never share an encoding.
func appendKey(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindNull:
		return append(dst, 1)
	case KindBool:
		return append(dst, 2, byte(v.I))
	case KindInt:
		dst = appendOrderedFloat(append(dst, 3), float64(v.I))
		// The exact integer breaks ties between ints a float64 cannot tell apart.
		return binary.BigEndian.AppendUint64(append(dst, 0), uint64(v.I)^(1<<63))
	case KindFloat:
		return append(appendOrderedFloat(append(dst, 3), v.Float64()), 1)
	case KindString:
		return appendEscaped(append(dst, 4), v.S)
	}
	return appendEscaped(append(dst, 5), v.S)
}

// groupValue is v as a group key. SQL groups equal numbers together, so a
// float holding an integer becomes that integer (-0.0 becomes 0): 1, 1.0
// and 1e0 then share one group, one session and one _key, whichever key
// encoding reads them. Up to 2^53 a float's integers are all exact.
func groupValue(v Value) Value {
	if v.Kind != KindFloat {
		return v
	}
	if f := v.Float64(); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return Int(int64(f))
	}
	return v
}

// appendOrderedFloat writes f so that unsigned byte order is numeric order.
func appendOrderedFloat(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// appendEscaped writes s with 0x00 escaped as 0x00 0xFF and ends it with
// 0x00 0x00, so that a string sorts before any longer one it prefixes.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, 0, 0)
}

// appendSetKey is a group's map key: its grouping set, then its key values.
func appendSetKey(dst []byte, set int, keys []Value, members []int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(set))
	for _, k := range members {
		dst = appendKey(dst, keys[k])
	}
	return dst
}

package operators

import (
	"encoding/binary"
	"errors"
)

// The state codec: a compact binary form of Values for aggregator and
// window state in checkpoints and hot replacement.

var errShortState = errors.New("state: truncated")

// AppendValue appends v's binary form.
func AppendValue(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case KindBool, KindInt:
		dst = binary.AppendVarint(dst, v.I)
	case KindFloat:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.I))
	case KindString, KindJSON:
		dst = binary.AppendUvarint(dst, uint64(len(v.S)))
		dst = append(dst, v.S...)
	}
	return dst
}

// ReadValue decodes one Value and returns the rest of b.
func ReadValue(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, errShortState
	}
	v := Value{Kind: Kind(b[0])}
	b = b[1:]
	switch v.Kind {
	case KindNull:
	case KindBool, KindInt:
		i, n := binary.Varint(b)
		if n <= 0 {
			return v, nil, errShortState
		}
		v.I, b = i, b[n:]
	case KindFloat:
		if len(b) < 8 {
			return v, nil, errShortState
		}
		v.I, b = int64(binary.LittleEndian.Uint64(b)), b[8:]
	case KindString, KindJSON:
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return v, nil, errShortState
		}
		v.S, b = string(b[n:n+int(l)]), b[n+int(l):]
	default:
		return v, nil, errors.New("state: unknown value kind")
	}
	return v, b, nil
}

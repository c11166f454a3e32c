package operators

import (
	"strconv"
	"sync"

	"github.com/buger/jsonparser"
)

// Schema names the Values of records a statement emits. One Schema is shared
// by every record of that output, so lookups by name can be resolved once.
type Schema struct {
	Names []string
	index map[string]int
}

// NewSchema builds a schema over names (which must be distinct).
func NewSchema(names ...string) *Schema {
	s := &Schema{Names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		s.index[n] = i
	}
	return s
}

// Index is the position of name, or -1.
func (s *Schema) Index(name string) int {
	if s == nil {
		return -1
	}
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// Record is one event or output row. Events from ingest carry their JSON
// object in Raw; statement outputs carry named Values. A record may have both
// (SELECT *, extra FROM s): named Values then override fields of Raw.
// Records are immutable once emitted, so one record is shared by every
// statement that reads its stream.
type Record struct {
	Arrival int64   // milliseconds since the epoch when sluice received it
	Raw     []byte  // a JSON object, or nil
	Schema  *Schema // names of Values
	Values  []Value
	// Index locates Raw's top-level members; set by the stream before any
	// statement reads the record, and carried over with Raw.
	Index *RawIndex
}

// Get looks a field up by path (nested objects). It is the slow, general
// path; compiled statements resolve their fields once (see Extractor).
func (r *Record) Get(path ...string) Value {
	if len(path) == 0 {
		return Null()
	}
	if i := r.Schema.Index(path[0]); i >= 0 {
		v := r.Values[i]
		if len(path) == 1 {
			return v
		}
		if v.Kind != KindJSON {
			return Null()
		}
		return jsonLookup([]byte(v.S), path[1:])
	}
	if r.Raw == nil {
		return Null()
	}
	return jsonLookup(r.Raw, path)
}

func jsonLookup(raw []byte, path []string) Value {
	b, t, _, err := jsonparser.Get(raw, path...)
	if err != nil {
		return Null()
	}
	return FromJSON(b, t)
}

// FromJSON converts a value found by jsonparser into a Value. Whole numbers
// become KindInt; strings are unescaped.
func FromJSON(b []byte, t jsonparser.ValueType) Value {
	switch t {
	case jsonparser.String:
		if s, err := jsonparser.ParseString(b); err == nil {
			return Str(s)
		}
		return Str(string(b))
	case jsonparser.Number:
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return Int(i)
		}
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return Float(f)
		}
		return Null()
	case jsonparser.Boolean:
		return Bool(len(b) == 4)
	case jsonparser.Object, jsonparser.Array:
		return RawJSON(string(b))
	}
	return Null()
}

// AppendJSON appends the record as one JSON object.
func (r *Record) AppendJSON(dst []byte) []byte {
	if r.Schema == nil || len(r.Values) == 0 {
		if r.Raw == nil {
			return append(dst, "{}"...)
		}
		return append(dst, r.Raw...)
	}
	dst = append(dst, '{')
	n := 0
	// Raw fields first, skipping any that a named Value overrides.
	if ix := r.Index; ix != nil {
		// The stream's index: no second scan of Raw.
		for i := range ix.vals {
			x := &ix.vals[i]
			v, t := r.Raw[x.off[0]:x.off[1]], jsonparser.ValueType(x.typ)
			if ix.layout != nil {
				dst = appendRawMember(dst, &n, r.Schema, ix.layout.key(i), v, t)
			} else {
				k := ix.keys[i]
				dst = appendRawMember(dst, &n, r.Schema, r.Raw[k[0]:k[1]], v, t)
			}
		}
	} else if r.Raw != nil {
		_ = jsonparser.ObjectEach(r.Raw, func(k, v []byte, t jsonparser.ValueType, _ int) error {
			dst = appendRawMember(dst, &n, r.Schema, k, v, t)
			return nil
		})
	}
	for i, name := range r.Schema.Names {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = AppendJSONString(dst, name)
		dst = append(dst, ':')
		dst = r.Values[i].AppendJSON(dst)
	}
	return append(dst, '}')
}

// appendRawMember appends member k: v of a record's JSON, unless a named
// value of s overrides it; n counts the members written. k is the key's
// text, which is escaped again; v is as written.
func appendRawMember[K string | []byte](dst []byte, n *int, s *Schema, k K, v []byte, t jsonparser.ValueType) []byte {
	if s.Index(string(k)) >= 0 {
		return dst
	}
	if *n > 0 {
		dst = append(dst, ',')
	}
	*n++
	dst = append(appendJSONString(dst, k), ':') // jsonparser hands keys unescaped
	if t == jsonparser.String {
		dst = append(dst, '"')
		dst = append(dst, v...)
		return append(dst, '"')
	}
	return append(dst, v...)
}

// MarshalJSON makes records encodable with encoding/json.
func (r *Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// String is the record's JSON, for logs and test messages.
func (r *Record) String() string { return string(r.AppendJSON(nil)) }

// NewRow builds an output record from names and values; handy in tests and
// plugins. Statements share one Schema per output instead.
func NewRow(names []string, values ...Value) *Record {
	return &Record{Schema: NewSchema(names...), Values: values}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// JSONBuffer lends a scratch buffer for encoding; give it back with PutJSONBuffer.
func JSONBuffer() *[]byte { return bufPool.Get().(*[]byte) }

// PutJSONBuffer returns a buffer taken with JSONBuffer.
func PutJSONBuffer(b *[]byte) {
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

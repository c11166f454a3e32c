package operators

import (
	"bytes"
	"errors"

	"github.com/buger/jsonparser"
)

// The extractor's scanner: one pass over an event's top-level members,
// stopping as soon as every wanted field is found. It validates only what it
// reads; ingest has already checked that each event is a JSON object.

var errBadJSON = errors.New("malformed JSON")

// member is one top-level member of an object.
type member struct {
	key        []byte // raw key, escapes not decoded
	escaped    bool   // key contains a backslash
	val        []byte // string values without quotes; other values as written
	typ        jsonparser.ValueType
	valEscaped bool  // a string value contains a backslash
	isInt      bool  // num holds the value, parsed when the record was indexed
	num        int64 // see isInt
	kOff, vOff int   // where key and val start in the object
}

// scanner walks an object's members.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// start positions the scanner after the opening brace.
func (s *scanner) start(data []byte) error {
	s.data, s.pos = data, 0
	s.skipSpace()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return errBadJSON
	}
	s.pos++
	return nil
}

// next reads the next member; ok is false at the end of the object.
func (s *scanner) next(m *member) (ok bool, err error) {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ',' {
		s.pos++
		s.skipSpace()
	}
	if s.pos >= len(s.data) {
		return false, errBadJSON
	}
	if s.data[s.pos] == '}' {
		return false, nil
	}
	if s.data[s.pos] != '"' {
		return false, errBadJSON
	}
	m.kOff = s.pos + 1
	key, escaped, err := s.str()
	if err != nil {
		return false, err
	}
	m.key, m.escaped = key, escaped
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return false, errBadJSON
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false, errBadJSON
	}
	m.vOff = s.pos
	m.valEscaped, m.isInt = false, false
	switch c := s.data[s.pos]; {
	case c == '"':
		m.vOff++
		m.val, m.valEscaped, err = s.str()
		m.typ = jsonparser.String
	case c == '{' || c == '[':
		begin := s.pos
		err = s.skipNested()
		m.val = s.data[begin:s.pos]
		m.typ = jsonparser.Object
		if c == '[' {
			m.typ = jsonparser.Array
		}
	default:
		begin := s.pos
		for s.pos < len(s.data) {
			if c := s.data[s.pos]; c == ',' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			s.pos++
		}
		m.val = s.data[begin:s.pos]
		switch c {
		case 't', 'f':
			m.typ = jsonparser.Boolean
		case 'n':
			m.typ = jsonparser.Null
		default:
			m.typ = jsonparser.Number
		}
		if len(m.val) == 0 {
			err = errBadJSON
		}
	}
	return err == nil, err
}

// str reads a string at s.pos (on its opening quote) and returns its body.
func (s *scanner) str() (body []byte, escaped bool, err error) {
	begin := s.pos + 1
	i := begin
	for {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			return nil, false, errBadJSON
		}
		i += j
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for k := i - 1; k >= begin && s.data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			break
		}
		i++
	}
	body = s.data[begin:i]
	s.pos = i + 1
	return body, bytes.IndexByte(body, '\\') >= 0, nil
}

// skipNested moves past an object or array, minding strings.
func (s *scanner) skipNested() error {
	depth := 0
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '"':
			if _, _, err := s.str(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos++
				return nil
			}
		}
		s.pos++
	}
	return errBadJSON
}

// memberValue converts a scanned member's value to a Value.
func memberValue(m *member) Value {
	switch m.typ {
	case jsonparser.String:
		if !m.valEscaped {
			return Str(string(m.val))
		}
		if s, err := jsonparser.ParseString(m.val); err == nil {
			return Str(s)
		}
		return Null()
	case jsonparser.Number:
		if m.isInt {
			return Int(m.num)
		}
		if i, ok := parseInt(m.val); ok {
			return Int(i)
		}
		return FromJSON(m.val, m.typ)
	}
	return FromJSON(m.val, m.typ)
}

// parseInt parses a plain decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

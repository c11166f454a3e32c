package server

import (
	"bytes"
	"fmt"

	"sluice/jsonsyntax"
	"sluice/operators"
)

// decodeError says which event of an ingest body is bad and why.
type decodeError struct {
	Msg   string `json:"error"`
	Line  int    `json:"line,omitempty"`  // 1-based line (NDJSON, single object)
	Index *int   `json:"index,omitempty"` // 0-based position in a JSON array
}

func (e *decodeError) Error() string { return e.Msg }

func lineError(line int, format string, args ...any) *decodeError {
	return &decodeError{Msg: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...), Line: line}
}

func indexError(index int, format string, args ...any) *decodeError {
	return &decodeError{Msg: fmt.Sprintf("event %d: ", index) + fmt.Sprintf(format, args...), Index: &index}
}

// decodeEvents splits an ingest body into events and checks that each is a
// JSON object. The body is one object, an array of objects, or NDJSON (one
// object per line; blank lines and CRLF endings are fine). ndjson forces
// line mode; otherwise a body whose first line holds a whole object followed
// by more lines is taken as NDJSON. Each record's Raw is a slice of body, so
// body must not be reused. The batch is all or nothing.
func decodeEvents(body []byte, ndjson bool, arrival int64) ([]*operators.Record, *decodeError) {
	i := jsonsyntax.SkipSpace(body, 0)
	if i == len(body) {
		return nil, &decodeError{Msg: "empty body: expected a JSON object, a JSON array of objects, or NDJSON"}
	}
	if ndjson {
		return decodeLines(body, 0, 1, arrival, nil)
	}
	if body[i] == '[' {
		return decodeArray(body, i, arrival)
	}
	end, err := jsonsyntax.Value(body, i, 0)
	if err != nil {
		line, col := position(body, err.Offset)
		return nil, lineError(line, "invalid JSON: %s at column %d", err.Msg, col)
	}
	if body[i] != '{' {
		return nil, lineError(lineOf(body, i), "not a JSON object")
	}
	first := body[i:end:end]
	rest := jsonsyntax.SkipSpace(body, end)
	if rest == len(body) {
		return []*operators.Record{{Arrival: arrival, Raw: first}}, nil
	}
	// More follows: NDJSON, provided the first object sat on one line.
	nl := bytes.IndexByte(body[end:], '\n')
	if bytes.IndexByte(body[i:end], '\n') >= 0 || nl < 0 || end+nl > rest {
		line, col := position(body, rest)
		return nil, lineError(line, "invalid JSON: unexpected data after the object at column %d (send one object, an array of objects, or NDJSON with one object per line)", col)
	}
	return decodeLines(body, end+nl+1, lineOf(body, end+nl+1), arrival, first)
}

// firstRoom is the most records a body is given room for before any is
// found: counting newlines or braces bounds the events, but a small gzip
// body of nothing else would reserve gigabytes for none.
const firstRoom = 4096

func recordRoom(body []byte, sep byte) []operators.Record {
	return make([]operators.Record, 0, min(bytes.Count(body, []byte{sep})+2, firstRoom))
}

// decodeLines checks NDJSON from body[pos:], which starts line number line.
// first, if not nil, is an event already found before pos.
func decodeLines(body []byte, pos, line int, arrival int64, first []byte) ([]*operators.Record, *decodeError) {
	recs := recordRoom(body[pos:], '\n')
	if first != nil {
		recs = append(recs, operators.Record{Arrival: arrival, Raw: first})
	}
	for ; pos < len(body); line++ {
		text := body[pos:]
		if nl := bytes.IndexByte(text, '\n'); nl >= 0 {
			text = text[:nl]
		}
		pos += len(text) + 1
		s := jsonsyntax.SkipSpace(text, 0)
		if s == len(text) {
			continue
		}
		if text[s] != '{' {
			if _, err := jsonsyntax.Value(text, s, 0); err != nil {
				return nil, lineError(line, "invalid JSON: %s at column %d", err.Msg, err.Offset+1)
			}
			return nil, lineError(line, "not a JSON object")
		}
		end, err := jsonsyntax.Object(text, s, 1)
		if err != nil {
			return nil, lineError(line, "invalid JSON: %s at column %d", err.Msg, err.Offset+1)
		}
		if t := jsonsyntax.SkipSpace(text, end); t != len(text) {
			return nil, lineError(line, "invalid JSON: unexpected data after the object at column %d", t+1)
		}
		recs = append(recs, operators.Record{Arrival: arrival, Raw: text[s:end:end]})
	}
	return pointers(recs), nil
}

// decodeArray checks a JSON array of objects starting at body[pos] == '['.
func decodeArray(body []byte, pos int, arrival int64) ([]*operators.Record, *decodeError) {
	recs := recordRoom(body[pos:], '}') // every object ends in '}'
	pos = jsonsyntax.SkipSpace(body, pos+1)
	if pos < len(body) && body[pos] == ']' {
		pos++
	} else {
		for index := 0; ; index++ {
			if pos >= len(body) || body[pos] != '{' {
				if _, err := jsonsyntax.Value(body, pos, 1); err != nil {
					return nil, arraySyntaxError(body, index, err)
				}
				return nil, indexError(index, "not a JSON object")
			}
			end, err := jsonsyntax.Object(body, pos, 2)
			if err != nil {
				return nil, arraySyntaxError(body, index, err)
			}
			recs = append(recs, operators.Record{Arrival: arrival, Raw: body[pos:end:end]})
			pos = jsonsyntax.SkipSpace(body, end)
			if pos < len(body) && body[pos] == ',' {
				pos = jsonsyntax.SkipSpace(body, pos+1)
				continue
			}
			if pos < len(body) && body[pos] == ']' {
				pos++
				break
			}
			return nil, arraySyntaxError(body, index, jsonsyntax.Unexpected(body, pos, "',' or ']' after the event"))
		}
	}
	if rest := jsonsyntax.SkipSpace(body, pos); rest != len(body) {
		line, col := position(body, rest)
		return nil, &decodeError{Msg: fmt.Sprintf("invalid JSON: unexpected data after the array at line %d, column %d", line, col), Line: line}
	}
	return pointers(recs), nil
}

func arraySyntaxError(body []byte, index int, err *jsonsyntax.Error) *decodeError {
	line, col := position(body, err.Offset)
	return indexError(index, "invalid JSON: %s at line %d, column %d", err.Msg, line, col)
}

// pointers hands out the records of one slab: one allocation per batch
// instead of one per event.
func pointers(recs []operators.Record) []*operators.Record {
	out := make([]*operators.Record, len(recs))
	for i := range recs {
		out[i] = &recs[i]
	}
	return out
}

// position is the 1-based line and byte column of off; only errors need it.
func position(b []byte, off int) (line, col int) {
	off = min(off, len(b))
	line = bytes.Count(b[:off], []byte{'\n'}) + 1
	return line, off - bytes.LastIndexByte(b[:off], '\n')
}

func lineOf(b []byte, off int) int {
	line, _ := position(b, off)
	return line
}

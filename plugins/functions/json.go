package functions

import (
	"strings"
	"unsafe"

	"github.com/buger/jsonparser"

	"sluice/operators"
)

func init() {
	strict("JSON_EXTRACT", 2, 2, "JSON_EXTRACT(json, '$.a.b[0]'): the value at path in a JSON object or array (or a string holding one); NULL when absent", func(args []operators.Value) operators.Value {
		doc := args[0]
		if doc.Kind != operators.KindJSON && doc.Kind != operators.KindString {
			return operators.Null()
		}
		var keys [8]string
		path, ok := jsonPath(args[1].Text(), keys[:0])
		if !ok {
			return operators.Null()
		}
		// jsonparser only reads its input, so the string's bytes are lent, not copied.
		b, t, _, err := jsonparser.Get(unsafe.Slice(unsafe.StringData(doc.S), len(doc.S)), path...)
		if err != nil {
			return operators.Null()
		}
		return operators.FromJSON(b, t)
	})
}

// jsonPath turns "$.a.b[0]" into jsonparser keys "a", "b", "[0]".
func jsonPath(p string, keys []string) ([]string, bool) {
	p, ok := strings.CutPrefix(strings.TrimSpace(p), "$")
	if !ok {
		return nil, false
	}
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			if end == 0 {
				return nil, false
			}
			keys = append(keys, p[:end])
			p = p[end:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 2 || strings.Trim(p[1:end], "0123456789") != "" {
				return nil, false
			}
			keys = append(keys, p[:end+1])
			p = p[end+1:]
		default:
			return nil, false
		}
	}
	return keys, true
}

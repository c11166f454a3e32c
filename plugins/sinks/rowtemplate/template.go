// Package rowtemplate renders sink arguments over an output row: Redis keys
// such as "dau:{date}", Elasticsearch ids such as "{date}:{mid}", or a bare
// column name such as "mid".
package rowtemplate

import (
	"fmt"
	"slices"
	"strings"

	"sluice/operators"
)

// Template is literal text with {column} references; {a.b} reads the field
// b of the JSON column a.
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit  string
	path []string // nil for literal text
}

// Parse reads a template such as "rec:{user_id}".
func Parse(src string) (*Template, error) {
	t := &Template{src: src}
	rest := src
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, fmt.Errorf("template %q: '}' without '{'", src)
		}
		if open < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, part{lit: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("template %q: '{' without '}'", src)
		}
		name := strings.TrimSpace(rest[open+1 : open+end])
		if name == "" || strings.ContainsAny(name, "{") {
			return nil, fmt.Errorf("template %q: empty or nested column reference", src)
		}
		t.parts = append(t.parts, part{path: strings.Split(name, ".")})
		rest = rest[open+end+1:]
	}
	return t, nil
}

// Field reads a sink argument that is either a template (it has braces) or
// a bare column name.
func Field(src string) (*Template, error) {
	if strings.ContainsAny(src, "{}") {
		return Parse(src)
	}
	name := strings.TrimSpace(src)
	if name == "" {
		return nil, fmt.Errorf("empty column name")
	}
	return &Template{src: src, parts: []part{{path: strings.Split(name, ".")}}}, nil
}

// String is the template as written.
func (t *Template) String() string { return t.src }

// implicit are the columns every windowed statement's rows carry.
var implicit = []string{"_key", "window_start", "window_end"}

// Check refuses references to columns the statement does not output.
// columns nil or containing "*" means the rows carry raw events, whose
// fields cannot be known in advance.
func (t *Template) Check(columns []string) error {
	if len(columns) == 0 || slices.Contains(columns, "*") {
		return nil
	}
	for _, p := range t.parts {
		if p.path == nil || slices.Contains(columns, p.path[0]) || slices.Contains(implicit, p.path[0]) {
			continue
		}
		return fmt.Errorf("%q names column %q, which the statement does not output (it outputs %s)", t.src, p.path[0], strings.Join(columns, ", "))
	}
	return nil
}

// Append renders the template for row r onto dst. A NULL or missing column
// is an error naming it.
func (t *Template) Append(dst []byte, r *operators.Record) ([]byte, error) {
	for _, p := range t.parts {
		if p.path == nil {
			dst = append(dst, p.lit...)
			continue
		}
		v := r.Get(p.path...)
		if v.IsNull() {
			return dst, fmt.Errorf("%q: column %s is NULL or missing", t.src, strings.Join(p.path, "."))
		}
		dst = v.AppendText(dst)
	}
	return dst, nil
}

// Value is the single column a bare-column template reads, keeping its
// kind; for other templates it is the rendered text.
func (t *Template) Value(r *operators.Record) (operators.Value, error) {
	if len(t.parts) == 1 && t.parts[0].path != nil {
		v := r.Get(t.parts[0].path...)
		if v.IsNull() {
			return v, fmt.Errorf("%q: column %s is NULL or missing", t.src, strings.Join(t.parts[0].path, "."))
		}
		return v, nil
	}
	b, err := t.Append(nil, r)
	return operators.Str(string(b)), err
}

package elasticsearch

import (
	"fmt"
	"strings"
	"time"
)

// indexPattern names an index from a row's time: literal text with date
// groups such as {yyyy.MM.dd} or {yyyy-MM-dd-HH}, rendered in UTC.
type indexPattern struct {
	parts []patternPart
	cache map[int64]string // rendered names by hour since the epoch
}

type patternPart struct {
	lit   string
	token string // yyyy, yy, MM, dd or HH; "" for literal text
}

var dateTokens = []string{"yyyy", "yy", "MM", "dd", "HH"}

// parseIndexPattern reads an index argument and checks that every name it
// can produce is a valid index name.
func parseIndexPattern(src string) (*indexPattern, error) {
	p := &indexPattern{cache: map[int64]string{}}
	rest := src
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, fmt.Errorf("index=%q: '}' without '{'", src)
		}
		if open < 0 {
			p.parts = append(p.parts, patternPart{lit: rest})
			break
		}
		if open > 0 {
			p.parts = append(p.parts, patternPart{lit: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("index=%q: '{' without '}'", src)
		}
		group := rest[open+1 : open+end]
		if group == "" {
			return nil, fmt.Errorf("index=%q: empty date group {}", src)
		}
		for group != "" {
			tok := ""
			for _, t := range dateTokens {
				if strings.HasPrefix(group, t) {
					tok = t
					break
				}
			}
			switch {
			case tok != "":
				p.parts = append(p.parts, patternPart{token: tok})
				group = group[len(tok):]
			case strings.ContainsRune("._-+", rune(group[0])):
				p.parts = append(p.parts, patternPart{lit: group[:1]})
				group = group[1:]
			default:
				return nil, fmt.Errorf("index=%q: unknown date token at %q (use yyyy, yy, MM, dd, HH and . - _ +)", src, group)
			}
		}
		rest = rest[open+end+1:]
	}
	if err := checkIndexName(p.name(0)); err != nil {
		return nil, fmt.Errorf("index=%q: %w", src, err)
	}
	return p, nil
}

// checkIndexName applies Elasticsearch's rules, so that a bad pattern is
// refused when the statement is deployed rather than at every write.
func checkIndexName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty index name")
	case name == "." || name == "..":
		return fmt.Errorf("index name %q is not allowed", name)
	case strings.ToLower(name) != name:
		return fmt.Errorf("index name %q must be lowercase", name)
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("index name %q must not start with '-', '_' or '+'", name)
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return fmt.Errorf(`index name %q must not contain \ / * ? " < > | space , # :`, name)
	case len(name) > 255:
		return fmt.Errorf("index name %q is longer than 255 bytes", name)
	}
	return nil
}

// name renders the pattern for a time in epoch milliseconds.
func (p *indexPattern) name(ms int64) string {
	hour := ms / 3_600_000
	if ms < 0 && ms%3_600_000 != 0 {
		hour--
	}
	if n, ok := p.cache[hour]; ok {
		return n
	}
	t := time.UnixMilli(hour * 3_600_000).UTC()
	var b []byte
	for _, part := range p.parts {
		switch part.token {
		case "":
			b = append(b, part.lit...)
		case "yyyy":
			b = fmt.Appendf(b, "%04d", t.Year())
		case "yy":
			b = fmt.Appendf(b, "%02d", t.Year()%100)
		case "MM":
			b = fmt.Appendf(b, "%02d", int(t.Month()))
		case "dd":
			b = fmt.Appendf(b, "%02d", t.Day())
		case "HH":
			b = fmt.Appendf(b, "%02d", t.Hour())
		}
	}
	if len(p.cache) >= 256 {
		clear(p.cache)
	}
	n := string(b)
	p.cache[hour] = n
	return n
}

package sqlengine

import (
	"fmt"
	"strings"

	"github.com/xwb1989/sqlparser"
)

// Annotation is one @Name(args) line before a statement.
type Annotation struct {
	Name       string            // as written
	Positional string            // @Name("x"): the single unnamed argument
	Args       map[string]string // @Sink(type="x", index="y")
	Pos        Position
}

// piece is one statement of a submission: its SQL with annotations
// blanked out (so offsets still point into the original text), and the
// annotations before it.
type piece struct {
	index       int    // 1-based statement number
	sql         string // the statement text
	offset      int    // byte offset of sql in the submission
	annotations []*Annotation
}

// split strips annotations (replacing them with spaces so every line and
// column stays where it was), splits the rest into statements with
// sqlparser.SplitStatementToPieces, and gives each statement the
// annotations written before it.
func split(src string) ([]*piece, error) {
	blank := []byte(src)
	var anns []*Annotation
	var offs []int
	var errs ErrorList
	lineStart := true
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			lineStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c == '@' && lineStart:
			a, end, err := parseAnnotation(src, i)
			if err != nil {
				errs = append(errs, err)
				end = lineEnd(src, i)
			} else {
				anns = append(anns, a)
				offs = append(offs, i)
			}
			for j := i; j < end; j++ {
				if blank[j] != '\n' {
					blank[j] = ' '
				}
			}
			i = end - 1
			continue
		case c == '-' && strings.HasPrefix(src[i:], "--"), c == '#':
			i = lineEnd(src, i) - 1
			continue
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(src, i) - 1
		}
		lineStart = false
	}
	if len(errs) > 0 {
		return nil, errs
	}
	text := string(blank)
	parts, err := sqlparser.SplitStatementToPieces(text)
	if err != nil {
		return nil, ErrorList{{Statement: 1, Position: Position{1, 1}, Msg: err.Error()}}
	}
	var pieces []*piece
	at, next := 0, 0
	for _, p := range parts {
		off := strings.Index(text[at:], p) + at
		at = off + len(p)
		body := strings.TrimSpace(sqlparser.StripLeadingComments(p))
		if body == "" {
			continue
		}
		// Annotations belong to the statement whose first token follows them.
		start := off + len(strings.TrimRight(p, " \t\r\n")) - len(body)
		pc := &piece{index: len(pieces) + 1, sql: p, offset: off}
		for next < len(anns) && offs[next] < start {
			pc.annotations = append(pc.annotations, anns[next])
			next++
		}
		pieces = append(pieces, pc)
	}
	if next < len(anns) {
		a := anns[next]
		return nil, ErrorList{{Statement: len(pieces) + 1, Position: a.Pos, Token: "@" + a.Name,
			Msg: fmt.Sprintf("annotation @%s is not followed by a statement", a.Name)}}
	}
	return pieces, nil
}

// parseAnnotation reads @Name or @Name(args) starting at src[i] == '@'.
func parseAnnotation(src string, i int) (*Annotation, int, *CompileError) {
	pos := positionOf(src, i)
	j := i + 1
	for j < len(src) && isIdent(src[j]) {
		j++
	}
	a := &Annotation{Name: src[i+1 : j], Args: map[string]string{}, Pos: pos}
	fail := func(at int, format string, args ...any) (*Annotation, int, *CompileError) {
		return nil, 0, &CompileError{Position: positionOf(src, at), Token: "@" + a.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if a.Name == "" {
		return fail(i, "expected an annotation name after @")
	}
	j = skipBlanks(src, j)
	if j >= len(src) || src[j] != '(' {
		return a, j, nil
	}
	j = skipBlanks(src, j+1)
	for n := 0; ; n++ {
		if j < len(src) && src[j] == ')' {
			return a, j + 1, nil
		}
		if n > 0 {
			if j >= len(src) || src[j] != ',' {
				return fail(j, "@%s: expected , or ) in the arguments", a.Name)
			}
			j = skipBlanks(src, j+1)
		}
		keyStart := j
		for j < len(src) && isIdent(src[j]) {
			j++
		}
		key := src[keyStart:j]
		j = skipBlanks(src, j)
		if key != "" && j < len(src) && src[j] == '=' {
			j = skipBlanks(src, j+1)
		} else {
			key, j = "", keyStart
		}
		val, end, ok := readArgValue(src, j)
		if !ok {
			return fail(j, "@%s: expected a value (a quoted string, a number or a word)", a.Name)
		}
		j = skipBlanks(src, end)
		if key == "" {
			if n > 0 || a.Positional != "" {
				return fail(keyStart, "@%s: only a single argument may be unnamed; write name=value", a.Name)
			}
			a.Positional = val
			continue
		}
		if _, dup := a.Args[strings.ToLower(key)]; dup {
			return fail(keyStart, "@%s: argument %s given twice", a.Name, key)
		}
		a.Args[strings.ToLower(key)] = val
	}
}

// readArgValue reads a quoted string ('…' or "…", doubled quote or \ escapes)
// or a bare word (number, identifier, 5s).
func readArgValue(src string, j int) (string, int, bool) {
	if j >= len(src) {
		return "", j, false
	}
	if q := src[j]; q == '"' || q == '\'' {
		var b strings.Builder
		for k := j + 1; k < len(src); k++ {
			c := src[k]
			switch {
			case c == '\\' && k+1 < len(src):
				k++
				b.WriteByte(src[k])
			case c == q && k+1 < len(src) && src[k+1] == q:
				k++
				b.WriteByte(q)
			case c == q:
				return b.String(), k + 1, true
			case c == '\n':
				return "", j, false
			default:
				b.WriteByte(c)
			}
		}
		return "", j, false
	}
	k := j
	for k < len(src) && (isIdent(src[k]) || src[k] == '.' || src[k] == '-' || src[k] == '+') {
		k++
	}
	return src[j:k], k, k > j
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func skipBlanks(src string, j int) int {
	for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r' || src[j] == '\n') {
		j++
	}
	return j
}

func lineEnd(src string, i int) int {
	if k := strings.IndexByte(src[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(src)
}

// skipQuoted returns the offset just past the quoted string starting at i.
func skipQuoted(src string, i int) int {
	q := src[i]
	for k := i + 1; k < len(src); k++ {
		switch src[k] {
		case '\\':
			k++
		case q:
			return k + 1
		}
	}
	return len(src)
}

// positionOf converts a byte offset into a line and column (1-based).
func positionOf(src string, off int) Position {
	if off > len(src) {
		off = len(src)
	}
	line := 1 + strings.Count(src[:off], "\n")
	col := off - strings.LastIndexByte(src[:off], '\n')
	return Position{Line: line, Column: col}
}

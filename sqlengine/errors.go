package sqlengine

import (
	"fmt"
	"strings"
)

// Position is a place in the submitted SQL text (1-based).
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// CompileError is one problem in a statement, with where it is, like a
// compiler's message: "statement 2 (page_metrics) line 3, column 8: unknown
// function PERCENTLE; did you mean PERCENTILE?".
type CompileError struct {
	Statement int    `json:"statement"`      // 1-based index in the submitted text
	Name      string `json:"name,omitempty"` // from @Name, when known
	Position
	Token string `json:"token,omitempty"` // the offending token
	Msg   string `json:"message"`
}

func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "statement %d", e.Statement)
	if e.Name != "" {
		fmt.Fprintf(&b, " (%s)", e.Name)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d, column %d", e.Line, e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every CompileError of a submission.
type ErrorList []*CompileError

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

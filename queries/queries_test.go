package queries_test

import (
	"io/fs"
	"strings"
	"testing"

	_ "sluice/plugins"
	"sluice/queries"
	"sluice/sqlengine"
)

// Every shipped file compiles, and the pipeline's streams connect: each
// stream a statement reads is written by another statement or is the
// ingest stream "events".
func TestShippedQueriesCompile(t *testing.T) {
	files, err := fs.Glob(queries.Files, "*.sql")
	if err != nil || len(files) < 6 {
		t.Fatalf("shipped files: %v %v", files, err)
	}
	written := map[string]bool{"events": true}
	read := map[string]string{}
	for _, f := range files {
		src, _ := fs.ReadFile(queries.Files, f)
		if !strings.Contains(string(src), "-- ") {
			t.Errorf("%s: no comment says what it does", f)
		}
		specs, err := sqlengine.Compile(string(src))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, s := range specs {
			if s.Description == "" {
				t.Errorf("%s: %s has no @Description", f, s.Name)
			}
			if s.Target != "" {
				written[s.Target] = true
			}
			read[s.Source] = s.Name
		}
	}
	for stream, by := range read {
		if !written[stream] {
			t.Errorf("%s reads stream %q that nothing writes", by, stream)
		}
	}
}

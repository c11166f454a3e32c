package elasticsearch

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/operators"
	"sluice/plugins/sinks/sinktest"
)

// Window bounds: 2026-11-21T23:59:50Z and the next window, on the next day.
const (
	day1 = int64(1795305590000)
	day2 = day1 + 10000
)

func newSink(t testing.TB, env *operators.Env, args map[string]string, columns ...string) *Sink {
	t.Helper()
	return sinktest.Open(t, "elasticsearch", env, args, columns...).(*Sink)
}

var metricCols = []string{"_key", "window_start", "window_end", "country", "device", "views", "p95_ms"}

func metric(start int64, country, device string, views int64, p95 float64) *operators.Record {
	key := fmt.Sprintf("page_metrics|%d|%s|%s", start, country, device)
	return operators.NewRow(metricCols, operators.Str(key), operators.Int(start), operators.Int(start+10000),
		operators.Str(country), operators.Str(device), operators.Int(views), operators.Float(p95))
}

// rowsByID is what the documents must be: each row's JSON under its _key.
func rowsByID(t *testing.T, rows []*operators.Record) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		out[r.Get("_key").S] = normalize(t, r.String())
	}
	return out
}

func TestDocumentsIdsDailyIndicesAndMapping(t *testing.T) {
	c := newCluster(t)
	env := &operators.Env{ESURL: c.url}
	args := map[string]string{"index": c.prefix + "metrics-{yyyy.MM.dd}", "settings": `{"number_of_shards":1}`}
	rows := []*operators.Record{
		metric(day1, "DE", "mobile", 7, 12.5),
		metric(day1, "US", "desktop", 3, 40),
		metric(day2, "DE", "mobile", 1, 8.25),
	}
	s := newSink(t, env, args, metricCols...)
	sinktest.Write(t, s, rows)

	if got := c.indices(t); !slices.Equal(got, []string{"metrics-2026.11.21", "metrics-2026.11.22"}) {
		t.Fatalf("indices %v", got)
	}
	want1, want2 := rowsByID(t, rows[:2]), rowsByID(t, rows[2:])
	if got := c.docs(t, "metrics-2026.11.21"); !maps.Equal(got, want1) {
		t.Fatalf("metrics-2026.11.21 documents\n%v\nwant\n%v", got, want1)
	}
	if got := c.docs(t, "metrics-2026.11.22"); !maps.Equal(got, want2) {
		t.Fatalf("metrics-2026.11.22 documents\n%v\nwant\n%v", got, want2)
	}
	wantTypes := map[string]string{
		"_key": "keyword", "country": "keyword", "device": "keyword", "views": "long", "p95_ms": "double",
		"window_start": "date/epoch_millis||strict_date_optional_time", "window_end": "date/epoch_millis||strict_date_optional_time",
	}
	for _, ix := range []string{"metrics-2026.11.21", "metrics-2026.11.22"} {
		if got := c.types(t, ix); !maps.Equal(got, wantTypes) {
			t.Fatalf("%s mapping\n%v\nwant\n%v", ix, got, wantTypes)
		}
	}

	// A replay, a late update of one window and a restarted sink overwrite
	// by _id: no document is added, and each index is created once per sink.
	sinktest.Write(t, s, rows)
	late := metric(day1, "US", "desktop", 4, 41)
	sinktest.Write(t, s, []*operators.Record{late})
	restarted := newSink(t, env, args, metricCols...)
	sinktest.Write(t, restarted, rows[2:])
	want1[late.Get("_key").S] = normalize(t, late.String())
	if got := c.docs(t, "metrics-2026.11.21"); !maps.Equal(got, want1) {
		t.Fatalf("after replay and late update\n%v\nwant\n%v", got, want1)
	}
	if got := c.docs(t, "metrics-2026.11.22"); !maps.Equal(got, want2) {
		t.Fatalf("after replay by a restarted sink\n%v\nwant\n%v", got, want2)
	}
	if c.fake != nil {
		for ix, want := range map[string]int{"metrics-2026.11.21": 1, "metrics-2026.11.22": 2} {
			if n := c.fake.CreateRequests(ix); n != want || !c.fake.Explicit(ix) {
				t.Errorf("%s: %d create requests (explicit %v), want %d", ix, n, c.fake.Explicit(ix), want)
			}
			if got := c.fake.Settings(ix)["index.number_of_shards"]; got != "1" {
				t.Errorf("%s: number_of_shards %q", ix, got)
			}
		}
	}
	if st := s.Stats(); st.Acked != 7 || st.Retries != 0 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIDTemplateTimeColumnAndHashFallback(t *testing.T) {
	c := newCluster(t)
	env := &operators.Env{ESURL: c.url}
	cols := []string{"date", "hour", "mid", "ts"}
	dau := func(mid string, ts int64) *operators.Record {
		tm := time.UnixMilli(ts).UTC()
		return operators.NewRow(cols, operators.Str(tm.Format("2006-01-02")), operators.Int(int64(tm.Hour())), operators.Str(mid), operators.Int(ts))
	}
	s := newSink(t, env, map[string]string{"index": c.prefix + "dau-{yyyy-MM-dd}", "id": "{date}:{mid}", "time": "ts"}, cols...)
	rows := []*operators.Record{dau("m1", day1), dau("m2", day1+1), dau("m1", day2)}
	sinktest.Write(t, s, rows)
	if got := c.indices(t); !slices.Equal(got, []string{"dau-2026-11-21", "dau-2026-11-22"}) {
		t.Fatalf("indices %v", got)
	}
	want := map[string]string{"2026-11-21:m1": normalize(t, rows[0].String()), "2026-11-21:m2": normalize(t, rows[1].String())}
	if got := c.docs(t, "dau-2026-11-21"); !maps.Equal(got, want) {
		t.Fatalf("documents\n%v\nwant\n%v", got, want)
	}
	if got := c.types(t, "dau-2026-11-21"); got["ts"] != "date/epoch_millis||strict_date_optional_time" || got["date"] != "keyword" || got["hour"] != "long" {
		t.Fatalf("mapping %v", got)
	}

	// Rows without an id column: _id is the FNV-128a of the row's JSON; time
	// comes from arrival when the row has no time column.
	plain := newSink(t, env, map[string]string{"index": c.prefix + "events-{yyyy.MM.dd.HH}"})
	ev := &operators.Record{Arrival: day2 + 3*3600000, Raw: []byte(`{"page":"/a","n":1}`)}
	sinktest.Write(t, plain, []*operators.Record{ev, ev})
	h := fnv.New128a()
	h.Write([]byte(`{"page":"/a","n":1}`))
	want = map[string]string{hex.EncodeToString(h.Sum(nil)): `{"n":1,"page":"/a"}`}
	if got := c.docs(t, "events-2026.11.22.03"); !maps.Equal(got, want) {
		t.Fatalf("hashed documents %v, want %v", got, want)
	}
}

func TestCreateActionKeepsTheFirstDocument(t *testing.T) {
	c := newCluster(t)
	s := newSink(t, &operators.Env{ESURL: c.url}, map[string]string{"index": c.prefix + "dau-{yyyy-MM-dd}", "id": "{date}:{mid}", "time": "ts", "action": "create"})
	cols := []string{"date", "mid", "page", "ts"}
	first := operators.NewRow(cols, operators.Str("2026-11-21"), operators.Str("m1"), operators.Str("/first"), operators.Int(day1))
	later := operators.NewRow(cols, operators.Str("2026-11-21"), operators.Str("m1"), operators.Str("/later"), operators.Int(day1+5))
	other := operators.NewRow(cols, operators.Str("2026-11-21"), operators.Str("m2"), operators.Str("/x"), operators.Int(day1+6))
	sinktest.Write(t, s, []*operators.Record{first})
	sinktest.Write(t, s, []*operators.Record{later, other, first})
	want := map[string]string{"2026-11-21:m1": normalize(t, first.String()), "2026-11-21:m2": normalize(t, other.String())}
	if got := c.docs(t, "dau-2026-11-21"); !maps.Equal(got, want) {
		t.Fatalf("documents\n%v\nwant\n%v", got, want)
	}
	if st := s.Stats(); st.Acked != 4 || st.DeadLettered != 0 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// deadLetters records what reaches the dead-letter stream.
type deadLetters struct {
	mu   sync.Mutex
	rows []*operators.Record
}

func (d *deadLetters) env(url string) *operators.Env {
	return &operators.Env{ESURL: url, Emit: func(stream string, recs []*operators.Record) error {
		if stream != operators.DeadLetterStream {
			return fmt.Errorf("unexpected stream %s", stream)
		}
		d.mu.Lock()
		d.rows = append(d.rows, recs...)
		d.mu.Unlock()
		return nil
	}}
}

func TestRejectedDocumentReachesTheDeadLetterStream(t *testing.T) {
	c := newCluster(t)
	dl := &deadLetters{}
	s := newSink(t, dl.env(c.url), map[string]string{"index": c.prefix + "metrics-{yyyy.MM.dd}"})
	good := metric(day1, "DE", "mobile", 7, 12.5)
	sinktest.Write(t, s, []*operators.Record{good})
	bad := operators.NewRow(metricCols, operators.Str("bad"), operators.Int(day1), operators.Int(day1+10000),
		operators.Str("FR"), operators.Str("tv"), operators.Str("many"), operators.Float(1))
	fine := metric(day1, "US", "desktop", 3, 40)
	sinktest.Write(t, s, []*operators.Record{bad, fine})

	if len(dl.rows) != 1 {
		t.Fatalf("dead letters %v", dl.rows)
	}
	r := dl.rows[0]
	reason := r.Get("reason").S
	prefix := "elasticsearch refused document bad in " + c.prefix + "metrics-2026.11.21: 400 document_parsing_exception: "
	if r.Get("query").S != "q" || r.Get("sink").S != "elasticsearch" || r.Get("row").S != bad.String() ||
		!strings.HasPrefix(reason, prefix) || !strings.Contains(reason, "failed to parse field [views] of type [long]") {
		t.Fatalf("dead letter %s", r)
	}
	want := rowsByID(t, []*operators.Record{good, fine})
	if got := c.docs(t, "metrics-2026.11.21"); !maps.Equal(got, want) {
		t.Fatalf("documents %v, want %v", got, want)
	}
	if st := s.Stats(); st.Acked != 2 || st.DeadLettered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetriesAfter429(t *testing.T) {
	c := newCluster(t)
	fake := c.needFake(t)
	s := newSink(t, &operators.Env{ESURL: c.url}, map[string]string{"index": "metrics-{yyyy.MM.dd}", "backoff": "1ms", "max_backoff": "5ms"})
	rows := []*operators.Record{metric(day1, "DE", "mobile", 7, 12.5), metric(day1, "US", "desktop", 3, 40)}
	fake.RejectBulk(2)
	sinktest.Write(t, s, rows)
	if st := s.Stats(); st.Retries != 2 || st.Acked != 2 {
		t.Fatalf("after two rejected bulk requests: stats %+v", st)
	}
	fake.RejectItems(1)
	more := []*operators.Record{metric(day1, "FR", "tv", 1, 1), metric(day1, "IT", "tv", 2, 2)}
	sinktest.Write(t, s, more)
	if st := s.Stats(); st.Retries != 3 || st.Acked != 4 {
		t.Fatalf("after one rejected item: stats %+v", st)
	}
	if n := fake.BulkRequests(); n != 5 {
		t.Fatalf("%d bulk requests, want 5 (3 for the first batch, 2 for the second)", n)
	}
	want := rowsByID(t, append(rows, more...))
	if got := c.docs(t, "metrics-2026.11.21"); !maps.Equal(got, want) {
		t.Fatalf("documents %v, want %v", got, want)
	}
}

func TestDownBlocksWritesThenRecoversWithNothingLostOrDoubled(t *testing.T) {
	c := newCluster(t)
	fake := c.needFake(t)
	s := newSink(t, &operators.Env{ESURL: c.url}, map[string]string{
		"index": "metrics-{yyyy.MM.dd}", "batch": "10", "buffer": "40", "flush": "5ms", "backoff": "5ms", "max_backoff": "20ms",
	})
	var rows []*operators.Record
	for i := range 150 {
		rows = append(rows, metric(day1, fmt.Sprintf("c%03d", i), "mobile", int64(i), 1))
	}
	sinktest.Write(t, s, rows[:10])

	for _, outage := range []struct {
		name       string
		down, up   func()
		start, end int
	}{
		{"503", func() { fake.SetUnavailable(true) }, func() { fake.SetUnavailable(false) }, 10, 80},
		{"connection refused", fake.Stop, fake.Restart, 80, 150},
	} {
		retries := s.Stats().Retries
		outage.down()
		done := make(chan error, 1)
		go func() { done <- s.Write(context.Background(), rows[outage.start:outage.end]) }()
		sinktest.Poll(t, outage.name+": a full buffer", func() bool { st := s.Stats(); return st.Buffered == 40 && st.Retries > retries })
		select {
		case err := <-done:
			t.Fatalf("%s: Write returned %v with the cluster down and the buffer full", outage.name, err)
		default:
		}
		outage.up()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		sinktest.Flush(t, s)
	}
	if got, want := c.docs(t, "metrics-2026.11.21"), rowsByID(t, rows); !maps.Equal(got, want) {
		t.Fatalf("%d documents after recovery, want %d", len(got), len(want))
	}
	if st := s.Stats(); st.Acked != 150 || st.DeadLettered != 0 || st.Buffered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	p, _ := operators.LookupSink("elasticsearch")
	env := &operators.Env{ESURL: "http://127.0.0.1:1"}
	for _, tc := range []struct {
		args    map[string]string
		columns []string
		env     *operators.Env
		want    string
	}{
		{args: map[string]string{}, want: `elasticsearch sink: needs argument index, e.g. index="metrics-{yyyy.MM.dd}"`},
		{args: map[string]string{"index": "m", "shards": "1"}, want: `elasticsearch sink: unknown argument shards`},
		{args: map[string]string{"index": "Metrics-{yyyy}"}, want: `elasticsearch sink: index="Metrics-{yyyy}": index name "Metrics-1970" must be lowercase`},
		{args: map[string]string{"index": "m-{yyyy.MMM}"}, want: `elasticsearch sink: index="m-{yyyy.MMM}": unknown date token at "M" (use yyyy, yy, MM, dd, HH and . - _ +)`},
		{args: map[string]string{"index": "m-{yyyy"}, want: `elasticsearch sink: index="m-{yyyy": '{' without '}'`},
		{args: map[string]string{"index": ".."}, want: `elasticsearch sink: index="..": index name ".." is not allowed`},
		{args: map[string]string{"index": "m-}"}, want: `elasticsearch sink: index="m-}": '}' without '{'`},
		{args: map[string]string{"index": "m", "id": "{date}:{device}"}, columns: []string{"date", "mid"},
			want: `elasticsearch sink: id: "{date}:{device}" names column "device", which the statement does not output (it outputs date, mid)`},
		{args: map[string]string{"index": "m", "time": "ts"}, columns: []string{"date", "mid"},
			want: `elasticsearch sink: time="ts": the statement outputs no such column (it outputs date, mid)`},
		{args: map[string]string{"index": "m", "settings": "shards=1"}, want: `elasticsearch sink: settings="shards=1": want a JSON object such as '{"number_of_shards":1}': invalid character 's' looking for beginning of value`},
		{args: map[string]string{"index": "m", "action": "upsert"}, want: `elasticsearch sink: action="upsert": want index or create`},
		{args: map[string]string{"index": "m", "flush": "often"}, want: `elasticsearch sink: flush="often": want a positive duration such as 500ms or 2s`},
		{args: map[string]string{"index": "m"}, env: &operators.Env{}, want: `elasticsearch sink: no Elasticsearch address (set --es-url): not configured`},
	} {
		e := env
		if tc.env != nil {
			e = tc.env
		}
		_, err := p.New(operators.SinkConfig{Query: "q", Args: tc.args, Env: e, Columns: tc.columns})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v\nwant %s", tc.args, err, tc.want)
		}
		if tc.env != nil && !errors.Is(err, operators.ErrNotConfigured) {
			t.Errorf("missing URL: %v is not ErrNotConfigured", err)
		}
	}
}

func TestIndexPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ms      int64
		want    string
	}{
		{"metrics-{yyyy.MM.dd}", day1 + 9999, "metrics-2026.11.21"},
		{"metrics-{yyyy.MM.dd}", day2, "metrics-2026.11.22"},
		{"dau-{yyyy-MM-dd}", day1, "dau-2026-11-21"},
		{"logs-{yy.MM.dd}-{HH}h", day1, "logs-26.11.21-23h"},
		{"rollups", day1, "rollups"},
		{"old-{yyyy.MM.dd.HH}", -1, "old-1969.12.31.23"},
	} {
		p, err := parseIndexPattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.name(tc.ms); got != tc.want {
			t.Errorf("%s at %d: %s, want %s", tc.pattern, tc.ms, got, tc.want)
		}
	}
}

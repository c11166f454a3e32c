package elasticsearch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"sluice/operators"
	"sluice/plugins/sinks/elasticsearch/estest"
	"sluice/plugins/sinks/sinktest"
)

func rollupRows() []*operators.Record {
	schema := operators.NewSchema(metricCols...)
	rows := make([]*operators.Record, 1000)
	for i := range rows {
		rows[i] = &operators.Record{Schema: schema, Values: []operators.Value{
			operators.Str(fmt.Sprintf("page_metrics|%d|c%d|mobile", day1, i)), operators.Int(day1), operators.Int(day1 + 10000),
			operators.Str(fmt.Sprintf("c%d", i)), operators.Str("mobile"), operators.Int(int64(i)), operators.Float(12.5),
		}}
	}
	return rows
}

func benchmarkSink(b *testing.B, url string) {
	s := newSink(b, &operators.Env{ESURL: url}, map[string]string{"index": "metrics-{yyyy.MM.dd}", "batch": "1000"})
	rows := rollupRows()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for written := 0; written < b.N; written += len(rows) {
		if err := s.Write(ctx, rows[:min(len(rows), b.N-written)]); err != nil {
			b.Fatal(err)
		}
	}
	sinktest.Flush(b, s)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBulkStandIn sends rollup rows through the sink into the strict
// stand-in, 1000 per _bulk request; the stand-in's checks dominate.
func BenchmarkBulkStandIn(b *testing.B) {
	benchmarkSink(b, estest.New(b).URL())
}

// BenchmarkBulkSink is the sink's own cost, HTTP included: the server
// reads each request and answers a bulk success without looking at it.
func BenchmarkBulkSink(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"took":1,"errors":false,"items":[]}`)
	}))
	b.Cleanup(srv.Close)
	benchmarkSink(b, srv.URL)
}

// BenchmarkEncode is building the NDJSON body for a batch of 1000 rows.
func BenchmarkEncode(b *testing.B) {
	w, err := newWriter(map[string]string{"index": "metrics-{yyyy.MM.dd}"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := rollupRows()
	b.ReportAllocs()
	for b.Loop() {
		w.names = w.names[:0]
		for _, r := range rows {
			w.names = append(w.names, w.index.name(w.timeOf(r)))
		}
		w.encode(rows, nil, nil)
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

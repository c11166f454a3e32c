package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// benchEvents builds n distinct events of about 200 bytes, as NDJSON.
func benchEvents(n int) []byte {
	var b bytes.Buffer
	countries := []string{"DE", "US", "FR", "BR", "IN", "JP"}
	devices := []string{"mobile", "desktop", "tablet"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"ts":%d,"user_id":"u-%05d","session":"s-%06x","country":%q,"device":%q,"page":"/products/%d","referrer":"https://www.example.com/","latency_ms":%d,"ua":"Mozilla/5.0 (iPhone)"}`+"\n",
			1700000000000+int64(i)*7, i%50000, i*2654435761%0xffffff, countries[i%len(countries)], devices[i%len(devices)], i%977, 20+i%400)
	}
	return b.Bytes()
}

func benchDecode(b *testing.B, body []byte, ndjson bool, events int) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		recs, err := decodeEvents(body, ndjson, 1)
		if err != nil || len(recs) != events {
			b.Fatalf("%d events, %v", len(recs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

func BenchmarkDecodeNDJSON(b *testing.B) {
	body := benchEvents(1000)
	benchDecode(b, body, true, 1000)
}

func BenchmarkDecodeNDJSONDetected(b *testing.B) {
	body := benchEvents(1000)
	benchDecode(b, body, false, 1000)
}

func BenchmarkDecodeArray(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(benchEvents(1000)), []byte{'\n'})
	body := append(append([]byte{'['}, bytes.Join(lines, []byte{','})...), ']')
	benchDecode(b, body, false, 1000)
}

// BenchmarkJSONValidBaseline is encoding/json.Valid over the same lines,
// for comparison with the scanner.
func BenchmarkJSONValidBaseline(b *testing.B) {
	body := benchEvents(1000)
	lines := bytes.Split(bytes.TrimSpace(body), []byte{'\n'})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if !json.Valid(l) {
				b.Fatal("invalid")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
}

package jsonsyntax

import (
	"encoding/json"
	"testing"
)

// event is a sessionized clickstream event as the shipped pipeline publishes
// it to Kafka (05_distributor.sql, from `sluice gen` traffic), 550 bytes.
const event = `{"ts":1795244442732,"user_id":"u04024","mid":"75685714cdde82a5","ip":"2409:40c2:a464:2eda:5f5f:1c0a:94d9:a04","ua":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1","page":"/search?q=iphone","last_page":"/","item_id":null,"action":"view","latency_ms":270,"referrer":"https://shop.example/","received_at":1795277729403,"country":"IN","region":null,"city":null,"device":"mobile","browser":"Chrome","os":"iOS","session_id":"b35015103cfbe80c","session_seq":8}`

// BenchmarkObject checks one event as the Kafka source does, and with
// encoding/json.Valid for comparison.
func BenchmarkObject(b *testing.B) {
	v := []byte(event)
	b.Run("jsonsyntax", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		b.ReportAllocs()
		for b.Loop() {
			i := SkipSpace(v, 0)
			end, err := Object(v, i, 1)
			if err != nil || SkipSpace(v, end) != len(v) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json-Valid", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(v) {
				b.Fatal("invalid")
			}
		}
	})
}

package kafka

import (
	"log/slog"
	"strconv"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"

	"sluice/jsonsyntax"
	"sluice/operators"
)

// The named Values every Kafka record carries next to its JSON Raw.
const (
	FieldKey       = "_kafka_key"             // string, NULL when the message has no key
	FieldPartition = operators.PartitionField // int
	FieldOffset    = "_kafka_offset"          // int
	FieldTimestamp = "_kafka_timestamp"       // int, ms since the epoch; NULL when absent
)

// Schema is shared by every record a Kafka source emits.
var Schema = operators.NewSchema(FieldKey, FieldPartition, FieldOffset, FieldTimestamp)

const nFields = 4 // len(Schema.Names)

// decoder turns fetched messages into records, one allocation of records
// and one of values per batch rather than per message.
type decoder struct {
	eventTime bool
	topic     string
	stream    string
	log       *slog.Logger
	// aborted counts the markers of aborted transactions read: the
	// transactions' records were handed on (see marker).
	aborted atomic.Uint64
}

// decode splits msgs into records for the stream and dead letters for
// messages that are not a JSON object, and drops transaction markers. now
// is the arrival time in ms.
func (d *decoder) decode(msgs []kafkago.Message, now int64) (recs, dead []*operators.Record) {
	slab := make([]operators.Record, len(msgs))
	vals := make([]operators.Value, len(msgs)*nFields)
	recs = make([]*operators.Record, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if isMarker, abort := marker(m); isMarker {
			if abort {
				d.aborted.Add(1)
				d.log.Warn("kafka transaction aborted: its records were read as committed ones",
					"partition", m.Partition, "offset", m.Offset)
			}
			continue
		}
		if reason := notObject(m.Value); reason != "" {
			dead = append(dead, d.deadLetter(m, reason, now))
			continue
		}
		v := vals[i*nFields : (i+1)*nFields : (i+1)*nFields]
		v[0] = keyValue(m.Key)
		v[1] = operators.Int(int64(m.Partition))
		v[2] = operators.Int(m.Offset)
		arrival := now
		if !m.Time.IsZero() {
			ts := m.Time.UnixMilli()
			v[3] = operators.Int(ts)
			if d.eventTime {
				arrival = ts
			}
		}
		r := &slab[i]
		*r = operators.Record{Arrival: arrival, Raw: m.Value, Schema: Schema, Values: v}
		recs = append(recs, r)
	}
	return recs, dead
}

func keyValue(k []byte) operators.Value {
	if k == nil {
		return operators.Null()
	}
	return operators.Str(string(k))
}

// marker reports whether m is a transaction marker (a control record a
// transactional producer's commit or abort writes), and whether it ends an
// aborted transaction. kafka-go hands markers on as messages and tells
// neither them nor an aborted transaction's records apart, so markers are
// recognised by their form: a 4-byte key of version 0 and type 0 (abort) or
// 1 (commit), and a value of a version (0 so far) and the coordinator's
// epoch. A JSON value never starts with a zero byte, so no event is
// mistaken for one.
func marker(m *kafkago.Message) (isMarker, abort bool) {
	k, v := m.Key, m.Value
	if len(k) != 4 || k[0] != 0 || k[1] != 0 || k[2] != 0 || k[3] > 1 || len(v) < 6 || v[0] != 0 {
		return false, false
	}
	return true, k[3] == 0
}

// notObject says why a message value is not one JSON object, or "". It
// checks the value as HTTP ingest checks a single-object body (jsonsyntax,
// the same nesting limit, strings valid UTF-8), and says what is wrong and
// where: "at byte N" is a 0-based offset into the message value, leading
// whitespace included (the server's NDJSON columns are 1-based).
func notObject(v []byte) string {
	i := jsonsyntax.SkipSpace(v, 0)
	switch {
	case i == len(v):
		return "empty message value"
	case v[i] != '{':
		return "message value is not a JSON object (starts with " + jsonsyntax.QuoteByte(v[i]) + ")"
	}
	end, err := jsonsyntax.Object(v, i, 1)
	if err != nil {
		return "message value is not valid JSON: " + err.Msg + " at byte " + strconv.Itoa(err.Offset)
	}
	if rest := jsonsyntax.SkipSpace(v, end); rest != len(v) {
		return "message value is not valid JSON: unexpected data after the object at byte " + strconv.Itoa(rest)
	}
	return ""
}

// deadSchema names the fields of a dead-lettered Kafka message.
var deadSchema = operators.NewSchema("stream", "source", "reason", "topic", "partition", "offset", "key", "value")

func (d *decoder) deadLetter(m *kafkago.Message, reason string, now int64) *operators.Record {
	d.log.Warn("kafka message dead-lettered", "partition", m.Partition, "offset", m.Offset, "reason", reason)
	return &operators.Record{Arrival: now, Schema: deadSchema, Values: []operators.Value{
		operators.Str(d.stream), operators.Str("kafka"), operators.Str(reason),
		operators.Str(d.topic), operators.Int(int64(m.Partition)), operators.Int(m.Offset),
		keyValue(m.Key), operators.Str(string(m.Value)),
	}}
}

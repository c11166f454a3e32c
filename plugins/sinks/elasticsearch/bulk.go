package elasticsearch

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/buger/jsonparser"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

// writer turns batches of rows into _bulk requests. It runs on the
// buffer's writer goroutine only, so its scratch space is unshared.
type writer struct {
	client   *elasticsearch.Client
	index    *indexPattern
	id       *rowtemplate.Template
	timeCol  string
	create   bool   // "create" actions: the first document with an _id stays
	settings []byte // index settings JSON from the annotation, or nil

	created map[string]bool // indices known to exist
	body    []byte          // the NDJSON request
	lastReq *requestBody    // the transport may still read body until it closes this
	resp    bytes.Buffer    // the answer
	sent    []*operators.Record
	names   []string
	scratch []byte
}

// send is the buffer's Sender: create missing indices, then one _bulk
// request with an index action per row (overwriting by _id, so replays
// change nothing), then sort the answer's items into acknowledged, retry
// and rejected.
func (w *writer) send(ctx context.Context, rows []*operators.Record) (buffer.Result, error) {
	var res buffer.Result
	w.names = w.names[:0]
	for _, r := range rows {
		w.names = append(w.names, w.index.name(w.timeOf(r)))
	}
	var refused map[string]string
	for i, name := range w.names {
		if w.created[name] || refused[name] != "" {
			continue
		}
		why, err := w.ensureIndex(ctx, name, rows[i])
		if err != nil {
			return buffer.Result{}, err
		}
		if why != "" {
			if refused == nil {
				refused = map[string]string{}
			}
			refused[name] = why
		}
	}

	res.Rejected = w.encode(rows, refused, res.Rejected)
	if len(w.sent) == 0 {
		return res, nil
	}

	w.lastReq = &requestBody{Reader: bytes.NewReader(w.body)}
	answer, err := esapi.BulkRequest{Body: w.lastReq}.Do(ctx, w.client)
	if err != nil {
		return buffer.Result{}, fmt.Errorf("elasticsearch bulk of %d documents: %w", len(w.sent), err)
	}
	defer answer.Body.Close()
	w.resp.Reset()
	if _, err := io.Copy(&w.resp, answer.Body); err != nil {
		return buffer.Result{}, fmt.Errorf("elasticsearch bulk of %d documents: read answer: %w", len(w.sent), err)
	}
	body := w.resp.Bytes()
	if answer.StatusCode >= 300 {
		typ, reason := errorOf(body)
		err := fmt.Errorf("elasticsearch bulk of %d documents: %d %s: %s", len(w.sent), answer.StatusCode, typ, reason)
		if retryableStatus(answer.StatusCode) {
			return buffer.Result{}, err
		}
		return buffer.Result{}, buffer.Permanent(err)
	}
	if failed, _ := jsonparser.GetBoolean(body, "errors"); !failed {
		return res, nil
	}
	return w.items(body, res)
}

// encode builds the NDJSON body in w.body, one index action per row, and
// lists the rows it holds in w.sent; rows it cannot send are rejected.
func (w *writer) encode(rows []*operators.Record, refused map[string]string, rejected []buffer.Rejection) []buffer.Rejection {
	if w.lastReq != nil && !w.lastReq.closed.Load() {
		w.body = nil // still the transport's: start a new one
	}
	w.body = w.body[:0]
	w.sent = w.sent[:0]
	for i, r := range rows {
		if why := refused[w.names[i]]; why != "" {
			rejected = append(rejected, buffer.Rejection{Row: r, Reason: why})
			continue
		}
		id := w.docID(r)
		if len(id) > 512 {
			rejected = append(rejected, buffer.Rejection{Row: r, Reason: fmt.Sprintf("document id is %d bytes, Elasticsearch allows 512: %.40s…", len(id), id)})
			continue
		}
		action := `{"index":{"_index":`
		if w.create {
			action = `{"create":{"_index":`
		}
		b := append(w.body, action...)
		b = operators.AppendJSONString(b, w.names[i])
		b = append(b, `,"_id":`...)
		b = operators.AppendJSONBytes(b, id)
		b = append(b, "}}\n"...)
		b = r.AppendJSON(b)
		w.body = append(b, '\n')
		w.sent = append(w.sent, r)
	}
	return rejected
}

// requestBody tells the writer when the HTTP transport is done with the
// request bytes: it may read them even after the answer arrived, and only
// then may the writer reuse them.
type requestBody struct {
	*bytes.Reader
	closed atomic.Bool
}

func (b *requestBody) Close() error {
	b.closed.Store(true)
	return nil
}

// items sorts a bulk answer with errors: per-item 429 and 5xx are retried,
// other failures (mapping errors) are rejected with Elasticsearch's reason.
func (w *writer) items(body []byte, res buffer.Result) (buffer.Result, error) {
	i := 0
	var perr error
	_, err := jsonparser.ArrayEach(body, func(item []byte, _ jsonparser.ValueType, _ int, _ error) {
		if perr != nil {
			return
		}
		if i >= len(w.sent) {
			perr = errors.New("more items than documents")
			return
		}
		row := w.sent[i]
		i++
		actions := 0
		err := jsonparser.ObjectEach(item, func(action, result []byte, _ jsonparser.ValueType, _ int) error {
			if actions++; actions > 1 {
				return fmt.Errorf("item %d has more than one action", i)
			}
			status, err := jsonparser.GetInt(result, "status")
			if err != nil {
				return fmt.Errorf("item %d has no status", i)
			}
			typ, _ := jsonparser.GetString(result, "error", "type")
			if status < 300 || (status == 409 && typ == "version_conflict_engine_exception" && string(action) == "create") {
				return nil // a create that finds the document there is done
			}
			reason, _ := jsonparser.GetString(result, "error", "reason")
			id, _ := jsonparser.GetString(result, "_id")
			index, _ := jsonparser.GetString(result, "_index")
			why := fmt.Sprintf("elasticsearch refused document %s in %s: %d %s: %s", id, index, status, typ, reason)
			if retryableStatus(int(status)) {
				res.Retry = append(res.Retry, row)
				res.RetryReason = why
			} else {
				res.Rejected = append(res.Rejected, buffer.Rejection{Row: row, Reason: why})
			}
			return nil
		})
		if err == nil && actions == 0 {
			err = fmt.Errorf("item %d has no action", i)
		}
		perr = err
	}, "items")
	if err == nil {
		err = perr
	}
	if err == nil && i != len(w.sent) {
		err = fmt.Errorf("%d items for %d documents", i, len(w.sent))
	}
	if err != nil {
		return buffer.Result{}, fmt.Errorf("elasticsearch bulk answer: %w", err)
	}
	return res, nil
}

// docID renders the row's id column or template into w.scratch, valid
// until the next call; a row without one is identified by a hash of its
// JSON, so identical rows still overwrite.
func (w *writer) docID(r *operators.Record) []byte {
	if b, err := w.id.Append(w.scratch[:0], r); err == nil {
		w.scratch = b
		return b
	}
	h := fnv.New128a()
	w.scratch = r.AppendJSON(w.scratch[:0])
	h.Write(w.scratch)
	var sum [16]byte
	w.scratch = hex.AppendEncode(w.scratch[:0], h.Sum(sum[:0]))
	return w.scratch
}

// timeOf is the row's time column in epoch ms (a number, or a date
// string), else its arrival time, else now.
func (w *writer) timeOf(r *operators.Record) int64 {
	v := r.Get(w.timeCol)
	switch v.Kind {
	case operators.KindInt:
		return v.I
	case operators.KindFloat:
		return int64(v.Float64())
	case operators.KindString:
		if ms, err := strconv.ParseInt(v.S, 10, 64); err == nil {
			return ms
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, v.S); err == nil {
				return t.UnixMilli()
			}
		}
	}
	if r.Arrival != 0 {
		return r.Arrival
	}
	return time.Now().UnixMilli()
}

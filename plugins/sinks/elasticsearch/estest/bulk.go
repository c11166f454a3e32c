package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// bulkOp is one action/metadata line and, except for delete, its source line.
type bulkOp struct {
	action string
	index  string
	id     string
	source []byte
}

var bulkParams = map[string]bool{
	"_index": true, "_id": true, "routing": true, "version": true, "version_type": true,
	"if_seq_no": true, "if_primary_term": true, "pipeline": true, "require_alias": true,
	"dynamic_templates": true, "require_data_stream": true, "list_executed_pipelines": true,
	"retry_on_conflict": true, "_source": true,
}

// parseBulk checks the NDJSON body line by line as Elasticsearch does;
// any malformed line fails the whole request.
func parseBulk(body []byte, urlIndex string) ([]bulkOp, *esError) {
	if len(body) == 0 {
		return nil, errorf(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
	}
	if body[len(body)-1] != '\n' {
		return nil, errorf(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
	}
	lines := bytes.Split(body[:len(body)-1], []byte{'\n'})
	var ops []bulkOp
	var invalid []string
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := bytes.TrimSuffix(lines[i], []byte{'\r'})
		var action map[string]json.RawMessage
		if err := json.Unmarshal(line, &action); err != nil {
			if len(bytes.TrimSpace(line)) == 0 || line[0] != '{' {
				return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected START_OBJECT but found [%s]", n, tokenName(line))
			}
			return nil, errorf(400, "x_content_parse_exception", "[%d:1] Malformed action/metadata line [%d]: %v", n, n, err)
		}
		if len(action) == 0 {
			return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected FIELD_NAME but found [END_OBJECT]", n)
		}
		if len(action) > 1 {
			return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected END_OBJECT but found [FIELD_NAME]", n)
		}
		var op bulkOp
		var rawMeta json.RawMessage
		for name, meta := range action {
			op.action, rawMeta = name, meta
		}
		switch op.action {
		case "index", "create", "update", "delete":
		default:
			return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", n, op.action)
		}
		var meta map[string]any
		if err := decodeJSON(rawMeta, &meta); err != nil || meta == nil {
			return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected START_OBJECT but found [%s]", n, tokenName(rawMeta))
		}
		for k, v := range meta {
			if !bulkParams[k] {
				return nil, errorf(400, "illegal_argument_exception", "Action/metadata line [%d] contains an unknown parameter [%s]", n, k)
			}
			if (k == "_index" || k == "_id") && !isString(v) {
				return nil, errorf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], %s must be a string", n, k)
			}
		}
		op.index, _ = meta["_index"].(string)
		op.id, _ = meta["_id"].(string)
		if op.index == "" {
			op.index = urlIndex
		}
		if op.index == "" {
			invalid = append(invalid, "index is missing")
		}
		if op.id == "" && (op.action == "update" || op.action == "delete") {
			invalid = append(invalid, "id is missing")
		}
		if len(op.id) > 512 {
			invalid = append(invalid, fmt.Sprintf("id [%s] is too long, must be no longer than 512 bytes but was: %d", op.id, len(op.id)))
		}
		if op.action != "delete" {
			i++
			if i >= len(lines) {
				invalid = append(invalid, "source is missing")
			} else {
				op.source = bytes.TrimSuffix(lines[i], []byte{'\r'})
			}
		}
		ops = append(ops, op)
	}
	if len(invalid) > 0 {
		var b strings.Builder
		b.WriteString("Validation Failed: ")
		for i, msg := range invalid {
			fmt.Fprintf(&b, "%d: %s;", i+1, msg)
		}
		return nil, errorf(400, "action_request_validation_exception", "%s", b.String())
	}
	return ops, nil
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// tokenName names the JSON token a line starts with, as Jackson does.
func tokenName(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "null"
	}
	switch b[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't':
		return "VALUE_TRUE"
	case 'f':
		return "VALUE_FALSE"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER_INT"
}

// bulkItem is one entry of a bulk response's items, in Elasticsearch's field order.
type bulkItem struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	Version     int64          `json:"_version,omitempty"`
	Result      string         `json:"result,omitempty"`
	Shards      *shardsInfo    `json:"_shards,omitempty"`
	SeqNo       *int64         `json:"_seq_no,omitempty"`
	PrimaryTerm int64          `json:"_primary_term,omitempty"`
	Status      int            `json:"status"`
	Error       map[string]any `json:"error,omitempty"`
}

type shardsInfo struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

type bulkResponse struct {
	Took   int64                 `json:"took"`
	Errors bool                  `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errorf(400, "parse_exception", "read body: %v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulks++
	if s.rejectBulk > 0 {
		s.rejectBulk--
		writeError(w, errorf(429, "es_rejected_execution_exception",
			"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=%d, max_coordinating_and_primary_bytes=0]", len(body)))
		return
	}
	urlIndex := r.PathValue("index")
	if urlIndex != "" {
		if e := checkIndexName(urlIndex); e != nil {
			writeError(w, e)
			return
		}
	}
	ops, e := parseBulk(body, urlIndex)
	if e != nil {
		writeError(w, e)
		return
	}
	resp := bulkResponse{Items: make([]map[string]bulkItem, len(ops))}
	for i, op := range ops {
		item := s.apply(op)
		if item.Error != nil {
			resp.Errors = true
		}
		resp.Items[i] = map[string]bulkItem{op.action: item}
	}
	resp.Took = time.Since(start).Milliseconds()
	writeJSON(w, 200, resp)
}

// apply runs one bulk operation; s.mu is held.
func (s *Server) apply(op bulkOp) bulkItem {
	if op.id == "" {
		op.id = randomID()
	}
	item := bulkItem{Index: op.index, ID: op.id}
	fail := func(e *esError) bulkItem {
		item.Status, item.Error = e.Status, e.cause()
		return item
	}
	if e := checkIndexName(op.index); e != nil {
		return fail(e)
	}
	if s.rejectItems > 0 {
		s.rejectItems--
		return fail(errorf(429, "es_rejected_execution_exception", "rejected execution of primary operation [shard_id=[%s][0], write queue full]", op.index))
	}
	if reason, ok := s.failIDs[op.id]; ok && op.action != "delete" {
		return fail(errorf(400, "document_parsing_exception", "%s", reason))
	}
	ix, ok := s.indices[op.index]
	if !ok {
		if op.action == "delete" || op.action == "update" {
			return fail(errorf(404, "index_not_found_exception", "no such index [%s]", op.index))
		}
		ix = newIndex(op.index, false)
		s.indices[op.index] = ix
	}
	var parsed map[string]any
	if op.action != "delete" {
		var v any
		if err := decodeJSON(op.source, &v); err != nil {
			return fail(errorf(400, "document_parsing_exception", "[1:1] failed to parse: %v", err))
		}
		if parsed, ok = v.(map[string]any); !ok {
			return fail(errorf(400, "document_parsing_exception", "[1:1] failed to parse: Malformed content, must start with an object, but found [%s]", tokenName(op.source)))
		}
	}
	existing, exists := ix.docs[op.id]
	switch op.action {
	case "delete":
		if !exists {
			item.Result, item.Status, item.Version = "not_found", 404, 1
			ix.seqNo++
			return s.done(ix, item)
		}
		delete(ix.docs, op.id)
		item.Result, item.Status, item.Version = "deleted", 200, existing.version+1
		ix.seqNo++
		return s.done(ix, item)
	case "create":
		if exists {
			return fail(errorf(409, "version_conflict_engine_exception", "[%s]: version conflict, document already exists (current version [%d])", op.id, existing.version))
		}
	case "update":
		merged, e := updateDoc(op.id, parsed, existing)
		if e != nil {
			return fail(e)
		}
		if exists && reflect.DeepEqual(merged, existing.parsed) {
			item.Result, item.Status, item.Version = "noop", 200, existing.version
			return s.done(ix, item)
		}
		parsed = merged
		op.source, _ = json.Marshal(merged)
	}
	if e := ix.mapping.checkDoc(parsed, op.id); e != nil {
		return fail(e)
	}
	d, existed := ix.put(op.id, op.source, parsed)
	item.Version = d.version
	item.Result, item.Status = "created", 201
	if existed {
		item.Result, item.Status = "updated", 200
	}
	return s.done(ix, item)
}

func (s *Server) done(ix *index, item bulkItem) bulkItem {
	seq := ix.seqNo - 1
	item.SeqNo, item.PrimaryTerm = &seq, 1
	item.Shards = &shardsInfo{Total: 2, Successful: 1}
	return item
}

// updateDoc applies an update request body to the existing document.
func updateDoc(id string, body map[string]any, existing *doc) (map[string]any, *esError) {
	for k := range body {
		switch k {
		case "doc", "doc_as_upsert", "upsert", "detect_noop", "_source":
		case "script":
			return nil, errorf(400, "illegal_argument_exception", "the stand-in does not run update scripts")
		default:
			return nil, errorf(400, "x_content_parse_exception", "[1:2] [UpdateRequest] unknown field [%s]", k)
		}
	}
	partial, hasDoc := body["doc"].(map[string]any)
	upsert, hasUpsert := body["upsert"].(map[string]any)
	if !hasDoc && !hasUpsert {
		return nil, errorf(400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;")
	}
	if existing == nil {
		switch {
		case body["doc_as_upsert"] == true && hasDoc:
			return partial, nil
		case hasUpsert:
			return upsert, nil
		}
		return nil, errorf(404, "document_missing_exception", "[%s]: document missing", id)
	}
	return mergeDoc(existing.parsed, partial), nil
}

func mergeDoc(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if cur, ok := out[k].(map[string]any); ok {
				out[k] = mergeDoc(cur, sub)
				continue
			}
		}
		out[k] = v
	}
	return out
}

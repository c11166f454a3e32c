package estest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
)

// call sends a request and decodes the JSON answer.
func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Fatalf("X-Elastic-Product header %q", got)
	}
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s answered non-JSON %q", method, path, raw)
		}
	}
	delete(out, "took")
	return resp.StatusCode, out
}

// parse is JSON text as the decoded value call returns, for comparisons.
func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return out
}

func same(t *testing.T, what string, got map[string]any, want string) {
	t.Helper()
	if w := parse(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Fatalf("%s:\n got %s\nwant %s", what, g, want)
	}
}

func errBody(status int, typ, reason string) string {
	c, _ := json.Marshal(map[string]string{"type": typ, "reason": reason})
	return `{"error":{"root_cause":[` + string(c) + `],"type":` + jsonString(typ) + `,"reason":` + jsonString(reason) + `},"status":` + itoa(status) + `}`
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestOfficialClientAcceptsTheStandIn(t *testing.T) {
	s := New(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{s.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Indices.Create("logs", es.Indices.Create.WithBody(strings.NewReader(`{"mappings":{"properties":{"page":{"type":"keyword"}}}}`)))
	if err != nil || res.IsError() {
		t.Fatalf("create: %v %v", err, res)
	}
	res.Body.Close()
	res, err = es.Bulk(strings.NewReader(`{"index":{"_index":"logs","_id":"1"}}`+"\n"+`{"page":"/a"}`+"\n"), es.Bulk.WithContext(context.Background()))
	if err != nil || res.IsError() {
		t.Fatalf("bulk: %v %v", err, res)
	}
	res.Body.Close()
	res, err = es.Get("logs", "1")
	if err != nil || res.IsError() {
		t.Fatalf("get: %v %v", err, res)
	}
	defer res.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(res.Body).Decode(&doc)
	same(t, "GET _doc", doc, `{"_index":"logs","_id":"1","_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":{"page":"/a"}}`)
}

func TestCreateIndex(t *testing.T) {
	s := New(t)
	status, body := call(t, s, "PUT", "/metrics-2026.11.21", `{"settings":{"number_of_shards":1},"mappings":{"dynamic_templates":[{"strings":{"match_mapping_type":"string","mapping":{"type":"keyword"}}}],"properties":{"country":{"type":"keyword"},"window_start":{"type":"date","format":"epoch_millis"},"views":{"type":"long"}}}}`)
	if status != 200 {
		t.Fatalf("create: %d %v", status, body)
	}
	same(t, "create", body, `{"acknowledged":true,"shards_acknowledged":true,"index":"metrics-2026.11.21"}`)
	uuid := s.indices["metrics-2026.11.21"].uuid
	status, body = call(t, s, "PUT", "/metrics-2026.11.21", `{}`)
	if status != 400 {
		t.Fatalf("second create: %d", status)
	}
	same(t, "second create", body, errBody(400, "resource_already_exists_exception", "index [metrics-2026.11.21/"+uuid+"] already exists"))
	if n := s.CreateRequests("metrics-2026.11.21"); n != 2 {
		t.Fatalf("CreateRequests = %d", n)
	}
	status, body = call(t, s, "GET", "/metrics-2026.11.21/_mapping", "")
	same(t, "mapping", body, `{"metrics-2026.11.21":{"mappings":{"dynamic_templates":[{"strings":{"match_mapping_type":"string","mapping":{"type":"keyword"}}}],"properties":{"country":{"type":"keyword"},"views":{"type":"long"},"window_start":{"type":"date","format":"epoch_millis"}}}}}`)
	if got := s.Settings("metrics-2026.11.21")["index.number_of_shards"]; got != "1" || status != 200 || !s.Explicit("metrics-2026.11.21") {
		t.Fatalf("settings %v", s.Settings("metrics-2026.11.21"))
	}

	for _, tc := range []struct{ name, body, want string }{
		{"Upper", "", errBody(400, "invalid_index_name_exception", "Invalid index name [Upper], must be lowercase")},
		{"_x", "", errBody(400, "invalid_index_name_exception", "Invalid index name [_x], must not start with '_', '-', or '+'")},
		{"a", `{"mappings":{"properties":{"f":{"type":"strng"}}}}`, errBody(400, "mapper_parsing_exception", "Failed to parse mapping: No handler for type [strng] declared on field [f]")},
		{"b", `{"settings":{"number_of_shardz":1}}`, errBody(400, "illegal_argument_exception", "unknown setting [index.number_of_shardz] please check that any required plugins are installed, or check the breaking changes documentation for removed settings")},
		{"c", `{"mapping":{}}`, errBody(400, "parse_exception", "unknown key [mapping] for create index")},
		{"d", `{"settings":{"number_of_shards":0}}`, errBody(400, "illegal_argument_exception", "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1")},
	} {
		status, body := call(t, s, "PUT", "/"+tc.name, tc.body)
		if status != 400 {
			t.Errorf("%s: status %d", tc.name, status)
		}
		same(t, tc.name, body, tc.want)
	}
	if status, _ := call(t, s, "HEAD", "/metrics-2026.11.21", ""); status != 200 {
		t.Fatalf("HEAD existing: %d", status)
	}
	if status, _ := call(t, s, "HEAD", "/nope", ""); status != 404 {
		t.Fatalf("HEAD missing: %d", status)
	}
}

func TestBulkRefusesMalformedRequests(t *testing.T) {
	s := New(t)
	for _, tc := range []struct {
		what, path, body string
		status           int
		typ, reason      string
	}{
		{"no final newline", "/_bulk", `{"index":{"_index":"a"}}` + "\n" + `{"x":1}`, 400, "illegal_argument_exception", `The bulk request must be terminated by a newline [\n]`},
		{"empty", "/_bulk", "", 400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"},
		{"action not an object", "/_bulk", `"index"` + "\n", 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]"},
		{"unknown action", "/_bulk", `{"upsert":{"_index":"a"}}` + "\n{}\n", 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]"},
		{"two actions", "/_bulk", `{"index":{},"delete":{}}` + "\n", 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]"},
		{"unknown parameter", "/_bulk", `{"index":{"_index":"a","_type":"doc"}}` + "\n{}\n", 400, "illegal_argument_exception", "Action/metadata line [1] contains an unknown parameter [_type]"},
		{"bad third line", "/_bulk", `{"index":{"_index":"a"}}` + "\n{}\n[1]\n", 400, "illegal_argument_exception", "Malformed action/metadata line [3], expected START_OBJECT but found [START_ARRAY]"},
		{"missing index and id", "/_bulk", `{"index":{}}` + "\n{}\n" + `{"delete":{"_index":"a"}}` + "\n", 400, "action_request_validation_exception", "Validation Failed: 1: index is missing;2: id is missing;"},
		{"missing source", "/a/_bulk", `{"index":{"_id":"1"}}` + "\n", 400, "action_request_validation_exception", "Validation Failed: 1: source is missing;"},
		{"id too long", "/a/_bulk", `{"index":{"_id":"` + strings.Repeat("x", 513) + `"}}` + "\n{}\n", 400, "action_request_validation_exception", "Validation Failed: 1: id [" + strings.Repeat("x", 513) + "] is too long, must be no longer than 512 bytes but was: 513;"},
	} {
		status, body := call(t, s, "POST", tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.what, status, tc.status)
		}
		same(t, tc.what, body, errBody(tc.status, tc.typ, tc.reason))
	}
	req, _ := http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader("{}\n"))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 406 {
		t.Fatalf("text/plain body: status %d, want 406", resp.StatusCode)
	}
	if got := s.Indices(); len(got) != 0 {
		t.Fatalf("refused requests created indices %v", got)
	}
}

func TestBulkItems(t *testing.T) {
	s := New(t)
	call(t, s, "PUT", "/m", `{"mappings":{"dynamic":"strict","properties":{"n":{"type":"long"},"tag":{"type":"keyword"},"o":{"properties":{"x":{"type":"long"}}}}}}`)
	body := strings.Join([]string{
		`{"index":{"_index":"m","_id":"1"}}`, `{"n":1,"tag":"a"}`,
		`{"index":{"_index":"m","_id":"1"}}`, `{"n":2,"tag":"a"}`,
		`{"create":{"_index":"m","_id":"1"}}`, `{"n":3}`,
		`{"update":{"_index":"m","_id":"1"}}`, `{"doc":{"tag":"b"}}`,
		`{"update":{"_index":"m","_id":"9"}}`, `{"doc":{"tag":"b"}}`,
		`{"index":{"_index":"m","_id":"2"}}`, `{"n":"many"}`,
		`{"index":{"_index":"m","_id":"3"}}`, `{"extra":1}`,
		`{"index":{"_index":"m","_id":"4"}}`, `[1,2]`,
		`{"index":{"_index":"m","_id":"5"}}`, `{"_id":"5"}`,
		`{"index":{"_index":"m","_id":"6"}}`, `{"o":7}`,
		`{"delete":{"_index":"m","_id":"1"}}`,
		`{"delete":{"_index":"m","_id":"1"}}`,
	}, "\n") + "\n"
	status, resp := call(t, s, "POST", "/_bulk", body)
	if status != 200 {
		t.Fatalf("status %d: %v", status, resp)
	}
	ok := func(action, id string, version, seq, status int, result string) string {
		return `{"` + action + `":{"_index":"m","_id":"` + id + `","_version":` + itoa(version) + `,"result":"` + result + `","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":` + itoa(seq) + `,"_primary_term":1,"status":` + itoa(status) + `}}`
	}
	bad := func(action, id string, status int, typ, reason string) string {
		return `{"` + action + `":{"_index":"m","_id":"` + id + `","status":` + itoa(status) + `,"error":{"type":"` + typ + `","reason":` + jsonString(reason) + `}}}`
	}
	same(t, "bulk items", resp, `{"errors":true,"items":[`+strings.Join([]string{
		ok("index", "1", 1, 0, 201, "created"),
		ok("index", "1", 2, 1, 200, "updated"),
		bad("create", "1", 409, "version_conflict_engine_exception", "[1]: version conflict, document already exists (current version [2])"),
		ok("update", "1", 3, 2, 200, "updated"),
		bad("update", "9", 404, "document_missing_exception", "[9]: document missing"),
		bad("index", "2", 400, "document_parsing_exception", "[1:2] failed to parse field [n] of type [long] in document with id '2'. Preview of field's value: 'many'"),
		bad("index", "3", 400, "strict_dynamic_mapping_exception", "[1:2] mapping set to strict, dynamic introduction of [extra] within [_doc] is not allowed"),
		bad("index", "4", 400, "document_parsing_exception", "[1:1] failed to parse: Malformed content, must start with an object, but found [START_ARRAY]"),
		bad("index", "5", 400, "document_parsing_exception", "[1:2] Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters."),
		bad("index", "6", 400, "document_parsing_exception", "[1:2] object mapping for [o] tried to parse field [o] as object, but found a concrete value"),
		ok("delete", "1", 4, 3, 200, "deleted"),
		ok("delete", "1", 1, 4, 404, "not_found"),
	}, ",")+`]}`)
	if docs := s.Docs("m"); len(docs) != 0 {
		t.Fatalf("docs left %v", docs)
	}
}

func TestDynamicMappingOfAutoCreatedIndex(t *testing.T) {
	s := New(t)
	status, resp := call(t, s, "POST", "/auto/_bulk", `{"index":{"_id":"a"}}`+"\n"+`{"s":"x","i":3,"f":1.5,"b":true,"d":"2026-11-21T10:00:00Z","o":{"k":"v"}}`+"\n")
	if status != 200 || resp["errors"] != false {
		t.Fatalf("%d %v", status, resp)
	}
	if s.Explicit("auto") {
		t.Fatal("an index created by a write is not explicit")
	}
	got, _ := json.Marshal(s.Mapping("auto"))
	want := `{"properties":{"b":{"type":"boolean"},"d":{"format":"strict_date_optional_time||epoch_millis","type":"date"},"f":{"type":"float"},"i":{"type":"long"},"o":{"properties":{"k":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}}},"s":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}}}`
	if string(got) != want {
		t.Fatalf("mapping\n got %s\nwant %s", got, want)
	}
	if string(s.Docs("auto")["a"]) != `{"s":"x","i":3,"f":1.5,"b":true,"d":"2026-11-21T10:00:00Z","o":{"k":"v"}}` {
		t.Fatalf("doc %s", s.Docs("auto")["a"])
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	doc := `{"index":{"_index":"f","_id":"1"}}` + "\n" + `{"n":1}` + "\n" + `{"index":{"_index":"f","_id":"2"}}` + "\n" + `{"n":2}` + "\n"

	s.RejectBulk(2)
	for range 2 {
		status, body := call(t, s, "POST", "/_bulk", doc)
		if status != 429 || body["error"].(map[string]any)["type"] != "es_rejected_execution_exception" {
			t.Fatalf("rejected bulk: %d %v", status, body)
		}
	}
	if status, body := call(t, s, "POST", "/_bulk", doc); status != 200 || body["errors"] != false {
		t.Fatalf("bulk after rejections: %d %v", status, body)
	}

	s.RejectItems(1)
	s.FailDoc("2", "failed to parse field [n] of type [long]")
	status, body := call(t, s, "POST", "/_bulk", doc)
	items := body["items"].([]any)
	first := items[0].(map[string]any)["index"].(map[string]any)
	second := items[1].(map[string]any)["index"].(map[string]any)
	if status != 200 || body["errors"] != true || first["status"] != 429.0 || second["status"] != 400.0 ||
		second["error"].(map[string]any)["reason"] != "failed to parse field [n] of type [long]" {
		t.Fatalf("item faults: %d %v", status, body)
	}
	if n := s.BulkRequests(); n != 4 {
		t.Fatalf("BulkRequests = %d, want 4", n)
	}

	s.SetUnavailable(true)
	if status, body := call(t, s, "POST", "/_bulk", doc); status != 503 {
		t.Fatalf("unavailable: %d %v", status, body)
	}
	s.SetUnavailable(false)

	s.Stop()
	if _, err := http.Get(s.URL()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("stopped server answered: %v", err)
	}
	s.Restart()
	if docs := s.Docs("f"); len(docs) != 2 || string(docs["1"]) != `{"n":1}` {
		t.Fatalf("docs after restart %v", docs)
	}
	if status, _ := call(t, s, "GET", "/f/_doc/2", ""); status != 200 {
		t.Fatalf("GET after restart: %d", status)
	}
}

// The seed paper's rollups: a terms aggregation by hour and a match on a
// dimension, over daily indices.
func TestSearch(t *testing.T) {
	s := New(t)
	for _, day := range []string{"2026.11.21", "2026.11.22"} {
		call(t, s, "PUT", "/metrics-"+day, `{"mappings":{"properties":{"country":{"type":"keyword"},"hour":{"type":"long"},"views":{"type":"long"},"window_start":{"type":"date","format":"epoch_millis"},"note":{"type":"text"}}}}`)
	}
	const h10 = 1795255200000 // 2026-11-21T10:00:00Z
	const h = 3600000
	var bulk strings.Builder
	for i, d := range []struct {
		index, country string
		hour, views    int
		start          int64
	}{
		{"metrics-2026.11.21", "DE", 10, 5, h10},
		{"metrics-2026.11.21", "US", 10, 7, h10 + 10000},
		{"metrics-2026.11.21", "DE", 12, 1, h10 + 2*h},
		{"metrics-2026.11.22", "FR", 3, 4, h10 + 17*h},
	} {
		bulk.WriteString(`{"index":{"_index":"` + d.index + `","_id":"d` + itoa(i) + `"}}` + "\n")
		bulk.WriteString(`{"country":"` + d.country + `","hour":` + itoa(d.hour) + `,"views":` + itoa(d.views) + `,"window_start":` + itoa(int(d.start)) + `,"note":"Fast Page load"}` + "\n")
	}
	if status, body := call(t, s, "POST", "/_bulk", bulk.String()); status != 200 || body["errors"] != false {
		t.Fatalf("%d %v", status, body)
	}

	_, body := call(t, s, "POST", "/metrics-2026.11.21/_search", `{"size":0,"aggs":{"by_hour":{"terms":{"field":"hour"},"aggs":{"views":{"sum":{"field":"views"}}}}}}`)
	same(t, "terms by hour", body, `{"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},
		"hits":{"total":{"value":3,"relation":"eq"},"max_score":1.0,"hits":[]},
		"aggregations":{"by_hour":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[
			{"key":10,"doc_count":2,"views":{"value":12.0}},{"key":12,"doc_count":1,"views":{"value":1.0}}]}}}`)

	_, body = call(t, s, "GET", "/metrics-*/_search", `{"query":{"match":{"country":"DE"}},"sort":[{"views":"desc"}]}`)
	same(t, "match by dimension", body, `{"timed_out":false,"_shards":{"total":2,"successful":2,"skipped":0,"failed":0},
		"hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[
			{"_index":"metrics-2026.11.21","_id":"d0","_score":null,"sort":[5],"_source":{"country":"DE","hour":10,"views":5,"window_start":1795255200000,"note":"Fast Page load"}},
			{"_index":"metrics-2026.11.21","_id":"d2","_score":null,"sort":[1],"_source":{"country":"DE","hour":12,"views":1,"window_start":1795262400000,"note":"Fast Page load"}}]}}`)

	_, body = call(t, s, "POST", "/metrics-2026.11.21/_search", `{"size":0,"aggs":{"per_hour":{"date_histogram":{"field":"window_start","calendar_interval":"hour"},"aggs":{"countries":{"terms":{"field":"country","size":1}}}}}}`)
	same(t, "date_histogram by hour", body["aggregations"].(map[string]any), `{"per_hour":{"buckets":[
		{"key":1795255200000,"key_as_string":"1795255200000","doc_count":2,"countries":{"doc_count_error_upper_bound":0,"sum_other_doc_count":1,"buckets":[{"key":"DE","doc_count":1}]}},
		{"key":1795258800000,"key_as_string":"1795258800000","doc_count":0,"countries":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[]}},
		{"key":1795262400000,"key_as_string":"1795262400000","doc_count":1,"countries":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[{"key":"DE","doc_count":1}]}}]}}`)

	for _, tc := range []struct{ query, ids string }{
		{`{"term":{"country":"de"}}`, ""},
		{`{"term":{"country":{"value":"US"}}}`, "d1"},
		{`{"match":{"note":"page"}}`, "d0,d1,d2,d3"},
		{`{"term":{"note":"Page"}}`, ""},
		{`{"range":{"views":{"gte":4,"lt":7}}}`, "d0,d3"},
		{`{"bool":{"filter":[{"term":{"hour":10}}],"must_not":{"term":{"country":"US"}}}}`, "d0"},
		{`{"terms":{"country":["FR","US"]}}`, "d1,d3"},
	} {
		status, body := call(t, s, "POST", "/metrics-*/_search", `{"query":`+tc.query+`}`)
		var ids []string
		for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
			ids = append(ids, h.(map[string]any)["_id"].(string))
		}
		if status != 200 || strings.Join(ids, ",") != tc.ids {
			t.Errorf("%s: %d %v, want %s", tc.query, status, ids, tc.ids)
		}
	}

	for _, tc := range []struct {
		path, body string
		status     int
		typ        string
	}{
		{"/metrics-*/_search", `{"aggs":{"x":{"terms":{"field":"note"}}}}`, 400, "illegal_argument_exception"},
		{"/metrics-*/_search", `{"query":{"fuzzy":{"country":"D"}}}`, 400, "parsing_exception"},
		{"/metrics-*/_search", `{"querry":{}}`, 400, "parsing_exception"},
		{"/metrics-*/_search", `{"aggs":{"x":{"date_histogram":{"field":"window_start","interval":"1h"}}}}`, 400, "x_content_parse_exception"},
		{"/nope/_search", `{}`, 404, "index_not_found_exception"},
	} {
		status, body := call(t, s, "POST", tc.path, tc.body)
		if status != tc.status || body["error"].(map[string]any)["type"] != tc.typ {
			t.Errorf("%s: %d %v, want %d %s", tc.body, status, body, tc.status, tc.typ)
		}
	}
}

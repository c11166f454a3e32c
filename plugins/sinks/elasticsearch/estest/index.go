package estest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// index is one index: its settings, mapping and documents.
type index struct {
	name     string
	uuid     string
	explicit bool // created by PUT /{index}, not by a write to a missing index
	settings map[string]string
	mapping  *mapping
	docs     map[string]*doc
	seqNo    int64
}

type doc struct {
	source  json.RawMessage
	parsed  map[string]any
	version int64
	seqNo   int64
}

func newIndex(name string, explicit bool) *index {
	return &index{
		name: name, uuid: randomID(), explicit: explicit, mapping: newMapping(), docs: map[string]*doc{},
		settings: map[string]string{"index.number_of_shards": "1", "index.number_of_replicas": "1"},
	}
}

var badIndexChars = regexp.MustCompile(`[\\/*?"<>| ,#:]`)

// checkIndexName applies Elasticsearch's rules for index names.
func checkIndexName(name string) *esError {
	bad := func(why string) *esError {
		return errorf(400, "invalid_index_name_exception", "Invalid index name [%s], %s", name, why)
	}
	switch {
	case name == "" || name == "." || name == "..":
		return bad("must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case strings.ContainsAny(name[:1], "-_+"):
		return bad("must not start with '_', '-', or '+'")
	case badIndexChars.MatchString(name):
		return bad(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?, #, :]`)
	case len(name) > 255:
		return bad("index name is too long, (" + strconv.Itoa(len(name)) + " > 255)")
	}
	return nil
}

// knownSettings are the index settings the stand-in accepts; like
// Elasticsearch, it refuses settings it does not know.
var knownSettings = map[string]bool{
	"index.number_of_shards": true, "index.number_of_replicas": true, "index.refresh_interval": true,
	"index.max_result_window": true, "index.codec": true, "index.mapping.total_fields.limit": true,
	"index.auto_expand_replicas": true,
}

// parseSettings flattens {"number_of_shards":1}, {"index":{…}} and
// {"index.number_of_shards":"1"} alike into "index.*" keys with string values.
func parseSettings(raw any) (map[string]string, *esError) {
	out := map[string]string{}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errorf(400, "settings_exception", "Failed to load settings from [%s]", compact(raw))
	}
	var flatten func(prefix string, v any)
	flatten = func(prefix string, v any) {
		if o, ok := v.(map[string]any); ok {
			for k, sub := range o {
				flatten(strings.TrimPrefix(prefix+"."+k, "."), sub)
			}
			return
		}
		out[prefix] = textOf(v)
	}
	flatten("", obj)
	norm := map[string]string{}
	for k, v := range out {
		if !strings.HasPrefix(k, "index.") {
			k = "index." + k
		}
		norm[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(norm)) {
		v := norm[k]
		if !knownSettings[k] && !strings.HasPrefix(k, "index.analysis.") {
			return nil, errorf(400, "illegal_argument_exception", "unknown setting [%s] please check that any required plugins are installed, or check the breaking changes documentation for removed settings", k)
		}
		switch k {
		case "index.number_of_shards":
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1024 {
				return nil, errorf(400, "illegal_argument_exception", "Failed to parse value [%s] for setting [index.number_of_shards] must be >= 1", v)
			}
		case "index.number_of_replicas":
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return nil, errorf(400, "illegal_argument_exception", "Failed to parse value [%s] for setting [index.number_of_replicas] must be >= 0", v)
			}
		}
	}
	return norm, nil
}

// createIndex handles the body of PUT /{index}.
func createIndex(name string, body []byte) (*index, *esError) {
	if err := checkIndexName(name); err != nil {
		return nil, err
	}
	ix := newIndex(name, true)
	if len(strings.TrimSpace(string(body))) == 0 {
		return ix, nil
	}
	var req map[string]any
	if err := decodeJSON(body, &req); err != nil {
		return nil, errorf(400, "x_content_parse_exception", "[1:1] failed to parse create index request: %v", err)
	}
	for k, v := range req {
		switch k {
		case "settings":
			s, err := parseSettings(v)
			if err != nil {
				return nil, err
			}
			maps.Copy(ix.settings, s)
		case "mappings":
			m, err := parseMapping(v)
			if err != nil {
				return nil, err
			}
			ix.mapping = m
		case "aliases":
		default:
			return nil, errorf(400, "parse_exception", "unknown key [%s] for create index", k)
		}
	}
	return ix, nil
}

// put stores a document, returning its new version and whether it existed.
func (ix *index) put(id string, source []byte, parsed map[string]any) (d *doc, existed bool) {
	old, existed := ix.docs[id]
	d = &doc{source: append(json.RawMessage(nil), source...), parsed: parsed, version: 1, seqNo: ix.seqNo}
	if existed {
		d.version = old.version + 1
	}
	ix.seqNo++
	ix.docs[id] = d
	return d, existed
}

func randomID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeJSON decodes one JSON value, keeping numbers exact, and refuses
// trailing data.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

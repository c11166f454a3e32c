// Package elasticsearch is the @Sink(type="elasticsearch") plugin: rows go
// to daily (or hourly) indices through the _bulk API, each document's _id
// being the row's stable key so that replays and late updates overwrite.
//
// It speaks _bulk through the official client's esapi rather than
// esutil.BulkIndexer: the indexer has a buffer, workers and flush timer of
// its own, offers no flush that waits for acknowledgement short of Close,
// and retries whole requests only. The shared sink buffer gives the same
// bounded back-pressure, per-document retries and dead letters as every
// other sink.
package elasticsearch

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"sluice/operators"
	"sluice/plugins/sinks/buffer"
	"sluice/plugins/sinks/rowtemplate"
)

var args = append([]operators.ArgSpec{
	{Name: "index", Required: true, Doc: `index name pattern over the row's time in UTC, e.g. "metrics-{yyyy.MM.dd}"; tokens yyyy yy MM dd HH`},
	{Name: "id", Doc: `document _id: a column or template (default "_key"); rows without it get a hash of their JSON`},
	{Name: "time", Doc: `column whose time picks the index (default "window_start"; arrival time when absent)`},
	{Name: "action", Doc: `"index" (default): a row overwrites the document with its _id; "create": the first row with an _id stays, later ones are acknowledged and dropped (first page view of a device per day)`},
	{Name: "settings", Doc: `index settings JSON for indices the sink creates, e.g. '{"number_of_shards":1}'`},
}, buffer.Args...)

func init() {
	operators.RegisterSink(operators.SinkPlugin{
		Name: "elasticsearch",
		Doc:  "Indexes rows into Elasticsearch with the _bulk API; _id is the row's key, so writes are idempotent.",
		Args: args,
		New:  New,
	})
}

// Sink writes a statement's rows to Elasticsearch through a delivery buffer.
type Sink struct {
	*buffer.Buffer // Write, Flush, Counters and Stats
	transport      *http.Transport
}

// New builds an Elasticsearch sink from a @Sink annotation.
func New(cfg operators.SinkConfig) (operators.Sink, error) {
	w, err := newWriter(cfg.Args, cfg.Columns)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch sink: %w", err)
	}
	opt, err := buffer.ParseOptions(cfg.Args)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch sink: %w", err)
	}
	if cfg.Env == nil || cfg.Env.ESURL == "" {
		return nil, fmt.Errorf("elasticsearch sink: no Elasticsearch address (set --es-url): %w", operators.ErrNotConfigured)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4
	transport.ResponseHeaderTimeout = time.Minute
	if cfg.Env.ESInsecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if w.client, err = newClient(cfg.Env, transport); err != nil {
		return nil, fmt.Errorf("elasticsearch sink: %w", err)
	}
	return &Sink{Buffer: buffer.New(cfg.Query, "elasticsearch", cfg.Env, opt, w.send), transport: transport}, nil
}

// newClient connects to --es-url (comma-separated for several nodes) with
// the configured credentials. The client does not retry on its own: the
// buffer does, with backoff, and counts it.
func newClient(env *operators.Env, transport http.RoundTripper) (*elasticsearch.Client, error) {
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:    strings.Split(env.ESURL, ","),
		Username:     env.ESUsername,
		Password:     env.ESPassword,
		APIKey:       env.ESAPIKey,
		DisableRetry: true,
		Transport:    transport,
	})
	if err != nil {
		return nil, fmt.Errorf("--es-url %q: %w", env.ESURL, err)
	}
	return c, nil
}

func newWriter(a map[string]string, columns []string) (*writer, error) {
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !slices.ContainsFunc(args, func(s operators.ArgSpec) bool { return s.Name == k }) {
			return nil, fmt.Errorf("unknown argument %s", k)
		}
	}
	if a["index"] == "" {
		return nil, fmt.Errorf("needs argument index, e.g. index=\"metrics-{yyyy.MM.dd}\"")
	}
	w := &writer{timeCol: "window_start", created: map[string]bool{}}
	var err error
	if w.index, err = parseIndexPattern(a["index"]); err != nil {
		return nil, err
	}
	idSrc := "_key"
	if s, ok := a["id"]; ok {
		idSrc = s
	}
	if w.id, err = rowtemplate.Field(idSrc); err == nil {
		err = w.id.Check(columns)
	}
	if err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if s, ok := a["time"]; ok {
		w.timeCol = strings.TrimSpace(s)
		t, _ := rowtemplate.Field(w.timeCol)
		if w.timeCol == "" || t.Check(columns) != nil {
			return nil, fmt.Errorf("time=%q: the statement outputs no such column (it outputs %s)", s, strings.Join(columns, ", "))
		}
	}
	switch a["action"] {
	case "", "index":
	case "create":
		w.create = true
	default:
		return nil, fmt.Errorf("action=%q: want index or create", a["action"])
	}
	if s, ok := a["settings"]; ok {
		var obj map[string]any
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return nil, fmt.Errorf("settings=%q: want a JSON object such as '{\"number_of_shards\":1}': %v", s, err)
		}
		w.settings = []byte(s)
	}
	return w, nil
}

// Close delivers what is queued and stops.
func (s *Sink) Close() error {
	err := s.Buffer.Close()
	s.transport.CloseIdleConnections()
	return err
}

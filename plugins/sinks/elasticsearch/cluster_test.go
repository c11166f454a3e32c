package elasticsearch

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"sluice/plugins/sinks/elasticsearch/estest"
)

// cluster is where a test's documents go: the estest stand-in, or a real
// cluster when SLUICE_TEST_ES_URL is set. Tests read back through the HTTP
// API either way, so the same assertions hold for both.
type cluster struct {
	url    string
	prefix string         // index name prefix, unique per test on a real cluster
	fake   *estest.Server // nil on a real cluster
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if url := os.Getenv("SLUICE_TEST_ES_URL"); url != "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c := &cluster{url: strings.TrimSuffix(url, "/"), prefix: "sluice-test-" + hex.EncodeToString(b) + "-"}
		t.Cleanup(func() {
			req, _ := http.NewRequest("DELETE", c.url+"/"+c.prefix+"*", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
		return c
	}
	s := estest.New(t)
	return &cluster{url: s.URL(), fake: s}
}

// needFake returns the stand-in, skipping on a real cluster: faults cannot
// be injected there.
func (c *cluster) needFake(t *testing.T) *estest.Server {
	t.Helper()
	if c.fake == nil {
		t.Skip("injects faults into the estest stand-in; SLUICE_TEST_ES_URL points at a real cluster")
	}
	return c.fake
}

func (c *cluster) get(t *testing.T, path string) map[string]any {
	t.Helper()
	resp, err := http.Get(c.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return out
}

func (c *cluster) refresh(t *testing.T) {
	t.Helper()
	resp, err := http.Post(c.url+"/"+c.prefix+"*/_refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// indices lists the test's indices without the prefix.
func (c *cluster) indices(t *testing.T) []string {
	t.Helper()
	c.refresh(t)
	var out []string
	for name := range c.get(t, "/"+c.prefix+"*/_mapping") {
		out = append(out, strings.TrimPrefix(name, c.prefix))
	}
	slices.Sort(out)
	return out
}

// docs are an index's documents: id → source JSON, re-encoded with sorted keys.
func (c *cluster) docs(t *testing.T, index string) map[string]string {
	t.Helper()
	c.refresh(t)
	body := c.get(t, "/"+c.prefix+index+"/_search?size=10000")
	out := map[string]string{}
	for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
		hit := h.(map[string]any)
		src, _ := json.Marshal(hit["_source"])
		out[hit["_id"].(string)] = string(src)
	}
	return out
}

// types are an index's top-level field types ("date/epoch_millis" for dates).
func (c *cluster) types(t *testing.T, index string) map[string]string {
	t.Helper()
	body := c.get(t, "/"+c.prefix+index+"/_mapping")
	props := body[c.prefix+index].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		p := props[name].(map[string]any)
		typ, _ := p["type"].(string)
		if typ == "" {
			typ = "object"
		}
		if f, ok := p["format"].(string); ok {
			typ += "/" + f
		}
		out[name] = typ
	}
	return out
}

// normalize re-encodes JSON with sorted keys, as docs reports sources.
func normalize(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

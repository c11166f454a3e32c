package operators

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestDeleteEndsSubscriptionsAfterTheLastRows(t *testing.T) {
	rt := NewRuntime(RuntimeConfig{})
	defer rt.Close()
	if _, err := rt.Deploy(passSpec("q", "s", "")); err != nil {
		t.Fatal(err)
	}
	sub, err := rt.Subscribe("q", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, _, err := rt.Replace(passSpec("q", "s", "")); err != nil {
		t.Fatal(err)
	}
	if closed(sub.Gone) {
		t.Fatal("a replace closed Gone")
	}
	if err := rt.Ingest("s", []*Record{{Raw: []byte(`{"n":1}`)}, {Raw: []byte(`{"n":2}`)}}); err != nil {
		t.Fatal(err)
	}
	q, _ := rt.Query("q")
	waitFor(t, "both rows taken in", func() bool { return q.Stats().In == 2 })
	if err := rt.Delete("q"); err != nil {
		t.Fatal(err)
	}
	// Delete waits for the statement to stop: by now both rows are in C
	// and Gone is closed.
	if !closed(sub.Gone) {
		t.Fatal("Gone is open after Delete")
	}
	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		select {
		case r := <-sub.C:
			if r.String() != want {
				t.Fatalf("row %s, want %s", r, want)
			}
		default:
			t.Fatalf("row %s missing after Delete", want)
		}
	}
	if _, err := rt.Subscribe("q", 16); !errors.Is(err, ErrNotFound) {
		t.Fatalf("subscribe to a deleted statement: %v, want ErrNotFound", err)
	}

	// A statement deployed again under the name has subscribers of its own,
	// and none of the deleted one's rows.
	if _, err := rt.Deploy(passSpec("q", "s", "")); err != nil {
		t.Fatal(err)
	}
	if recent := rt.Recent("q"); len(recent) != 0 {
		t.Fatalf("the new statement's recent rows are %v, want none", recent)
	}
	again, err := rt.Subscribe("q", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if closed(again.Gone) {
		t.Fatal("a new subscription starts gone")
	}
}

// TestSampleBoundsBigEvents: the tail keeps an event whole up to maxSample
// bytes, and a stand-in with its size beyond.
func TestSampleBoundsBigEvents(t *testing.T) {
	small := `{"a":"` + strings.Repeat("x", maxSample-8) + `"}`
	big := `{"a":"` + strings.Repeat("x", maxSample-7) + `"}`
	for _, tc := range []struct{ raw, want string }{
		{small, small},
		{big, fmt.Sprintf(`{"_tail_omitted_bytes":%d}`, maxSample+1)},
	} {
		body := []byte(tc.raw + "\n")
		got := sample(&Record{Arrival: 7, Raw: body[:len(tc.raw)]})
		if string(got.Raw) != tc.want || got.Arrival != 7 {
			t.Errorf("sample of %d bytes = %.60s… (arrival %d), want %.60s…", len(tc.raw), got.Raw, got.Arrival, tc.want)
		}
	}
}

package generator

import (
	"net/netip"
	"strconv"

	"sluice/operators"
)

// Action is what the click did.
type Action string

const (
	View     Action = "view"
	Cart     Action = "cart"
	Purchase Action = "purchase"
)

// Kind says who made an event. It is not part of the JSON: pipelines must
// find bots by user agent and request rate, tests use Kind as the truth.
type Kind uint8

const (
	Human    Kind = iota
	Crawler       // search engine and SEO crawlers
	Tool          // curl, python-requests, wget, monitoring agents
	Headless      // headless browser scrapers
	Abuser        // the one abusive IP hammering in bursts
)

var kindNames = [...]string{"human", "crawler", "tool", "headless", "abuser"}

func (k Kind) String() string { return kindNames[k] }

// Event is one click. Every string references the generator's tables, so
// producing an Event does not allocate; UserID and MID format on demand.
type Event struct {
	TS        int64  // event time, epoch milliseconds
	User      int    // user number; the JSON user_id is UserID()
	Device    uint64 // device number; the JSON mid is MID()
	IP        netip.Addr
	UA        string
	Page      string
	LastPage  string // "" on the first event of a session: JSON null
	ItemID    string // "" when the click concerns no item: JSON null
	Action    Action
	LatencyMS int
	Referrer  string
	Kind      Kind

	// Labels for tests, not in the JSON: the country the IP was drawn from
	// and the class of the device ("desktop", "mobile", "tablet"); empty
	// for bots.
	Country     string
	DeviceClass string
}

// Bot tells whether the event came from an automated client.
func (e *Event) Bot() bool { return e.Kind != Human }

// SessionStart tells whether the event opens a session (last_page null).
func (e *Event) SessionStart() bool { return e.LastPage == "" }

// UserID is the user_id field, e.g. "u00042".
func (e *Event) UserID() string { return string(appendUserID(nil, e.User)) }

// MID is the mid field: the device id as 16 hex digits.
func (e *Event) MID() string { return string(appendMID(nil, e.Device)) }

// AppendJSON appends the event as one flat JSON object.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendInt(dst, e.TS, 10)
	dst = append(dst, `,"user_id":"`...)
	dst = appendUserID(dst, e.User)
	dst = append(dst, `","mid":"`...)
	dst = appendMID(dst, e.Device)
	dst = append(dst, `","ip":"`...)
	dst = e.IP.AppendTo(dst)
	dst = append(dst, `","ua":`...)
	dst = operators.AppendJSONString(dst, e.UA)
	dst = append(dst, `,"page":`...)
	dst = operators.AppendJSONString(dst, e.Page)
	dst = append(dst, `,"last_page":`...)
	dst = appendNullable(dst, e.LastPage)
	dst = append(dst, `,"item_id":`...)
	dst = appendNullable(dst, e.ItemID)
	dst = append(dst, `,"action":"`...)
	dst = append(dst, e.Action...)
	dst = append(dst, `","latency_ms":`...)
	dst = strconv.AppendInt(dst, int64(e.LatencyMS), 10)
	dst = append(dst, `,"referrer":`...)
	dst = operators.AppendJSONString(dst, e.Referrer)
	return append(dst, '}')
}

func appendUserID(dst []byte, user int) []byte {
	dst = append(dst, 'u')
	for w := 10000; w > 1 && user < w; w /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(user), 10)
}

const hexDigits = "0123456789abcdef"

func appendMID(dst []byte, d uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[d>>uint(shift)&0xf])
	}
	return dst
}

func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return operators.AppendJSONString(dst, s)
}

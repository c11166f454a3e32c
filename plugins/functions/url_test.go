package functions

import (
	"testing"

	"sluice/operators"
)

func TestURLFunctions(t *testing.T) {
	const u = "https://Shop.Example.com:8443/products/42?ref=mail&q=red+shoes&utm_source=news%20letter&empty=&flag#reviews"
	v := func(args ...operators.Value) []operators.Value { return args }
	runScalarCases(t, []scalarCase{
		{"URL_PATH", v(s(u)), s("/products/42")},
		{"URL_PATH", v(s("/cart?step=2")), s("/cart")},
		{"URL_PATH", v(s("https://example.com")), s("")},
		{"URL_PATH", v(s("https://example.com/caf%C3%A9")), s("/café")},
		{"URL_PATH", v(s("http://[::1")), null},
		{"URL_HOST", v(s(u)), s("shop.example.com")},
		{"URL_HOST", v(s("http://[2001:db8::1]:80/x")), s("2001:db8::1")},
		{"URL_HOST", v(s("/relative/path")), null},
		{"URL_PARAM", v(s(u), s("ref")), s("mail")},
		{"URL_PARAM", v(s(u), s("q")), s("red shoes")},
		{"URL_PARAM", v(s(u), s("utm_source")), s("news letter")},
		{"URL_PARAM", v(s(u), s("empty")), s("")},
		{"URL_PARAM", v(s(u), s("flag")), s("")},
		{"URL_PARAM", v(s(u), s("missing")), null},
		{"URL_PARAM", v(s(u), s("reviews")), null},
		{"URL_PARAM", v(s("/search?a=1&a=2"), s("a")), s("1")},
		{"URL_PARAM", v(s("/search?x%5B%5D=7"), s("x[]")), s("7")},
		{"URL_PARAM", v(s("/search?bad=%zz"), s("bad")), null},
		{"URL_PARAM", v(s("/search"), s("a")), null},
	})
}

func TestJSONExtract(t *testing.T) {
	const doc = `{"user":{"id":42,"name":"Ann \"A\"","tags":["a","b"],"geo":{"lat":1.5}},"ok":true,"none":null}`
	v := func(args ...operators.Value) []operators.Value { return args }
	runScalarCases(t, []scalarCase{
		{"JSON_EXTRACT", v(js(doc), s("$.user.id")), i(42)},
		{"JSON_EXTRACT", v(js(doc), s("$.user.name")), s(`Ann "A"`)},
		{"JSON_EXTRACT", v(js(doc), s("$.user.tags[1]")), s("b")},
		{"JSON_EXTRACT", v(js(doc), s("$.user.tags")), js(`["a","b"]`)},
		{"JSON_EXTRACT", v(js(doc), s("$.user.geo")), js(`{"lat":1.5}`)},
		{"JSON_EXTRACT", v(js(doc), s("$.user.geo.lat")), f(1.5)},
		{"JSON_EXTRACT", v(js(doc), s("$.ok")), b(true)},
		{"JSON_EXTRACT", v(js(doc), s("$.none")), null},
		{"JSON_EXTRACT", v(js(doc), s("$.missing")), null},
		{"JSON_EXTRACT", v(js(doc), s("$.user.tags[5]")), null},
		{"JSON_EXTRACT", v(s(doc), s("$.user.id")), i(42)},
		{"JSON_EXTRACT", v(js(`[{"a":1},{"a":2}]`), s("$[1].a")), i(2)},
		{"JSON_EXTRACT", v(js(`{"a":1}`), s("$")), js(`{"a":1}`)},
		{"JSON_EXTRACT", v(js(doc), s("user.id")), null},
		{"JSON_EXTRACT", v(js(doc), s("$..id")), null},
		{"JSON_EXTRACT", v(js(doc), s("$.user.tags[x]")), null},
		{"JSON_EXTRACT", v(i(1), s("$")), null},
		{"JSON_EXTRACT", v(s("not json"), s("$.a")), null},
	})
}

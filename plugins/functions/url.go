package functions

import (
	"net/url"
	"strings"

	"sluice/operators"
)

func init() {
	text("URL_PATH", "URL_PATH(url): the path of url, e.g. '/p/42' (NULL when it does not parse)", func(s string) operators.Value {
		u, err := url.Parse(s)
		if err != nil {
			return operators.Null()
		}
		return operators.Str(u.Path)
	})
	text("URL_HOST", "URL_HOST(url): the host name of url without port, lower case (NULL when there is none)", func(s string) operators.Value {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return operators.Null()
		}
		return operators.Str(strings.ToLower(u.Hostname()))
	})
	strict("URL_PARAM", 2, 2, "URL_PARAM(url, name): the first value of query parameter name, decoded (NULL when absent)", func(args []operators.Value) operators.Value {
		return urlParam(args[0].Text(), args[1].Text())
	})
}

// urlParam scans the query string instead of building url.Values: one
// parameter is wanted, and the scan allocates only for escaped text.
func urlParam(s, name string) operators.Value {
	_, query, ok := strings.Cut(s, "?")
	if !ok {
		return operators.Null()
	}
	query, _, _ = strings.Cut(query, "#")
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, _ := strings.Cut(pair, "=")
		if key != name {
			if !strings.ContainsAny(key, "%+") {
				continue
			}
			if k, err := url.QueryUnescape(key); err != nil || k != name {
				continue
			}
		}
		if !strings.ContainsAny(value, "%+") {
			return operators.Str(value)
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return operators.Null()
		}
		return operators.Str(v)
	}
	return operators.Null()
}

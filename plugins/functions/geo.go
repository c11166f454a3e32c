package functions

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/oschwald/geoip2-golang"
	"github.com/phuslu/iploc"

	"sluice/operators"
)

// place is what geo_region and geo_city read from a City database.
type place struct {
	region string
	city   string
}

// cityDB is an open GeoIP2/GeoLite2 City database with a cache of its
// answers by IP text: decoding a City record builds maps of names in every
// language, and the events of one visitor share an IP.
type cityDB struct {
	reader *geoip2.Reader
	places *ristretto.Cache[string, place]
}

var geoDB atomic.Pointer[cityDB]

func init() {
	text("geo_country", "geo_country(ip): ISO 3166-1 alpha-2 country of an IPv4 or IPv6 address, e.g. US (embedded data; NULL when invalid or unknown)", func(s string) operators.Value {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return operators.Null()
		}
		switch c := iploc.IPCountry(addr.Unmap()); c {
		case "", "ZZ":
			return operators.Null()
		default:
			return operators.Str(c)
		}
	})
	text("geo_region", "geo_region(ip): region (first subdivision, English name) from the --geoip-db City database; NULL without one", func(s string) operators.Value {
		return nonEmpty(lookupPlace(s).region)
	})
	text("geo_city", "geo_city(ip): city (English name) from the --geoip-db City database; NULL without one", func(s string) operators.Value {
		return nonEmpty(lookupPlace(s).city)
	})
	operators.OnSetup(openCityDB)
}

func nonEmpty(s string) operators.Value {
	if s == "" {
		return operators.Null()
	}
	return operators.Str(s)
}

// openCityDB opens env.GeoIPDB, or closes the database when it is unset.
// Setup runs before statements start, so no lookup uses a reader it closes.
func openCityDB(env *operators.Env) error {
	var next *cityDB
	if env.GeoIPDB != "" {
		reader, err := geoip2.Open(env.GeoIPDB)
		if err != nil {
			return fmt.Errorf("geoip database %q: %w", env.GeoIPDB, err)
		}
		if _, err := reader.City(net.IPv4(1, 1, 1, 1)); errors.As(err, &geoip2.InvalidMethodError{}) {
			reader.Close()
			return fmt.Errorf("geoip database %q: a %s database has no cities; use a GeoIP2 or GeoLite2 City database", env.GeoIPDB, reader.Metadata().DatabaseType)
		}
		places, err := ristretto.NewCache(&ristretto.Config[string, place]{
			NumCounters: 1_000_000, MaxCost: 100_000, BufferItems: 64, IgnoreInternalCost: true,
		})
		if err != nil {
			reader.Close()
			return fmt.Errorf("geoip cache: %w", err)
		}
		next = &cityDB{reader: reader, places: places}
	}
	if prev := geoDB.Swap(next); prev != nil {
		prev.places.Close()
		prev.reader.Close()
	}
	return nil
}

func lookupPlace(ip string) place {
	db := geoDB.Load()
	if db == nil {
		return place{}
	}
	if p, ok := db.places.Get(ip); ok {
		return p
	}
	var p place
	if addr, err := netip.ParseAddr(ip); err == nil {
		if rec, err := db.reader.City(net.IP(addr.Unmap().AsSlice())); err == nil {
			p.city = rec.City.Names["en"]
			if len(rec.Subdivisions) > 0 {
				p.region = rec.Subdivisions[0].Names["en"]
			}
		}
	}
	db.places.Set(ip, p, 1)
	return p
}

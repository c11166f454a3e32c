package functions

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/phuslu/iploc"

	"sluice/operators"
)

func TestGeoCountry(t *testing.T) {
	// Well-known addresses, pinned.
	for ip, want := range map[string]operators.Value{
		"8.8.8.8":              s("US"),
		"2001:4860:4860::8888": s("US"),
		"1.1.1.1":              s("AU"), // APNIC's research prefix
		"114.114.114.114":      s("CN"),
		"77.88.8.8":            s("RU"),
		"81.2.69.142":          s("GB"),
		"200.160.2.3":          s("BR"),
		"::ffff:8.8.8.8":       s("US"),
		"192.168.1.1":          null, // private
		"127.0.0.1":            null,
		"::1":                  null,
		"203.0.113.5":          null, // documentation range
		"not an ip":            null,
		"":                     null,
		"8.8.8.8:53":           null,
		"999.1.1.1":            null,
	} {
		if got := call(t, "geo_country", s(ip)); got != want {
			t.Errorf("geo_country(%q) = %v, want %v", ip, got, want)
		}
	}
	// geo_country is iploc for every public address, IPv4 and IPv6.
	for _, ip := range []string{"9.9.9.9", "139.130.4.5", "210.140.92.183", "5.255.255.5", "91.198.174.192",
		"185.199.108.153", "193.0.6.139", "41.203.18.1", "2a02:6b8::1", "2606:4700:4700::1111", "2001:67c:2e8::1"} {
		want := iploc.IPCountry(netip.MustParseAddr(ip))
		if len(want) != 2 || want == "ZZ" {
			t.Fatalf("iploc has no country for %s (%q); pick another test address", ip, want)
		}
		if got := call(t, "geo_country", s(ip)); got != s(want) {
			t.Errorf("geo_country(%s) = %v, iploc says %s", ip, got, want)
		}
	}
}

func TestGeoRegionCityNeedDatabase(t *testing.T) {
	if err := openCityDB(&operators.Env{}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"geo_region", "geo_city"} {
		if got := call(t, fn, s("81.2.69.142")); !got.IsNull() {
			t.Errorf("%s without a database = %v, want NULL", fn, got)
		}
	}
	if got := call(t, "geo_country", s("81.2.69.142")); got != s("GB") {
		t.Errorf("geo_country without a database = %v, want GB", got)
	}
}

func TestGeoDatabaseErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a maxmind database"), 0o600); err != nil {
		t.Fatal(err)
	}
	asn := writeMMDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"81.2.69.0/24": {"autonomous_system_number": mmdbtype.Uint32(20712)},
	})
	missing := filepath.Join(dir, "GeoLite2-City.mmdb")
	for path, want := range map[string]string{
		missing: "no such file",
		garbage: "invalid MaxMind DB",
		asn:     "a GeoLite2-ASN database has no cities",
	} {
		err := openCityDB(&operators.Env{GeoIPDB: path})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("opening %s: error %v, want one naming the file and saying %q", path, err, want)
		}
	}
	// Through the registry, as the server calls it.
	if err := operators.Setup(&operators.Env{GeoIPDB: missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("operators.Setup with a missing database: %v", err)
	}
}

func TestGeoRegionCity(t *testing.T) {
	path := writeMMDB(t, "GeoLite2-City", map[string]mmdbtype.Map{
		"81.2.69.0/24":    cityRecord("GB", "England", "London"),
		"89.160.20.0/24":  cityRecord("SE", "Östergötland County", "Linköping"),
		"2001:4860::/32":  cityRecord("US", "California", "Mountain View"),
		"67.43.156.0/24":  {"country": mmdbtype.Map{"iso_code": mmdbtype.String("BT")}},
		"175.16.199.0/24": cityRecord("CN", "", "Changchun"),
	})
	if err := operators.Setup(&operators.Env{GeoIPDB: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { openCityDB(&operators.Env{}) })
	for _, c := range []struct {
		ip           string
		region, city operators.Value
	}{
		{"81.2.69.142", s("England"), s("London")},
		{"89.160.20.112", s("Östergötland County"), s("Linköping")},
		{"2001:4860:4860::8888", s("California"), s("Mountain View")},
		{"::ffff:81.2.69.1", s("England"), s("London")},
		{"67.43.156.1", null, null},
		{"175.16.199.5", null, s("Changchun")},
		{"8.8.8.8", null, null},
		{"not an ip", null, null},
	} {
		// Twice: the second answer comes from the cache.
		for range 2 {
			if got := call(t, "geo_region", s(c.ip)); got != c.region {
				t.Errorf("geo_region(%s) = %v, want %v", c.ip, got, c.region)
			}
			if got := call(t, "geo_city", s(c.ip)); got != c.city {
				t.Errorf("geo_city(%s) = %v, want %v", c.ip, got, c.city)
			}
			geoDB.Load().places.Wait()
		}
	}
}

func cityRecord(country, region, city string) mmdbtype.Map {
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + " (de)")}}
	}
	rec := mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String(country)},
		"city":    names(city),
	}
	if region != "" {
		rec["subdivisions"] = mmdbtype.Slice{names(region)}
	}
	return rec
}

// writeMMDB builds a small MaxMind database file of the given type.
func writeMMDB(t testing.TB, dbType string, networks map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range networks {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func BenchmarkGeoCountry(b *testing.B) {
	ips := []operators.Value{s("8.8.8.8"), s("81.2.69.142"), s("114.114.114.114"), s("2001:4860:4860::8888"), s("200.160.2.3")}
	fn, _ := operators.LookupScalar("geo_country")
	args := make([]operators.Value, 1)
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		args[0] = ips[n%len(ips)]
		fn.Eval(args)
	}
}

func BenchmarkGeoCity(b *testing.B) {
	path := writeMMDB(b, "GeoLite2-City", map[string]mmdbtype.Map{
		"81.2.69.0/24":   cityRecord("GB", "England", "London"),
		"2001:4860::/32": cityRecord("US", "California", "Mountain View"),
	})
	if err := openCityDB(&operators.Env{GeoIPDB: path}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { openCityDB(&operators.Env{}) })
	ips := []operators.Value{s("81.2.69.142"), s("2001:4860:4860::8888")}
	fn, _ := operators.LookupScalar("geo_city")
	for _, ip := range ips {
		fn.Eval([]operators.Value{ip})
	}
	geoDB.Load().places.Wait()
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		args := make([]operators.Value, 1)
		for n := 0; b.Loop(); n++ {
			args[0] = ips[n%len(ips)]
			fn.Eval(args)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		reader := geoDB.Load().reader
		b.ReportAllocs()
		for n := 0; b.Loop(); n++ {
			if _, err := reader.City(net.ParseIP(ips[n%len(ips)].S)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

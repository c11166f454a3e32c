package functions

import (
	"testing"
	"unsafe"

	"sluice/operators"
)

// Real user agents, shared with the bot tests.
const (
	uaChromeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaSafariMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
	uaEdgeWindows    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80"
	uaChromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaIPhoneSafari   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
	uaAndroidChrome  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"
	uaAndroidFirefox = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
	uaIPad           = "Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
	uaGalaxyTab      = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaGalaxyTabSB    = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36"
	uaGooglebot      = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaGooglebotPhone = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaBingbot        = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	uaCurl           = "curl/8.5.0"
	uaWget           = "Wget/1.21.4"
	uaHeadless       = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36"
	uaPythonRequests = "python-requests/2.31.0"
)

func TestDeviceFunctions(t *testing.T) {
	for _, c := range []struct {
		ua                         string
		kind, browser, version, os operators.Value
	}{
		{uaChromeWindows, s("desktop"), s("Chrome"), s("124.0.0.0"), s("Windows")},
		{uaFirefoxWindows, s("desktop"), s("Firefox"), s("125.0"), s("Windows")},
		{uaSafariMac, s("desktop"), s("Safari"), s("17.4.1"), s("macOS")},
		{uaEdgeWindows, s("desktop"), s("Edge"), s("124.0.2478.80"), s("Windows")},
		{uaChromeLinux, s("desktop"), s("Chrome"), s("124.0.0.0"), s("Linux")},
		{uaIPhoneSafari, s("mobile"), s("Safari"), s("17.4.1"), s("iOS")},
		{uaAndroidChrome, s("mobile"), s("Chrome"), s("124.0.6367.82"), s("Android")},
		{uaAndroidFirefox, s("mobile"), s("Firefox"), s("125.0"), s("Android")},
		{uaIPad, s("tablet"), s("Safari"), s("17.4.1"), s("iOS")},
		{uaGalaxyTab, s("tablet"), s("Chrome"), s("124.0.0.0"), s("Android")},
		{uaGalaxyTabSB, s("tablet"), s("Samsung Browser"), s("24.0"), s("Android")},
		{uaGooglebot, s("bot"), s("Googlebot"), s("2.1"), null},
		{uaGooglebotPhone, s("bot"), s("Googlebot"), s("2.1"), s("Android")},
		{uaBingbot, s("bot"), s("Bingbot"), s("2.0"), null},
		{uaCurl, s("bot"), s("curl"), s("8.5.0"), null},
		{uaHeadless, s("bot"), s("Headless Chrome"), s("124.0.0.0"), s("Linux")},
		{uaPythonRequests, s("bot"), s("python-requests"), s("2.31.0"), null},
		{"", s("bot"), null, null, null},
		{"SomethingNew/1.0", s("unknown"), s("SomethingNew"), s("1.0"), null},
	} {
		ua := s(c.ua)
		for fn, want := range map[string]operators.Value{"device_type": c.kind, "browser": c.browser, "browser_version": c.version, "os": c.os} {
			// Twice: the second answer comes from the cache.
			for range 2 {
				if got := call(t, fn, ua); got != want {
					t.Errorf("%s(%q) = %v, want %v", fn, c.ua, got, want)
				}
				deviceCache().Wait()
			}
		}
	}
}

func TestDeviceCacheServesRepeats(t *testing.T) {
	const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0 sluice-cache-test"
	want := parseDevice(ua)
	lookupDevice(ua)
	deviceCache().Wait()
	got, ok := deviceCache().Get(ua)
	if !ok || got != want {
		t.Fatalf("cache holds %+v, %v; want %+v", got, ok, want)
	}
}

func BenchmarkDeviceType(b *testing.B) {
	uas := []operators.Value{s(uaChromeWindows), s(uaIPhoneSafari), s(uaAndroidChrome), s(uaSafariMac), s(uaGalaxyTab), s(uaGooglebot)}
	benchmarkCachedUA(b, "device_type", uas...)
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for n := 0; b.Loop(); n++ {
			parseDevice(uas[n%len(uas)].S)
		}
	})
}

// benchmarkCachedUA runs the user-agent function name over uas once they
// are all in the device cache.
func benchmarkCachedUA(b *testing.B, name string, uas ...operators.Value) {
	fn, _ := operators.LookupScalar(name)
	for _, ua := range uas {
		fn.Eval([]operators.Value{ua})
	}
	deviceCache().Wait()
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		args := make([]operators.Value, 1)
		for n := 0; b.Loop(); n++ {
			args[0] = uas[n%len(uas)]
			fn.Eval(args)
		}
	})
}

// A cached device must not keep the ingested batch its user agent came
// from alive: none of its strings may point into the input.
func TestParseDeviceOwnsItsStrings(t *testing.T) {
	batch := []byte(`{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36"}`)
	ua := unsafe.String(&batch[7], len(batch)-9)
	d := parseDevice(ua)
	if d.browser != "Chrome" || d.version != "124.0.6367.82" || d.os != "Windows" {
		t.Fatalf("parsed %+v", d)
	}
	lo := uintptr(unsafe.Pointer(&batch[0]))
	hi := lo + uintptr(len(batch))
	for _, s := range []string{d.kind, d.browser, d.version, d.os} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("%q points into the input batch", s)
		}
	}
}

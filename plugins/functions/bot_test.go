package functions

import (
	"strings"
	"testing"

	"sluice/operators"
)

func TestIsBot(t *testing.T) {
	for _, c := range []struct {
		ua   operators.Value
		want bool
	}{
		{s(uaChromeWindows), false},
		{s(uaFirefoxWindows), false},
		{s(uaSafariMac), false},
		{s(uaEdgeWindows), false},
		{s(uaIPhoneSafari), false},
		{s(uaAndroidChrome), false},
		{s(uaIPad), false},
		{s(uaGalaxyTab), false},
		{s(uaGooglebot), true},
		{s(uaGooglebotPhone), true},
		{s(uaBingbot), true},
		{s(uaCurl), true},
		{s(uaWget), true},
		{s(uaHeadless), true},
		{s(uaPythonRequests), true},
		{s("Python-urllib/3.11"), true},
		{s("Go-http-client/2.0"), true},
		{s("Java/17.0.2"), true},
		{s("okhttp/4.12.0"), true},
		{s("libwww-perl/6.72"), true},
		{s("Scrapy/2.11.0 (+https://scrapy.org)"), true},
		{s("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 PhantomJS/2.1.1"), true},
		{s("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Playwright/1.43 Chrome/124.0.0.0 Safari/537.36"), true},
		{s("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)"), true},
		{s("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"), true},
		{s("Datadog Agent/7.52.0"), true},
		{s("NewRelicPinger/1.0 (1234567)"), true},
		{s("Mozilla/5.0 (compatible; StatusCake)"), true},
		{s(""), true},
		{s("   "), true},
		{null, true},
	} {
		if got := call(t, "is_bot", c.ua); got != b(c.want) {
			t.Errorf("is_bot(%v) = %v, want %v", c.ua, got, c.want)
		}
	}
}

// Every pattern in the shipped list matches itself in another case, inside
// a longer agent, and the list has the groups the docs promise.
func TestBotAgentList(t *testing.T) {
	if len(botAgents) < 20 {
		t.Fatalf("only %d patterns parsed from botagents.txt", len(botAgents))
	}
	for _, p := range botAgents {
		if p != strings.ToLower(p) || strings.TrimSpace(p) != p || strings.HasPrefix(p, "#") {
			t.Errorf("pattern %q is not a trimmed lower-case pattern", p)
		}
		if !matchesBotAgent("Mozilla/5.0 (" + strings.ToUpper(p) + ") x") {
			t.Errorf("pattern %q does not match itself in upper case", p)
		}
	}
	for _, want := range []string{"headlesschrome", "phantomjs", "puppeteer", "playwright", "curl/", "wget/", "python-requests",
		"python-urllib", "go-http-client", "java/", "okhttp", "libwww-perl", "scrapy", "pingdom", "uptimerobot", "datadog",
		"new relic", "statuscake"} {
		if !strings.Contains("\n"+strings.Join(botAgents, "\n")+"\n", "\n"+want+"\n") {
			t.Errorf("botagents.txt lacks %q", want)
		}
	}
	long := strings.Repeat("Mozilla/5.0 ", 60) + "CURL/8.0"
	if !matchesBotAgent(long) || matchesBotAgent(strings.Repeat("Mozilla/5.0 ", 60)) {
		t.Error("agents longer than the stack buffer are matched wrongly")
	}
}

func TestMatchesBotAgentDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { matchesBotAgent(uaChromeWindows) }); n != 0 {
		t.Errorf("matchesBotAgent allocates %v times per call", n)
	}
}

func BenchmarkIsBot(b *testing.B) {
	benchmarkCachedUA(b, "is_bot", s(uaChromeWindows), s(uaIPhoneSafari), s(uaGooglebot), s(uaCurl), s(uaHeadless), s(uaAndroidChrome))
	// The signature scan alone, as paid on a cache miss, on a browser
	// agent (no match: every pattern is tried).
	b.Run("signatures", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			matchesBotAgent(uaChromeWindows)
		}
	})
}

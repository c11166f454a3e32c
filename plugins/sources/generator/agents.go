package generator

// agent is a real user agent string with its share inside its device class.
type agent struct {
	ua     string
	weight int
}

// deviceClass groups user agents by the kind of device that sends them.
type deviceClass struct {
	name   string
	weight int // share of devices, per mille
	agents []agent
}

// deviceClasses is the human browser mix: desktop, phone and tablet
// browsers as they appear in real access logs.
var deviceClasses = []deviceClass{
	{"desktop", 400, []agent{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 300},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36", 90},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 120},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 30},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 60},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0", 15},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0", 15},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", 110},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", 110},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67", 10},
	}},
	{"mobile", 520, []agent{
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", 230},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", 60},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", 40},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", 60},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 280},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", 120},
		{"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", 90},
		{"Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", 20},
	}},
	{"tablet", 80, []agent{
		{"Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", 500},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", 100},
		{"Mozilla/5.0 (Linux; Android 13; SM-X706B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36", 250},
		{"Mozilla/5.0 (Linux; Android 12; Lenovo TB-J606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Safari/537.36", 150},
	}},
}

// Bot user agents, exported so that tests elsewhere can name them.
const (
	UAGooglebot      = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	UAGooglebotPhone = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	UABingbot        = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	UAYandexBot      = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"
	UAAhrefsBot      = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
	UAApplebot       = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
	UACurl           = "curl/8.5.0"
	UAPythonRequests = "python-requests/2.31.0"
	UAWget           = "Wget/1.21.4"
	UAGoHTTP         = "Go-http-client/1.1"
	UAUptimeRobot    = "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"
	UAHeadless       = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36"
)

// botAgent is one automated client. Crawlers rotate through their
// operator's published block; tools and scrapers sit on one cloud address.
type botAgent struct {
	kind   Kind
	ua     string
	weight int // share of the non-abusive bot traffic
	prefix string
	rotate bool // a new address from prefix on every request
}

var botAgents = []botAgent{
	{Crawler, UAGooglebot, 220, "66.249.64.0/19", true},
	{Crawler, UAGooglebotPhone, 160, "66.249.64.0/19", true},
	{Crawler, UABingbot, 100, "157.55.39.0/24", true},
	{Crawler, UABingbot, 50, "40.77.167.0/24", true},
	{Crawler, UAYandexBot, 40, "5.255.253.0/24", true},
	{Crawler, UAAhrefsBot, 70, "54.36.148.0/24", true},
	{Crawler, UAApplebot, 30, "17.241.0.0/16", true},
	{Tool, UACurl, 50, "167.99.0.0/20", false},
	{Tool, UAPythonRequests, 80, "3.80.0.0/16", false},
	{Tool, UAWget, 20, "178.62.0.0/20", false},
	{Tool, UAGoHTTP, 40, "88.198.0.0/16", false},
	{Tool, UAUptimeRobot, 30, "138.68.0.0/20", false},
	{Headless, UAHeadless, 110, "54.210.0.0/16", false},
}

// AbusiveIP hammers the shop in bursts with a browser user agent, so only
// its request rate gives it away (the bot_signature detector's job).
const AbusiveIP = "45.155.205.233"

// abuserUA is the most common desktop browser, to blend in.
const abuserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

package generator

import (
	"fmt"
	"math"
	"time"
)

// Config fixes everything the generator produces: the same Config gives
// byte-identical output.
type Config struct {
	Seed  uint64
	Users int       // human users; bots come on top
	Start time.Time // event time where traffic starts

	// Rate is the target of events per second of event time, bots
	// included. Every user rests more than 30 minutes between sessions,
	// so a rate needs enough users (New says how many). 0 means the rate
	// Users give at about one session an hour each.
	Rate float64

	Count    int           // stop after this many events; 0 = no limit
	Duration time.Duration // stop at Start+Duration in event time; 0 = no limit

	BotFraction float64 // share of events from bots, the abusive IP included
	// AbuseRate is the request rate of the abusive IP while it hammers
	// (it takes half of the bot share, in bursts of a minute); 0 = none.
	AbuseRate float64
	// Jitter lets events leave up to this much out of event-time order.
	Jitter time.Duration
	Items  int // catalogue size: /item/1 … /item/Items
}

// MaxUsers bounds Users: each user is a few dozen bytes of schedule.
const MaxUsers = 100_000_000

// MaxItems bounds Items: each item's pages are about a hundred bytes.
const MaxItems = 1_000_000

// DefaultConfig is a mid-sized shop: 10,000 users, 4% bots, an abusive IP
// at 50 requests/s, 10,000 items, starting 2025-01-01 UTC.
func DefaultConfig() Config {
	return Config{
		Seed:        1,
		Users:       10000,
		Start:       time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		BotFraction: 0.04,
		AbuseRate:   50,
		Items:       10000,
	}
}

// The shape of sessions and bursts; the rate arithmetic depends on these.
const (
	exitPerMille = 140                          // chance a session ends after each click: 1/0.14 ≈ 7.1 clicks
	thinkMedian  = 7000.0                       // ms between clicks, lognormal
	thinkSigma   = 1.0                          // spread of the think time
	thinkMax     = 20 * 60 * 1000               // a user idle longer than this has left
	sessionGap   = 30 * 60 * 1000               // sessions of a user are more than this apart
	restMin      = sessionGap + 1000            // shortest rest between sessions, ms
	naturalExtra = 30 * 60 * 1000               // mean rest beyond restMin when Rate is 0
	minExtra     = 60 * 1000                    // smallest mean rest beyond restMin
	burstMs      = 60 * 1000                    // length of one abusive burst
	abuseDelayMs = 30 * 1000                    // the first burst begins this long after Start
	maxSession   = 200                          // clicks; a session this long ends
	meanClicks   = 1000.0 / exitPerMille        // expected clicks per session
	abuseShare   = 0.5                          // of the bot events, those of the abusive IP
	maxBotShare  = 0.5                          // a shop with more bots than that is not realistic
	meanThink    = thinkMedian * 1.6487212707   // e^(sigma²/2) for sigma 1
	sessionMs    = (meanClicks - 1) * meanThink // mean time from a session's first click to its last
)

// plan is what the rates work out to.
type plan struct {
	humanRate  float64 // events/s
	cycleMs    float64 // mean time from one session start of a user to the next
	extraMs    float64 // mean rest beyond restMin
	botRate    float64 // events/s of the non-abusive bots
	abuseAvg   float64 // events/s of the abuser, averaged over its bursts and pauses
	abuseGapMs float64 // pause between bursts
}

// UsersFor is the smallest number of users that sustains rate events per
// second of event time when botFraction of them come from bots.
func UsersFor(rate, botFraction float64) int {
	return int(math.Ceil(usersFor(rate, botFraction)))
}

// usersFor is UsersFor as a float, which cannot overflow for a huge rate.
func usersFor(rate, botFraction float64) float64 {
	return rate * (1 - botFraction) * (sessionMs + restMin + minExtra) / 1000 / meanClicks
}

// WithUsersForRate is c with Users raised to what Rate needs (UsersFor),
// for callers that let the rate decide how many users there are.
func (c Config) WithUsersForRate() Config {
	if c.Rate > 0 {
		c.Users = max(c.Users, UsersFor(c.Rate, c.BotFraction))
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Users < 1:
		return fmt.Errorf("generator: users must be at least 1, got %d", c.Users)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("generator: rate must be a finite number >= 0, got %v", c.Rate)
	case !(c.BotFraction >= 0 && c.BotFraction <= maxBotShare):
		return fmt.Errorf("generator: bot fraction must be within [0, %v], got %v", maxBotShare, c.BotFraction)
	case c.Rate > 0 && usersFor(c.Rate, c.BotFraction) > MaxUsers:
		return fmt.Errorf("generator: a rate of %v events/s needs %.0f users, more than the %d it keeps: at most about %.0f events/s",
			c.Rate, math.Ceil(usersFor(c.Rate, c.BotFraction)), MaxUsers, float64(MaxUsers)/float64(UsersFor(1000, c.BotFraction))*1000)
	case c.Users > MaxUsers:
		return fmt.Errorf("generator: users must be at most %d (about 48 bytes each), got %d", MaxUsers, c.Users)
	case c.Count < 0:
		return fmt.Errorf("generator: count must be >= 0, got %d", c.Count)
	case c.Duration < 0:
		return fmt.Errorf("generator: duration must be >= 0, got %v", c.Duration)
	case !(c.AbuseRate >= 0) || math.IsInf(c.AbuseRate, 0):
		return fmt.Errorf("generator: abuse rate must be a finite number >= 0, got %v", c.AbuseRate)
	case c.Jitter < 0:
		return fmt.Errorf("generator: jitter must be >= 0, got %v", c.Jitter)
	case c.Items < 1 || c.Items > MaxItems:
		return fmt.Errorf("generator: items must be within [1, %d], got %d", MaxItems, c.Items)
	}
	return nil
}

func (c Config) plan() (plan, error) {
	if err := c.validate(); err != nil {
		return plan{}, err
	}
	var p plan
	if c.Rate == 0 {
		p.extraMs = naturalExtra
		p.cycleMs = sessionMs + restMin + p.extraMs
		p.humanRate = float64(c.Users) * meanClicks / (p.cycleMs / 1000)
	} else {
		p.humanRate = c.Rate * (1 - c.BotFraction)
		p.cycleMs = float64(c.Users) * meanClicks / p.humanRate * 1000
		p.extraMs = p.cycleMs - sessionMs - restMin
		if p.extraMs < minExtra {
			return plan{}, fmt.Errorf("generator: a rate of %v events/s needs at least %d users (each rests over 30 minutes between sessions of about %.0f clicks), got %d",
				c.Rate, UsersFor(c.Rate, c.BotFraction), meanClicks, c.Users)
		}
	}
	bots := p.humanRate * c.BotFraction / (1 - c.BotFraction)
	if c.AbuseRate > 0 && bots > 0 {
		p.abuseAvg = math.Min(bots*abuseShare, c.AbuseRate)
		duty := p.abuseAvg / c.AbuseRate
		p.abuseGapMs = burstMs * (1/duty - 1)
	}
	p.botRate = bots - p.abuseAvg
	return p, nil
}

package generator

import "net/netip"

// country is where a share of the human traffic comes from. Its blocks are
// real ISP allocations; networks_test.go checks every one against
// github.com/phuslu/iploc so that geo tests can rely on the labels.
type country struct {
	code   string
	weight int
	v4     []netip.Prefix
	v6     []netip.Prefix // empty where the country's users show up on IPv4 only
}

// countries weighs human traffic roughly like a global shop's audience.
var countries = []country{
	{"US", 240, pfx("73.158.0.0/16", "73.223.0.0/16", "24.5.0.0/16", "98.207.0.0/16"), pfx("2601:1c0::/26")},
	{"DE", 80, pfx("84.150.0.0/16", "93.220.0.0/16", "46.114.0.0/16"), pfx("2003:e0::/27")},
	{"GB", 70, pfx("86.150.0.0/16", "81.98.0.0/16"), pfx("2a00:23c0::/29")},
	{"IN", 80, pfx("117.200.0.0/16", "49.36.0.0/16"), pfx("2409:40c0::/28")},
	{"JP", 60, pfx("126.100.0.0/16", "126.200.0.0/16"), pfx("2400:4050::/32")},
	{"FR", 50, pfx("90.10.0.0/16", "92.150.0.0/16", "88.160.0.0/16"), pfx("2a01:cb00::/24")},
	{"BR", 50, pfx("189.100.0.0/16", "200.100.0.0/16"), nil},
	{"CN", 40, pfx("223.104.0.0/16", "114.80.0.0/16"), pfx("240e::/20")},
	{"CA", 30, pfx("99.230.0.0/16"), pfx("2607:fea8::/32")},
	{"KR", 30, pfx("175.200.0.0/16", "211.200.0.0/16", "121.130.0.0/16"), nil},
	{"RU", 30, pfx("95.24.0.0/16", "94.25.0.0/16", "188.162.0.0/16"), nil},
	{"IT", 30, pfx("79.20.0.0/16"), pfx("2001:b07::/32")},
	{"ES", 30, pfx("83.40.0.0/16"), nil},
	{"ID", 30, pfx("36.70.0.0/16"), nil},
	{"NL", 20, pfx("145.53.0.0/16"), nil},
	{"AU", 20, pfx("1.120.0.0/16"), pfx("2001:8003::/32")},
	{"MX", 20, pfx("187.190.0.0/16"), pfx("2806:2f0::/32")},
	{"PL", 20, pfx("83.20.0.0/16"), nil},
	{"TR", 20, pfx("78.170.0.0/16"), nil},
	{"VN", 20, pfx("113.170.0.0/16", "14.160.0.0/16", "123.20.0.0/16"), pfx("2001:ee0::/32")},
	{"AR", 10, pfx("181.10.0.0/16"), nil},
	{"ZA", 10, pfx("41.10.0.0/16"), nil},
	{"NG", 10, pfx("105.112.0.0/16"), nil},
	{"SE", 10, pfx("2.64.0.0/16"), nil},
	{"CH", 10, pfx("31.164.0.0/16", "85.1.0.0/16"), nil},
	{"AT", 10, pfx("62.178.0.0/16", "80.110.0.0/16"), nil},
	{"BE", 10, pfx("81.164.0.0/16"), pfx("2a02:2788::/32")},
	{"TH", 10, pfx("58.10.0.0/16"), pfx("2403:6200::/32")},
	{"PH", 10, pfx("112.200.0.0/16"), nil},
}

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// v6Share is the per-mille of a country's devices that reach the shop over
// IPv6 when the country has an IPv6 block.
const v6Share = 250

// addrIn returns the address at offset h inside p: the host bits of the
// prefix are filled from h, so one hash gives one stable address.
func addrIn(p netip.Prefix, h uint64) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		host := uint32(h) & (1<<(32-p.Bits()) - 1)
		// Skip .0 and .255 so addresses look like hosts, not network/broadcast.
		if host&0xff == 0 || host&0xff == 0xff {
			host ^= 0x01
		}
		v |= host
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b := a.As16()
	bits := p.Bits()
	h2 := mix(h)
	for i := bits; i < 128; i++ {
		src := h
		if i >= 64 {
			src = h2
		}
		if src>>(uint(i)%64)&1 == 1 {
			b[i/8] |= 1 << (7 - uint(i)%8)
		}
	}
	return netip.AddrFrom16(b)
}

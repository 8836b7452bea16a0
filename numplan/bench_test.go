package numplan

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// benchPatterns returns n internal patterns with distinct four-digit
// prefixes and mixed wildcard tails, the last of which matches
// benchNumber.
func benchPatterns(n int) []string {
	tails := []string{"X", "[0-4]", "XX?", "!"}
	out := make([]string, n)
	for i := range out {
		j := i + 9999 - (n - 1) // the last pattern is always 9999!
		out[i] = fmt.Sprintf("%04d%s", j, tails[j%4])
	}
	return out
}

const benchNumber = "99995"

func BenchmarkClassify(b *testing.B) {
	for _, n := range []int{1, 10000} {
		pats := benchPatterns(n)
		b.Run(fmt.Sprintf("automaton/patterns=%d", n), func(b *testing.B) {
			p, err := Compile(Config{InternalPatterns: pats})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := p.Classify(benchNumber); r.Rule != n-1 {
					b.Fatal(r)
				}
			}
		})
		b.Run(fmt.Sprintf("regexp-loop/patterns=%d", n), func(b *testing.B) {
			// What a user would write: the patterns as anchored regular
			// expressions, tried top-down.
			res := make([]*regexp.Regexp, n)
			for i, pat := range pats {
				expr, err := translate(DialectCisco, pat)
				if err != nil {
					b.Fatal(err)
				}
				res[i] = regexp.MustCompile(`^(?:` + expr + `)$`)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rule := -1
				for k, re := range res {
					if re.MatchString(benchNumber) {
						rule = k
						break
					}
				}
				if rule != n-1 {
					b.Fatal(rule)
				}
			}
		})
	}
}

func BenchmarkClassifyClosest(b *testing.B) {
	p, err := Compile(Config{InternalPatterns: []string{"1[3-5]XX", "15!", "1XXX", "X!"}, MatchMode: MatchClosest})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := p.Classify("1515"); r.Rule != 1 {
			b.Fatal(r)
		}
	}
}

func BenchmarkCompile10000(b *testing.B) {
	pats := benchPatterns(10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(Config{InternalPatterns: pats}); err != nil {
			b.Fatal(err)
		}
	}
}

const benchExternal = "020 7946 0123"

func BenchmarkIn(b *testing.B) {
	cfg := Config{LocalCountryCode: "+44", InternationalPrefix: "00", IncomingPrefix: "9", InternalPatterns: []string{"2XXX"}}
	b.Run("numplan", func(b *testing.B) {
		p, err := Compile(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if r := p.In(benchExternal); r.Key != "+442079460123" {
				b.Fatal(r)
			}
		}
	})
	b.Run("numplan-cached", func(b *testing.B) {
		p, err := CompileWith(cfg, Options{CacheSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if r := p.In(benchExternal); r.Key != "+442079460123" {
				b.Fatal(r)
			}
		}
	})
	b.Run("parse+format", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n, err := phonenumbers.Parse(benchExternal, "GB")
			if err != nil {
				b.Fatal(err)
			}
			if phonenumbers.Format(n, phonenumbers.E164) != "+442079460123" {
				b.Fatal("format")
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := phonenumbers.Parse(benchExternal, "GB"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+format+isvalid", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n, err := phonenumbers.Parse(benchExternal, "GB")
			if err != nil || !phonenumbers.IsValidNumber(n) {
				b.Fatal(err)
			}
			_ = phonenumbers.Format(n, phonenumbers.E164)
		}
	})
}

func BenchmarkOut(b *testing.B) {
	p, err := Compile(Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := p.Out("+39 06 1234 5678", ""); r.Dial != "900390612345678" {
			b.Fatal(r)
		}
	}
}

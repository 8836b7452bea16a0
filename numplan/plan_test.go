package numplan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	cfgGB = Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9", InternalPatterns: []string{"2XXX"}}
	cfgDE = Config{LocalCountryCode: "+49", InternationalPrefix: "00", OutgoingPrefix: "0", IncomingPrefix: "0", InternalPatterns: []string{"len:3"}}
	cfgFR = Config{LocalCountryCode: "+33", InternationalPrefix: "00", OutgoingPrefix: "0"}
	cfgIT = Config{LocalCountryCode: "+39", InternationalPrefix: "00", OutgoingPrefix: "0", IncomingPrefix: "0"}
	cfgUS = Config{LocalCountryCode: "+1", InternationalPrefix: "011", OutgoingPrefix: "9", InternalPatterns: []string{"[2-7]XXX"}}
	cfgAU = Config{LocalCountryCode: "+61", InternationalPrefix: "0011", OutgoingPrefix: "0"}
)

func TestCountries(t *testing.T) {
	gbE164 := cfgGB
	gbE164.E164Dialing, gbE164.OutgoingSuffix = true, "#"
	gbSuffix := cfgGB
	gbSuffix.OutgoingSuffix = "#"
	noLCC := Config{InternationalPrefix: "00", OutgoingPrefix: "0"}
	for _, c := range []pcase{
		// United Kingdom: trunk 0, IDD 00.
		{"GB in national", cfgGB, DirIn, "020 7946 0123", "", KindExternal, "+442079460123", "02079460123", "", -1},
		{"GB in IDD", cfgGB, DirIn, "0044 20 7946 0123", "", KindExternal, "+442079460123", "2079460123", "", -1},
		{"GB in (0)", cfgGB, DirIn, "+44 (0)20 7946 0123", "", KindExternal, "+442079460123", "02079460123", "", -1},
		{"GB in CC without plus", cfgGB, DirIn, "442079460123", "", KindUnknown, "442079460123", "442079460123", "", -1},
		{"GB in invalid mobile", cfgGB, DirIn, "07700 900123", "", KindUnknown, "07700900123", "-", "", -1},
		{"GB in emergency", cfgGB, DirIn, "999", "", KindService, "999", "", "", -1},
		{"GB in internal", cfgGB, DirIn, "2345", "", KindInternal, "2345", "", "", 0},
		{"GB in foreign", cfgGB, DirIn, "00390612345678", "", KindExternal, "+390612345678", "+390612345678", "", -1},
		{"GB out national", cfgGB, DirOut, "020 7946 0123", "", KindExternal, "+442079460123", "", "902079460123", -1},
		{"GB out US", cfgGB, DirOut, "+1 202 555 0123", "", KindExternal, "+12025550123", "", "90012025550123", -1},
		{"GB out internal", cfgGB, DirOut, "2001", "", KindInternal, "2001", "", "2001", 0},
		{"GB out primary", cfgGB, DirOut, "3001", "3001", KindInternal, "3001", "", "3001", -1},
		{"GB out emergency", cfgGB, DirOut, "112", "", KindService, "112", "", "112", -1},
		{"GB out suffix", gbSuffix, DirOut, "+390612345678", "", KindExternal, "", "", "900390612345678#", -1},
		{"GB out e164 national", gbE164, DirOut, "020 7946 0123", "", KindExternal, "", "", "+442079460123#", -1},
		{"GB out e164 foreign", gbE164, DirOut, "0039 06 1234 5678", "", KindExternal, "", "", "+390612345678#", -1},
		{"GB out e164 internal", gbE164, DirOut, "2001", "", KindInternal, "", "", "2001", 0},
		{"GB out unknown", cfgGB, DirOut, "12345", "", KindUnknown, "12345", "", "912345", -1},
		{"GB out unknown plus", cfgGB, DirOut, "+999123", "", KindUnknown, "+999123", "", "900999123", -1},
		{"GB out unknown plus e164", gbE164, DirOut, "+999123", "", KindUnknown, "+999123", "", "+999123#", -1},
		// Germany: incoming prefix 0 added by the PBX.
		{"DE in national", cfgDE, DirIn, "0030 123456", "", KindExternal, "+4930123456", "030123456", "", -1},
		{"DE in foreign", cfgDE, DirIn, "0 0044 20 7946 0123", "", KindExternal, "+442079460123", "+442079460123", "", -1},
		{"DE in internal short", cfgDE, DirIn, "123", "", KindInternal, "123", "", "", 0},
		{"DE out national", cfgDE, DirOut, "+49 30 123456", "", KindExternal, "+4930123456", "", "0030123456", -1},
		{"DE out mobile", cfgDE, DirOut, "+49 151 12345678", "", KindExternal, "", "", "0015112345678", -1},
		{"DE out foreign", cfgDE, DirOut, "+33 1 23 45 67 89", "", KindExternal, "", "", "00033123456789", -1},
		// France.
		{"FR in national", cfgFR, DirIn, "01 23 45 67 89", "", KindExternal, "+33123456789", "0123456789", "", -1},
		{"FR in plus", cfgFR, DirIn, "+33 6 12 34 56 78", "", KindExternal, "+33612345678", "612345678", "", -1},
		{"FR out national", cfgFR, DirOut, "+33123456789", "", KindExternal, "", "", "00123456789", -1},
		{"FR out IT", cfgFR, DirOut, "+39 06 1234 5678", "", KindExternal, "", "", "000390612345678", -1},
		// Italy: the leading 0 belongs to the number.
		{"IT in redial prefix", cfgIT, DirIn, "00612345678", "", KindExternal, "+390612345678", "0612345678", "", -1},
		{"IT in foreign with redial prefix", cfgIT, DirIn, "0004420 7946 0123", "", KindExternal, "+442079460123", "", "", -1},
		{"IT in mobile", cfgIT, DirIn, "03931234567", "", KindExternal, "+393931234567", "3931234567", "", -1},
		{"IT in CC without plus", Config{LocalCountryCode: "+39"}, DirIn, "390612345678", "", KindUnknown, "390612345678", "", "", -1},
		{"IT out fixed", cfgIT, DirOut, "+39 06 1234 5678", "", KindExternal, "", "", "00612345678", -1},
		{"IT out mobile", cfgIT, DirOut, "+39 393 123 4567", "", KindExternal, "", "", "03931234567", -1},
		{"IT in emergency", cfgIT, DirIn, "112", "", KindService, "112", "", "", -1},
		// United States: 1 is both country code and trunk prefix.
		{"US in 11", cfgUS, DirIn, "1 202 555 0123", "", KindExternal, "+12025550123", "12025550123", "", -1},
		{"US in IDD", cfgUS, DirIn, "011 44 20 7946 0123", "", KindExternal, "+442079460123", "", "", -1},
		{"US in internal", cfgUS, DirIn, "4567", "", KindInternal, "4567", "", "", 0},
		{"US out national", cfgUS, DirOut, "+1 202 555 0123", "", KindExternal, "", "", "912025550123", -1},
		{"US out ten digits", cfgUS, DirOut, "(202) 555-0123", "", KindExternal, "", "", "912025550123", -1},
		{"US out foreign", cfgUS, DirOut, "+44 20 7946 0123", "", KindExternal, "", "", "9011442079460123", -1},
		{"US out 911", cfgUS, DirOut, "911", "", KindService, "", "", "911", -1},
		// Australia: IDD 0011.
		{"AU in IDD", cfgAU, DirIn, "0011 44 20 7946 0123", "", KindExternal, "+442079460123", "", "", -1},
		{"AU in national", cfgAU, DirIn, "(02) 1234 5678", "", KindExternal, "+61212345678", "0212345678", "", -1},
		{"AU out national", cfgAU, DirOut, "+61 2 1234 5678", "", KindExternal, "", "", "00212345678", -1},
		{"AU out foreign", cfgAU, DirOut, "+44 20 7946 0123", "", KindExternal, "", "", "00011442079460123", -1},
		{"AU emergency", cfgAU, DirIn, "000", "", KindService, "000", "", "", -1},
		// No local country code.
		{"none in plus", noLCC, DirIn, "+44 20 7946 0123", "", KindExternal, "+442079460123", "", "", -1},
		{"none in national", noLCC, DirIn, "020 7946 0123", "", KindUnknown, "02079460123", "", "", -1},
		{"none out plus", noLCC, DirOut, "+44 20 7946 0123", "", KindExternal, "", "", "000442079460123", -1},
		// Anonymous and garbage.
		{"anonymous", cfgGB, DirIn, "anonymous", "", KindAnonymous, "", "", "", -1},
		{"private", cfgGB, DirIn, "Private", "", KindAnonymous, "", "", "", -1},
		{"empty", cfgGB, DirIn, "", "", KindAnonymous, "", "", "", -1},
	} {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestTAPI(t *testing.T) {
	on := Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9", OutgoingSuffix: "#", TAPIIncludesPrefix: true, IncomingPrefix: "9", InternalPatterns: []string{"2XXX"}}
	off := on
	off.TAPIIncludesPrefix = false
	for _, c := range []pcase{
		{"prefix and suffix stripped", on, DirTAPI, "902079460123#", "", KindExternal, "+442079460123", "02079460123", "", -1},
		{"prefix stripped foreign", on, DirTAPI, "900390612345678", "", KindExternal, "+390612345678", "", "", -1},
		{"prefix absent", on, DirTAPI, "02079460123", "", KindExternal, "+442079460123", "", "", -1},
		{"internal after strip", on, DirTAPI, "92001", "", KindInternal, "2001", "", "", 0},
		{"internal", on, DirTAPI, "2001", "", KindInternal, "2001", "", "", 0},
		{"off keeps prefix", off, DirTAPI, "902079460123", "", KindUnknown, "902079460123", "", "", -1},
		{"no incoming prefix in TAPI", off, DirTAPI, "02079460123", "", KindExternal, "+442079460123", "", "", -1},
	} {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestNumberErrors(t *testing.T) {
	p, err := Compile(cfgGB)
	require.NoError(t, err)
	for _, r := range []Result{p.In("12e4"), p.TAPI("0044+1"), p.Out("x y 1 z", ""), p.Classify("1é")} {
		require.Error(t, r.Err)
		assert.True(t, errors.Is(r.Err, ErrInvalidNumber))
		assert.Equal(t, KindUnknown, r.Kind)
	}
	r := p.Out("anonymous", "")
	assert.ErrorIs(t, r.Err, ErrNothingToDial)
	r = p.Explain("sideways", "1", "")
	assert.Error(t, r.Err)
}

func TestExplainTrace(t *testing.T) {
	p, err := Compile(Config{LocalCountryCode: "+39", InternationalPrefix: "00", IncomingPrefix: "0"})
	require.NoError(t, err)
	r := p.Explain(DirIn, "00612345678", "")
	var steps []string
	for _, s := range r.Explain {
		steps = append(steps, s.Step)
	}
	assert.Equal(t, []string{"sanitize", "internal", "incoming_prefix", "international_prefix", "legacy_key", "e164"}, steps)
	assert.Equal(t, "0612345678", r.Explain[2].Value)
	assert.Equal(t, "+390612345678", r.Explain[5].Value)
}

// TestNormalizeIdempotent is the property Normalize(Normalize(x)) ==
// Normalize(x) on keys, over random numbers of many shapes and plans.
func TestNormalizeIdempotent(t *testing.T) {
	plans := []Config{cfgGB, cfgDE, cfgFR, cfgIT, cfgUS, cfgAU, {}, Defaults(), {LocalCountryCode: "+7", InternalPatterns: []string{"X!"}, MatchMode: MatchClosest}}
	rng := rand.New(rand.NewPCG(7, 11))
	prefixes := []string{"", "", "+", "00", "0", "011", "1", "+44", "+39", "+1", "0044", "0039", "*", "9"}
	for _, cfg := range plans {
		p, err := Compile(cfg)
		require.NoError(t, err)
		for i := 0; i < 700; i++ {
			x := prefixes[rng.IntN(len(prefixes))]
			for n := rng.IntN(13); n > 0; n-- {
				x += string(rune('0' + rng.IntN(10)))
				if rng.IntN(8) == 0 {
					x += " "
				}
			}
			r1 := p.Normalize(x)
			if r1.Err != nil || r1.Key == "" {
				continue
			}
			r2 := p.Normalize(r1.Key)
			require.NoError(t, r2.Err)
			require.Equal(t, r1.Key, r2.Key, "plan %+v input %q", cfg, x)
			require.Equal(t, r1.Kind, r2.Kind, "plan %+v input %q", cfg, x)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	p, err := CompileWith(cfgUS, Options{CacheSize: 64})
	require.NoError(t, err)
	ix := p.NewIndex(0)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n := fmt.Sprintf("202 555 01%02d", (g*7+i)%100)
				r := p.In(n)
				assert.Equal(t, KindExternal, r.Kind)
				_ = p.Out(n, "")
				_ = p.Classify("4567")
				_, _ = ix.Add(fmt.Sprint(g, i), n)
				_ = ix.LookupIn(n)
			}
		}(g)
	}
	wg.Wait()
	assert.Equal(t, 1600, ix.Len())
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	p, err := Compile(Config{InternalPatterns: []string{"2XXX", "1[3-5]XX", "15!"}, MatchMode: MatchClosest})
	require.NoError(t, err)
	n := testing.AllocsPerRun(100, func() {
		if r := p.Classify("1515"); r.Rule != 2 {
			t.Fatal(r)
		}
	})
	assert.Zero(t, n)
}

func TestOptionsExplain(t *testing.T) {
	p, err := CompileWith(cfgGB, Options{Explain: true, CacheSize: 8})
	require.NoError(t, err)
	for _, r := range []Result{p.In("020 7946 0123"), p.TAPI("2001"), p.Out("2001", ""), p.Classify("2001"), p.Normalize("+1 202 555 0123")} {
		assert.NotEmpty(t, r.Explain, r.Direction)
	}
}

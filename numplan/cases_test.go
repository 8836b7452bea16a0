package numplan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type pcase struct {
	name    string
	cfg     Config
	dir     Direction
	number  string
	primary string
	kind    Kind
	key     string
	legacy  string // "-" = do not check
	dial    string
	rule    int // -2 = do not check
}

func runCase(t *testing.T, c pcase) {
	t.Helper()
	p, err := Compile(c.cfg)
	require.NoError(t, err)
	r := p.Explain(c.dir, c.number, c.primary)
	msg := func() string {
		s := ""
		for _, st := range r.Explain {
			s += "\n  " + st.Step + " " + st.Value + " — " + st.Note
		}
		return s
	}
	assert.Equal(t, c.kind, r.Kind, "kind%s", msg())
	if c.key != "" {
		assert.Equal(t, c.key, r.Key, "key%s", msg())
	}
	if c.legacy != "-" && c.legacy != "" {
		assert.Equal(t, c.legacy, r.LegacyKey, "legacy key%s", msg())
	}
	if c.dial != "" {
		assert.Equal(t, c.dial, r.Dial, "dial%s", msg())
	}
	if c.rule != -2 {
		assert.Equal(t, c.rule, r.Rule, "rule%s", msg())
	}
	// The untraced path gives the same answer.
	var plain Result
	switch c.dir {
	case DirIn:
		plain = p.In(c.number)
	case DirTAPI:
		plain = p.TAPI(c.number)
	case DirOut:
		plain = p.Out(c.number, c.primary)
	case DirClassify:
		plain = p.Classify(c.number)
	case DirNormalize:
		plain = p.Normalize(c.number)
	}
	r.Explain = nil
	assert.Equal(t, r, plain)
}

// TestIssueCases are the cases listed in the issue.
func TestIssueCases(t *testing.T) {
	it := Config{LocalCountryCode: "+39", InternationalPrefix: "00", IncomingPrefix: "0"}
	gb := Config{LocalCountryCode: "+44", InternalPatterns: []string{"2XXX"}}
	usTapi := Config{LocalCountryCode: "+1", InternationalPrefix: "011", OutgoingPrefix: "9", TAPIIncludesPrefix: true}
	usTapiOff := usTapi
	usTapiOff.TAPIIncludesPrefix = false
	us00 := Config{LocalCountryCode: "+1", InternationalPrefix: "00"}
	it00 := Config{LocalCountryCode: "+39", InternationalPrefix: "00"}
	gbOut := Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9"}
	us011 := Config{LocalCountryCode: "+1", InternationalPrefix: "011"}
	closest := Config{InternalPatterns: []string{"1[3-5]XX", "15!"}, MatchMode: MatchClosest}
	first := Config{InternalPatterns: []string{"1[3-5]XX", "15!"}}
	cisco := Config{InternalPatterns: []string{"9+11"}}
	for _, c := range []pcase{
		{"IT incoming prefix before IDD", it, DirIn, "00612345678", "", KindExternal, "+390612345678", "0612345678", "", -1},
		{"GB internal", gb, DirIn, "2001", "", KindInternal, "2001", "", "", 0},
		{"US tapi on", usTapi, DirTAPI, "912025550123", "", KindExternal, "+12025550123", "-", "", -1},
		{"US tapi off", usTapiOff, DirTAPI, "912025550123", "", KindUnknown, "912025550123", "-", "", -1},
		{"US configured IDD wins", us00, DirIn, "0044 20 7946 0123", "", KindExternal, "+442079460123", "+442079460123", "", -1},
		{"IT mobile not CC-stripped", it00, DirIn, "3931234567", "", KindExternal, "+393931234567", "3931234567", "", -1},
		{"GB out foreign", gbOut, DirOut, "+390612345678", "", KindExternal, "+390612345678", "", "900390612345678", -1},
		{"GB out national", gbOut, DirOut, "+442079460123", "", KindExternal, "+442079460123", "", "902079460123", -1},
		{"US 11 digits", us011, DirIn, "12025550123", "", KindExternal, "+12025550123", "-", "", -1},
		{"US 10 digits", us011, DirIn, "2025550123", "", KindExternal, "+12025550123", "-", "", -1},
		{"US formatted", us011, DirIn, "+1-(202)-555 0123", "", KindExternal, "+12025550123", "2025550123", "", -1},
		{"cisco 9+11 911", cisco, DirClassify, "911", "", KindInternal, "911", "", "", 0},
		{"cisco 9+11 9911", cisco, DirClassify, "9911", "", KindInternal, "9911", "", "", 0},
		{"cisco 9+11 999911", cisco, DirClassify, "999911", "", KindInternal, "999911", "", "", 0},
		{"cisco 9+11 +911", cisco, DirClassify, "+911", "", KindExternal, "+911", "", "", -1},
		{"first mode 1515", first, DirClassify, "1515", "", KindInternal, "1515", "", "", 0},
		{"closest mode 1515", closest, DirClassify, "1515", "", KindInternal, "1515", "", "", 1},
	} {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestCiscoLeadingPlusHint(t *testing.T) {
	_, err := Compile(Config{InternalPatterns: []string{"+44!"}})
	require.Error(t, err)
	require.Contains(t, err.Error(), `internal_patterns[0]: at byte 0:`)
	require.Contains(t, err.Error(), `use \+`)
}

// TestReviewRegressions are wrong answers found in review, each fixed.
func TestReviewRegressions(t *testing.T) {
	ukTapi := Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9", TAPIIncludesPrefix: true}
	usTapi := Config{LocalCountryCode: "+1", InternationalPrefix: "011", OutgoingPrefix: "9", TAPIIncludesPrefix: true, InternalPatterns: []string{"4XXX"}}
	gbPrimary := Config{LocalCountryCode: "+44", InternationalPrefix: "00", OutgoingPrefix: "9", InternalPatterns: []string{"2XXX"}}
	for _, c := range []pcase{
		// The PBX reports 999 as dialled: stripping the 9 left "99", unknown.
		{"UK tapi 999 as reported", ukTapi, DirTAPI, "999", "", KindService, "999", "", "", -1},
		{"UK tapi 9999 prefixed", ukTapi, DirTAPI, "9999", "", KindService, "999", "", "", -1},
		{"UK tapi 9112 prefixed", ukTapi, DirTAPI, "9112", "", KindService, "112", "", "", -1},
		{"US tapi 911 as reported", usTapi, DirTAPI, "911", "", KindService, "911", "", "", -1},
		{"US tapi national still stripped", usTapi, DirTAPI, "912025550123", "", KindExternal, "+12025550123", "-", "", -1},
		// The primary extension check hid the rule of an internal number.
		{"primary that is internal reports its rule", gbPrimary, DirOut, "2001", "2001", KindInternal, "2001", "", "2001", 0},
		{"primary outside the patterns", gbPrimary, DirOut, "3001", "3001", KindInternal, "3001", "", "3001", -1},
		{"not the primary", gbPrimary, DirOut, "3001", "3002", KindUnknown, "3001", "", "93001", -1},
	} {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

// TestEmptyIDDIsTheRegions: with international_prefix empty the region's
// own prefix is read as "+" too, so the legacy key is the same as with the
// prefix configured (it kept "0039..." before).
func TestEmptyIDDIsTheRegions(t *testing.T) {
	gb := Config{LocalCountryCode: "+44"}
	us := Config{LocalCountryCode: "+1"}
	for _, c := range []pcase{
		{"GB foreign", gb, DirIn, "0039 06 1234 5678", "", KindExternal, "+390612345678", "+390612345678", "", -1},
		{"GB own", gb, DirIn, "0044 20 7946 0123", "", KindExternal, "+442079460123", "2079460123", "", -1},
		{"US foreign", us, DirIn, "011 39 06 1234 5678", "", KindExternal, "+390612345678", "+390612345678", "", -1},
		{"US 00 is not an IDD", us, DirIn, "00 39 06 1234 5678", "", KindUnknown, "00390612345678", "00390612345678", "", -1},
		{"US out foreign", us, DirOut, "+390612345678", "", KindExternal, "+390612345678", "", "011390612345678", -1},
		{"GB out IDD form", gb, DirOut, "0039 06 1234 5678", "", KindExternal, "+390612345678", "", "00390612345678", -1},
	} {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

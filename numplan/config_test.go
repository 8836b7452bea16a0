package numplan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   Config
		field string
		want  string
	}{
		{"dialect", Config{PatternDialect: "perl"}, "pattern_dialect", `must be cisco, asterisk or regex, got "perl"`},
		{"mode", Config{MatchMode: "best"}, "match_mode", `must be first or closest`},
		{"lcc two", Config{LocalCountryCode: "+44,+39"}, "local_country_code", "one country code"},
		{"lcc idd", Config{LocalCountryCode: "0044"}, "local_country_code", "without the international prefix"},
		{"lcc letters", Config{LocalCountryCode: "+4a"}, "local_country_code", "+ and 1-3 digits"},
		{"lcc unassigned", Config{LocalCountryCode: "+999"}, "local_country_code", "not an assigned"},
		{"lcc non-geo", Config{LocalCountryCode: "+800"}, "local_country_code", "non-geographic"},
		{"idd plus", Config{InternationalPrefix: "+1"}, "international_prefix", "011"},
		{"idd letters", Config{InternationalPrefix: "0x"}, "international_prefix", "must be digits"},
		{"idd long", Config{InternationalPrefix: "000000"}, "international_prefix", "at most 5"},
		{"incoming", Config{IncomingPrefix: "0-"}, "incoming_prefix", "digits, * or #"},
		{"outgoing", Config{OutgoingPrefix: "+"}, "outgoing_prefix", "digits, * or #"},
		{"suffix", Config{OutgoingSuffix: "123456789"}, "outgoing_suffix", "at most 8"},
		{"pattern", Config{InternalPatterns: []string{"2XXX", "+44!"}}, "internal_patterns[1]", "at byte 0: a leading '+'"},
		{"asterisk pattern", Config{PatternDialect: DialectAsterisk, InternalPatterns: []string{"_9.1"}}, "internal_patterns[0]", "at byte 3"},
		{"regex pattern", Config{PatternDialect: DialectRegex, InternalPatterns: []string{"(1"}}, "internal_patterns[0]", "RE2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			require.Error(t, err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			assert.Equal(t, c.field, fe.Field)
			assert.Contains(t, fe.Problem, c.want)
			_, cerr := Compile(c.cfg)
			assert.ErrorIs(t, cerr, ErrInvalidConfig)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{
		MatchMode: "y", LocalCountryCode: "z", InternationalPrefix: "+1",
		IncomingPrefix: "a", OutgoingPrefix: "b", OutgoingSuffix: "c", InternalPatterns: []string{".", "@"},
	}.Validate()
	leaves := fielderr.Flatten(err)
	assert.Len(t, leaves, 8)
	leaves = fielderr.Flatten(Config{PatternDialect: "x", InternalPatterns: []string{"."}}.Validate())
	assert.Len(t, leaves, 1)
	// sysparams prefixes the section name.
	var l fielderr.List
	l.Merge("numbering_plan", err)
	assert.Contains(t, l.Err().Error(), "numbering_plan.internal_patterns[1]: at byte 0")
}

func TestValidConfigs(t *testing.T) {
	for _, c := range []Config{
		{},
		Defaults(),
		{LocalCountryCode: "44"},
		{LocalCountryCode: " +1 ", InternationalPrefix: "011", OutgoingSuffix: "#", OutgoingPrefix: "*9", IncomingPrefix: "0"},
		{UseDefaults: true, LocalCountryCode: "garbage", InternalPatterns: []string{"+"}},
	} {
		require.NoError(t, c.Validate())
		_, err := c.Compile()
		require.NoError(t, err)
	}
}

func TestUseDefaults(t *testing.T) {
	p, err := Compile(Config{UseDefaults: true, LocalCountryCode: "+44", OutgoingPrefix: "9"})
	require.NoError(t, err)
	assert.Equal(t, Defaults(), p.Config())
	assert.Equal(t, KindInternal, p.In("12345").Kind)
	assert.Equal(t, KindUnknown, p.In("123456").Kind, "no local country by default")
	assert.Equal(t, "0044", p.Out("+44 20 7946 0123", "").Dial[:4], "defaults: international prefix 00, no outgoing prefix")
}

func TestConfigJSON(t *testing.T) {
	raw := `{"internal_patterns":["2XXX"],"pattern_dialect":"cisco","match_mode":"closest","e164_dialing":true,
"local_country_code":"+44","international_prefix":"00","incoming_prefix":"9","outgoing_prefix":"9",
"outgoing_suffix":"#","tapi_includes_prefix":true,"use_defaults":false}`
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Config
	require.NoError(t, dec.Decode(&c))
	assert.Equal(t, Config{InternalPatterns: []string{"2XXX"}, PatternDialect: DialectCisco, MatchMode: MatchClosest, E164Dialing: true,
		LocalCountryCode: "+44", InternationalPrefix: "00", IncomingPrefix: "9", OutgoingPrefix: "9", OutgoingSuffix: "#",
		TAPIIncludesPrefix: true}, c)
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, raw, string(out))
}

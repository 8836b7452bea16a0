package numplan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Dialect selects the syntax of internal_patterns.
type Dialect string

// Pattern dialects. The empty string means DialectCisco.
const (
	// DialectCisco is the Cisco Unified CM directory-number syntax: digits,
	// * # A-D, X, [..] with digit ranges, [^..] (once per pattern), !
	// (one or more digits), ? (zero or more of the preceding atom), + (one
	// or more of the preceding atom) and \+ (a literal plus).
	DialectCisco Dialect = "cisco"
	// DialectAsterisk is the Asterisk extension syntax: exact extensions,
	// or patterns starting with _ using X (0-9), Z (1-9), N (2-9), [..],
	// . (one or more of anything) and ! (zero or more of anything).
	DialectAsterisk Dialect = "asterisk"
	// DialectRegex is RE2 syntax, anchored at both ends.
	DialectRegex Dialect = "regex"
)

// MatchMode selects which of several matching internal patterns wins.
type MatchMode string

// Match modes. The empty string means MatchFirst.
const (
	// MatchFirst picks the first matching pattern in list order (the
	// documented "checked top-down" behaviour).
	MatchFirst MatchMode = "first"
	// MatchClosest picks the matching pattern that matches the fewest
	// strings of the dialled length (Cisco closest match); ties go to the
	// earlier pattern.
	MatchClosest MatchMode = "closest"
)

// Limits.
const (
	// MaxNumberLen is the longest sanitized number, in symbols, that the
	// package accepts: E.164 allows 15 digits, and prefixes, suffixes and
	// feature codes fit comfortably in the rest.
	MaxNumberLen = 64
	// maxAffixLen bounds the prefix and suffix parameters.
	maxAffixLen = 8
)

// Config is the numbering plan, with the JSON names of the public
// configuration format. The zero value is usable: Cisco dialect, first
// match, no internal patterns, no country, no prefixes.
type Config struct {
	// InternalPatterns identify internal extensions and every number that
	// is dialled without the PSTN access code, checked top-down. Each entry
	// is a pattern of PatternDialect, or "len:MIN-MAX" (all-digit numbers
	// of MIN to MAX digits) in any dialect. Nil means no internal numbers.
	InternalPatterns []string `json:"internal_patterns"`
	// PatternDialect is "cisco" (the default when empty), "asterisk" or
	// "regex".
	PatternDialect Dialect `json:"pattern_dialect"`
	// MatchMode is "first" (the default when empty) or "closest".
	MatchMode MatchMode `json:"match_mode"`
	// E164Dialing means the PBX dials "+E.164": Out dials every valid
	// external number as "+" country code and number, plus the suffix,
	// without the outgoing prefix.
	E164Dialing bool `json:"e164_dialing"`
	// LocalCountryCode is the country calling code of the site, "+44"
	// (a single code; the "+" may be omitted). Empty means no local
	// country: only numbers in international form can be made E.164.
	LocalCountryCode string `json:"local_country_code"`
	// InternationalPrefix is the digits that introduce an international
	// number when "+" is not used ("00", "011", "0011"). Empty means the
	// local country's own prefix from the phone-number metadata.
	InternationalPrefix string `json:"international_prefix"`
	// IncomingPrefix is stripped from caller numbers (the PBX adds it so
	// that the number can be redialled). Digits, * and #; empty means none.
	IncomingPrefix string `json:"incoming_prefix"`
	// OutgoingPrefix is the PSTN access code added to external dial
	// strings. Digits, * and #; empty means none.
	OutgoingPrefix string `json:"outgoing_prefix"`
	// OutgoingSuffix is appended to external dial strings ("#"). Digits, *
	// and #; empty means none.
	OutgoingSuffix string `json:"outgoing_suffix"`
	// TAPIIncludesPrefix means the called numbers the PBX reports for
	// outgoing calls still carry the outgoing prefix (and suffix), which
	// TAPI then strips.
	TAPIIncludesPrefix bool `json:"tapi_includes_prefix"`
	// UseDefaults means Defaults() applies and every other field is
	// ignored (and not validated).
	UseDefaults bool `json:"use_defaults"`
}

// Defaults returns the documented default plan: internal numbers are the
// all-digit numbers of 1 to 5 digits ("len:1-5", after the seed's "the
// usual range is 1 - 5"), Cisco dialect, first match, international prefix
// "00", no local country code, no prefixes or suffix, E.164 dialling and
// TAPI prefix stripping off. The product's own defaults are not published;
// these are ucxkit's choice. UseDefaults is false in the returned value.
func Defaults() Config {
	return Config{
		InternalPatterns:    []string{"len:1-5"},
		PatternDialect:      DialectCisco,
		MatchMode:           MatchFirst,
		InternationalPrefix: "00",
	}
}

// Effective returns the configuration that applies: Defaults() when
// UseDefaults is set, else c with the empty dialect and match mode filled.
func (c Config) Effective() Config {
	if c.UseDefaults {
		return Defaults()
	}
	if c.PatternDialect == "" {
		c.PatternDialect = DialectCisco
	}
	if c.MatchMode == "" {
		c.MatchMode = MatchFirst
	}
	c.LocalCountryCode = strings.TrimSpace(c.LocalCountryCode)
	if c.LocalCountryCode != "" && c.LocalCountryCode[0] != '+' {
		c.LocalCountryCode = "+" + c.LocalCountryCode
	}
	return c
}

// Validate reports every problem of the configuration, joined, each a
// *FieldError naming the JSON field ("internal_patterns[2]: at byte 0:
// ..."). With UseDefaults set the other fields are ignored and not checked.
// Validate checks each pattern's syntax; only Compile builds the combined
// automaton, so Compile can still fail with ErrTooComplex for a pattern set
// that needs more than MaxStates states.
func (c Config) Validate() error {
	if c.UseDefaults {
		return nil
	}
	var l fielderr.List
	dialectOK := true
	switch c.PatternDialect {
	case "", DialectCisco, DialectAsterisk, DialectRegex:
	default:
		dialectOK = false
		l.Add("pattern_dialect", "must be cisco, asterisk or regex, got %q (the patterns are not checked)", c.PatternDialect)
	}
	switch c.MatchMode {
	case "", MatchFirst, MatchClosest:
	default:
		l.Add("match_mode", "must be first or closest, got %q", c.MatchMode)
	}
	if _, err := parseCountryCode(c.LocalCountryCode); err != nil {
		l.Add("local_country_code", "%s", err)
	}
	if p := c.InternationalPrefix; p != "" {
		switch {
		case strings.HasPrefix(p, "+"):
			l.Add("international_prefix", "must be digits, got %q (a leading + is a country code, not a prefix; the NANP international prefix is 011)", p)
		case !isDigits(p):
			l.Add("international_prefix", "must be digits, got %q", p)
		case len(p) > 5:
			l.Add("international_prefix", "must be at most 5 digits, got %q", p)
		}
	}
	checkAffix(&l, "incoming_prefix", c.IncomingPrefix)
	checkAffix(&l, "outgoing_prefix", c.OutgoingPrefix)
	checkAffix(&l, "outgoing_suffix", c.OutgoingSuffix)
	dialect := c.PatternDialect
	if dialect == "" {
		dialect = DialectCisco
	}
	for i, p := range c.InternalPatterns {
		if !dialectOK {
			break
		}
		if _, err := translate(dialect, p); err != nil {
			if pe, ok := err.(*PatternError); ok {
				l.Add(fmt.Sprintf("internal_patterns[%d]", i), "%s", pe.problemText())
			} else {
				l.Add(fmt.Sprintf("internal_patterns[%d]", i), "%s", err)
			}
		}
	}
	return l.Err()
}

func checkAffix(l *fielderr.List, field, v string) {
	if v == "" {
		return
	}
	if len(v) > maxAffixLen {
		l.Add(field, "must be at most %d characters, got %q", maxAffixLen, v)
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			l.Add(field, "must be digits, * or #, got %q (byte %d)", v, i)
			return
		}
	}
}

// parseCountryCode checks a local_country_code value and returns its
// digits ("" for an empty value).
func parseCountryCode(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	digits := strings.TrimPrefix(v, "+")
	if strings.ContainsAny(digits, ",; +") {
		return "", fmt.Errorf("must be one country code, got %q", v)
	}
	if strings.HasPrefix(digits, "0") {
		return "", fmt.Errorf("must be a country calling code such as +44, got %q (write the code after +, without the international prefix)", v)
	}
	if !isDigits(digits) || len(digits) > 3 {
		return "", fmt.Errorf("must be + and 1-3 digits, got %q", v)
	}
	cc, _ := strconv.Atoi(digits)
	switch r := phonenumbers.GetRegionCodeForCountryCode(cc); r {
	case "", "ZZ":
		return "", fmt.Errorf("%q is not an assigned country calling code", v)
	case "001":
		return "", fmt.Errorf("%q is a non-geographic calling code, not a country's", v)
	}
	return digits, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

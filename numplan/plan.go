package numplan

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Options are the run-time knobs of a compiled Plan that are not part of
// the public parameter set.
type Options struct {
	// CacheSize bounds a cache of recent In, TAPI, Normalize and Out
	// results (caller IDs repeat). Zero means no cache. The cache keeps
	// between CacheSize/2 and CacheSize entries of the most recent inputs.
	CacheSize int
	// Explain makes every result carry its explain trace, as Plan.Explain
	// does (and bypasses the cache). Off, only Explain traces.
	Explain bool
	// Logger receives a debug record per compilation and a warning per
	// lint finding. Nil means silent.
	Logger *slog.Logger
}

// Plan is a compiled numbering plan. It is safe for concurrent use and
// read-only after Compile; a configuration change compiles a new Plan.
type Plan struct {
	cfg      Config // effective
	patterns []string
	auto     *automaton
	closest  bool

	cc      string // local country code digits, "" for none
	ccPlus  string // "+" + cc
	ccNum   int32
	region  string // main region of cc, "" for none
	ndd     string // national (trunk) prefix of region, digits
	idd     string // international prefix: configured, else the region's own
	outIDD  string // prefix used to dial abroad: configured or the region's own
	lint    []Finding
	cache   *cache
	explain bool
	log     *slog.Logger
	statesN int
}

// Compile validates cfg and compiles it (Defaults() when cfg.UseDefaults).
// The error of an invalid configuration wraps ErrInvalidConfig and lists
// every problem (see Config.Validate).
func Compile(cfg Config) (*Plan, error) { return CompileWith(cfg, Options{}) }

// Compile is Compile(c).
func (c Config) Compile() (*Plan, error) { return Compile(c) }

// CompileWith is Compile with run-time options.
func CompileWith(cfg Config, opts Options) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w:\n%w", ErrInvalidConfig, err)
	}
	eff := cfg.Effective()
	p := &Plan{
		cfg:      eff,
		patterns: append([]string(nil), eff.InternalPatterns...),
		closest:  eff.MatchMode == MatchClosest,
		idd:      eff.InternationalPrefix,
		log:      opts.Logger,
		explain:  opts.Explain,
	}
	p.cc, _ = parseCountryCode(eff.LocalCountryCode)
	if p.cc != "" {
		n, _ := strconv.Atoi(p.cc)
		p.ccNum = int32(n)
		p.ccPlus = "+" + p.cc
		p.region = phonenumbers.GetRegionCodeForCountryCode(n)
		p.ndd = phonenumbers.GetNddPrefixForRegion(p.region, true)
	}
	// An empty international_prefix means the local country's own, for
	// reading numbers (In, TAPI, the legacy key) as for dialling them.
	if p.idd == "" && p.region != "" {
		p.idd = regionIDD(p.region)
	}
	p.outIDD = p.idd
	if len(p.patterns) > 0 {
		ps := make([]*pdfa, len(p.patterns))
		for i, pat := range p.patterns {
			expr, err := translate(eff.PatternDialect, pat)
			if err == nil {
				ps[i], err = buildPDFA(expr)
			}
			if err != nil {
				return nil, fmt.Errorf("numplan: internal_patterns[%d]: %w", i, err)
			}
		}
		auto, err := buildAutomaton(ps)
		if err != nil {
			return nil, fmt.Errorf("numplan: internal_patterns: %w", err)
		}
		p.auto = auto
		p.lint = lintAutomaton(auto, p.patterns)
	}
	if opts.CacheSize > 0 {
		p.cache = newCache(opts.CacheSize)
	}
	if p.log != nil {
		p.log.Debug("numplan: compiled", "patterns", len(p.patterns), "states", p.auto.states(),
			"dialect", string(eff.PatternDialect), "match_mode", string(eff.MatchMode), "region", p.region)
		for _, f := range p.lint {
			p.log.Warn("numplan: lint", "rule", f.Rule, "pattern", f.Pattern, "problem", f.Message)
		}
	}
	return p, nil
}

// regionIDD returns the preferred international prefix of a region from
// the phone-number metadata, when it is plain digits.
func regionIDD(region string) string {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return ""
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() != region {
			continue
		}
		if v := m.GetPreferredInternationalPrefix(); isDigits(v) {
			return v
		}
		if v := m.GetInternationalPrefix(); isDigits(v) {
			return v
		}
	}
	return ""
}

// Config returns the effective configuration the plan was compiled from.
func (p *Plan) Config() Config {
	c := p.cfg
	c.InternalPatterns = append([]string(nil), c.InternalPatterns...)
	return c
}

// Region returns the region (ISO 3166 code, "GB") of the local country
// code, or "" when none is configured.
func (p *Plan) Region() string { return p.region }

// Match returns the index of the internal pattern that matches the
// sanitized number s, or -1. It costs O(len(s)) whatever the number of
// patterns and does not allocate.
func (p *Plan) Match(s string) int { return p.auto.match(s, p.closest) }

// In turns a caller number into a lookup key: sanitize; internal check;
// emergency check; strip the incoming prefix; international prefix to
// "+"; legacy key; E.164 key when the number is valid.
func (p *Plan) In(number string) Result { return p.run(DirIn, number, "") }

// TAPI turns the called number of an outgoing call, as the PBX reports
// it, into a lookup key: with tapi_includes_prefix the outgoing prefix and
// suffix are stripped first; then as In, without the incoming prefix. A
// number reported as an emergency number stays one even when its first
// digits look like the prefix ("999" with prefix 9).
func (p *Plan) TAPI(number string) Result { return p.run(DirTAPI, number, "") }

// Normalize turns a directory number into its lookup key: In without the
// incoming prefix (directory entries are not redial strings). Normalize is
// idempotent on keys: p.Normalize(p.Normalize(x).Key).Key ==
// p.Normalize(x).Key.
func (p *Plan) Normalize(number string) Result { return p.run(DirNormalize, number, "") }

// Key is p.Normalize(number).Key.
func (p *Plan) Key(number string) string { return p.Normalize(number).Key }

// Out turns a directory number into a dial string. primary is the calling
// user's primary extension ("" for none): it, internal numbers and
// emergency numbers are dialled as they are. With e164_dialing every valid
// external number is dialled "+E.164" plus suffix; otherwise national
// numbers get their national form (Italy keeps its 0, the UK and Germany
// get the trunk 0, NANP gets 1 + 10 digits) and foreign numbers the
// international prefix, country code and national significant number;
// then the outgoing prefix and suffix are added.
func (p *Plan) Out(number, primary string) Result {
	if p.explain {
		return p.Explain(DirOut, number, primary)
	}
	if p.cache == nil {
		return p.out(number, primary, nil)
	}
	k := cacheKey{dir: DirOut, number: number, primary: primary}
	if r, ok := p.cache.get(k); ok {
		return r
	}
	r := p.out(number, primary, nil)
	p.cache.put(k, r)
	return r
}

// Classify runs the internal-pattern check only: kind internal with the
// rule, service for an emergency number, anonymous, or external (needs
// the PSTN access code). For clean input it does not allocate.
func (p *Plan) Classify(number string) Result {
	if p.explain {
		return p.Explain(DirClassify, number, "")
	}
	return p.classify(number, nil)
}

// Explain runs the operation named by dir with an explain trace in
// Result.Explain (the "test rules" tool). primary is used by DirOut only.
// Explain bypasses the cache.
func (p *Plan) Explain(dir Direction, number, primary string) Result {
	tr := &trace{}
	var r Result
	switch dir {
	case DirOut:
		r = p.out(number, primary, tr)
	case DirClassify:
		r = p.classify(number, tr)
	case DirIn, DirTAPI, DirNormalize:
		r = p.key(dir, number, tr)
	default:
		return Result{Input: number, Direction: dir, Rule: -1, Err: fmt.Errorf("numplan: unknown direction %q", dir)}
	}
	r.Explain = tr.steps
	return r
}

// Lint returns the findings about the internal patterns: rules that can
// never win in first mode because earlier rules match every number they
// match, and rules that match nothing.
func (p *Plan) Lint() []Finding { return append([]Finding(nil), p.lint...) }

func (p *Plan) run(dir Direction, number, primary string) Result {
	if p.explain {
		return p.Explain(dir, number, primary)
	}
	if p.cache == nil {
		return p.key(dir, number, nil)
	}
	k := cacheKey{dir: dir, number: number}
	if r, ok := p.cache.get(k); ok {
		return r
	}
	r := p.key(dir, number, nil)
	p.cache.put(k, r)
	return r
}

func (p *Plan) sanitize(r *Result, number string, tr *trace) (string, bool) {
	san, err := Sanitize(number)
	if err != nil {
		r.Err = err
		r.Kind = KindUnknown
		tr.add("sanitize", "", err.Error())
		return "", false
	}
	if san.Anonymous {
		r.Kind = KindAnonymous
		tr.add("sanitize", "", "no number (empty, withheld or without digits): kind anonymous")
		return "", false
	}
	if tr != nil {
		note := "already clean"
		if san.Number != number {
			note = "trimmed, separators and URI syntax removed"
		}
		if san.Extension != "" {
			note += "; extension " + san.Extension + " split off"
		}
		tr.add("sanitize", san.Number, note)
	}
	return san.Number, true
}

func (p *Plan) classify(number string, tr *trace) Result {
	r := Result{Input: number, Direction: DirClassify, Rule: -1}
	s, ok := p.sanitize(&r, number, tr)
	if !ok {
		return r
	}
	if p.internal(&r, s, tr) {
		return r
	}
	if p.emergency(&r, s, tr) {
		return r
	}
	r.Kind, r.Key = KindExternal, s
	tr.add("classify", s, "no internal pattern matches: external (needs the PSTN access code)")
	return r
}

// internal runs the pattern check and fills r when s is internal.
func (p *Plan) internal(r *Result, s string, tr *trace) bool {
	rule := p.Match(s)
	if rule < 0 {
		if tr != nil {
			if len(p.patterns) == 0 {
				tr.add("internal", s, "no internal patterns configured")
			} else {
				tr.add("internal", s, "no internal pattern matches")
			}
		}
		return false
	}
	r.Kind, r.Key, r.Rule = KindInternal, s, rule
	if tr != nil {
		mode := "first matching rule, top-down"
		if p.closest {
			mode = "closest match: fewest numbers of this length"
		}
		tr.add("internal", s, fmt.Sprintf("rule %d %q matches (%s): kind internal, never parsed as a phone number", rule, p.patterns[rule], mode))
	}
	return true
}

// emergency fills r when s is an emergency number of the local country.
func (p *Plan) emergency(r *Result, s string, tr *trace) bool {
	if p.region == "" || len(s) > 6 || s[0] == '+' || !isDigits(s) {
		return false
	}
	if !phonenumbers.IsEmergencyNumber(s, p.region) {
		tr.add("service", s, "not an emergency number in "+p.region)
		return false
	}
	r.Kind, r.Key = KindService, s
	tr.add("service", s, "emergency number in "+p.region+": kind service, used as it is")
	return true
}

// key is the In / TAPI / Normalize pipeline.
func (p *Plan) key(dir Direction, number string, tr *trace) Result {
	r := Result{Input: number, Direction: dir, Rule: -1}
	s, ok := p.sanitize(&r, number, tr)
	if !ok {
		return r
	}
	reported := s
	if dir == DirTAPI {
		s = p.stripTAPI(s, tr)
	}
	if p.internal(&r, s, tr) {
		return r
	}
	if p.emergency(&r, s, tr) {
		return r
	}
	// An emergency number is dialled without the access code, so the PBX
	// reports it as it is: stripping a prefix that happens to be its first
	// digit (UK 9 in front of 999, US 9 in front of 911) must not hide it.
	if reported != s && p.emergency(&r, reported, tr) {
		return r
	}
	if dir == DirIn {
		s = p.stripIncoming(s, tr)
	}
	s = p.replaceIDD(s, tr)
	r.LegacyKey = p.legacy(s, tr)
	e164, _, ok := p.canonical(s, tr)
	if ok {
		r.Kind, r.Key = KindExternal, e164
		return r
	}
	r.Kind, r.Key = KindUnknown, s
	tr.add("key", s, "kind unknown: the digits are the key (no E.164 is guessed)")
	return r
}

func (p *Plan) stripTAPI(s string, tr *trace) string {
	if !p.cfg.TAPIIncludesPrefix {
		tr.add("tapi", s, "tapi_includes_prefix is off: the called number is used as reported")
		return s
	}
	if pre := p.cfg.OutgoingPrefix; pre != "" {
		if strings.HasPrefix(s, pre) && len(s) > len(pre) {
			s = s[len(pre):]
			tr.add("tapi", s, "outgoing prefix "+pre+" stripped")
		} else {
			tr.add("tapi", s, "outgoing prefix "+pre+" not present")
		}
	}
	if suf := p.cfg.OutgoingSuffix; suf != "" {
		if strings.HasSuffix(s, suf) && len(s) > len(suf) {
			s = s[:len(s)-len(suf)]
			tr.add("tapi", s, "outgoing suffix "+suf+" stripped")
		}
	}
	return s
}

func (p *Plan) stripIncoming(s string, tr *trace) string {
	pre := p.cfg.IncomingPrefix
	if pre == "" {
		return s
	}
	if strings.HasPrefix(s, pre) && len(s) > len(pre) {
		s = s[len(pre):]
		tr.add("incoming_prefix", s, "incoming prefix "+pre+" stripped (before any international prefix is read)")
		return s
	}
	tr.add("incoming_prefix", s, "incoming prefix "+pre+" not present")
	return s
}

// replaceIDD turns the configured international prefix into "+". A country
// code never starts with 0, so "IDD 0..." is left alone.
func (p *Plan) replaceIDD(s string, tr *trace) string {
	if p.idd == "" {
		return s
	}
	if !strings.HasPrefix(s, p.idd) || len(s) <= len(p.idd) || s[len(p.idd)] == '0' || !isDigits(s[len(p.idd):]) {
		tr.add("international_prefix", s, "international prefix "+p.idd+" not in front")
		return s
	}
	s = "+" + s[len(p.idd):]
	tr.add("international_prefix", s, "international prefix "+p.idd+" replaced by +")
	return s
}

// legacy strips the literal local country code, as the seed does.
func (p *Plan) legacy(s string, tr *trace) string {
	if p.ccPlus != "" && strings.HasPrefix(s, p.ccPlus) && len(s) > len(p.ccPlus) {
		l := s[len(p.ccPlus):]
		tr.add("legacy_key", l, "local country code "+p.ccPlus+" stripped (seed behaviour)")
		return l
	}
	tr.add("legacy_key", s, "no literal local country code in front")
	return s
}

// canonical parses s (digits with an optional leading "+") once and
// returns its E.164 form when it is a valid number.
func (p *Plan) canonical(s string, tr *trace) (string, *phonenumbers.PhoneNumber, bool) {
	digits := s
	if strings.HasPrefix(s, "+") {
		digits = s[1:]
	}
	if !isDigits(digits) {
		tr.add("e164", s, "contains * # or A-D: not a public number")
		return "", nil, false
	}
	region := p.region
	if s[0] != '+' && region == "" {
		tr.add("e164", s, "no local_country_code: a number without + or international prefix has no country")
		return "", nil, false
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.ParseAndKeepRawInput(s, region)
	if err != nil {
		tr.add("e164", s, "not a phone number: "+err.Error())
		return "", nil, false
	}
	if num.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_NUMBER_WITHOUT_PLUS_SIGN && p.ndd != p.cc {
		tr.add("e164", s, "starts with the country code "+p.cc+" without + or international prefix: the code is not stripped")
		return "", nil, false
	}
	if !phonenumbers.IsValidNumber(num) {
		tr.add("e164", s, "not a valid number in the numbering-plan metadata")
		return "", nil, false
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if tr != nil {
		tr.add("e164", e164, fmt.Sprintf("valid number of %s (parsed with region %s): kind external", phonenumbers.GetRegionCodeForNumber(num), region))
	}
	return e164, num, true
}

// out is the directory number -> dial string pipeline.
func (p *Plan) out(number, primary string, tr *trace) Result {
	r := Result{Input: number, Direction: DirOut, Rule: -1}
	s, ok := p.sanitize(&r, number, tr)
	if !ok {
		if r.Err == nil {
			r.Err = ErrNothingToDial
		}
		return r
	}
	// The internal check comes first so that a primary extension that an
	// internal pattern also matches reports its rule.
	if p.internal(&r, s, tr) {
		r.Dial = s
		tr.add("dial", s, "internal: dialled as it is, no prefix or suffix")
		return r
	}
	if p.emergency(&r, s, tr) {
		r.Dial = s
		tr.add("dial", s, "emergency: dialled as it is, no prefix or suffix")
		return r
	}
	if primary != "" {
		if ps, err := Sanitize(primary); err == nil && !ps.Anonymous && ps.Number == s {
			r.Kind, r.Key, r.Dial = KindInternal, s, s
			tr.add("primary", s, "the user's primary extension: dialled as it is, no prefix or suffix")
			return r
		}
	}
	s = p.replaceIDD(s, tr)
	pre, suf := p.cfg.OutgoingPrefix, p.cfg.OutgoingSuffix
	e164, num, ok := p.canonical(s, tr)
	if !ok {
		r.Kind, r.Key = KindUnknown, s
		switch {
		case s[0] != '+':
			r.Dial = pre + s + suf
			tr.add("dial", r.Dial, "unknown number dialled as written, with prefix and suffix")
		case p.cfg.E164Dialing:
			r.Dial = s + suf
			tr.add("dial", r.Dial, "unknown number with +, E.164 dialling: dialled with + and suffix, no prefix")
		case p.outIDD != "":
			r.Dial = pre + p.outIDD + s[1:] + suf
			tr.add("dial", r.Dial, "unknown number with +: + replaced by the international prefix "+p.outIDD)
		default:
			r.Dial = pre + s + suf
			tr.add("dial", r.Dial, "unknown number with + and no international prefix known: dialled with +")
		}
		return r
	}
	r.Kind, r.Key = KindExternal, e164
	switch {
	case p.cfg.E164Dialing:
		r.Dial = e164 + suf
		tr.add("dial", r.Dial, "E.164 dialling: +E.164 plus suffix, no prefix")
	case p.region != "" && num.GetCountryCode() == p.ccNum:
		nat := digitsOnly(phonenumbers.FormatOutOfCountryCallingNumber(num, p.region))
		r.Dial = pre + nat + suf
		tr.add("dial", r.Dial, "national number: national form "+nat+" with prefix and suffix")
	case p.outIDD != "":
		intl := p.outIDD + strconv.Itoa(int(num.GetCountryCode())) + phonenumbers.GetNationalSignificantNumber(num)
		r.Dial = pre + intl + suf
		tr.add("dial", r.Dial, "foreign number: international prefix "+p.outIDD+", country code, national significant number, with prefix and suffix")
	default:
		r.Dial = pre + e164 + suf
		tr.add("dial", r.Dial, "foreign number and no international prefix known: dialled with +")
	}
	return r
}

func digitsOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

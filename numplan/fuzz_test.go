package numplan

import (
	"errors"
	"regexp"
	"testing"
)

// FuzzPattern compiles arbitrary patterns in every dialect: errors, never
// panics; and when a pattern compiles, the automaton agrees with Go's
// regexp on the given number.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"2XXX", "9+11", `\+44!`, "13[^3-9]6", "[1,2]", "+44!", "_NXX.", "_9!", `2\d{3}`, "len:1-5", "[", "X?+", "(a|b)*"} {
		f.Add(s, "2001", uint8(0))
		f.Add(s, "+4420", uint8(1))
		f.Add(s, "911", uint8(2))
	}
	dialects := []Dialect{DialectCisco, DialectAsterisk, DialectRegex}
	f.Fuzz(func(t *testing.T, pattern, number string, d uint8) {
		dialect := dialects[int(d)%len(dialects)]
		expr, err := translate(dialect, pattern)
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PatternError: %v", err)
			}
			if pe.Offset >= len(pattern) && pe.Offset != 0 {
				t.Fatalf("offset %d beyond pattern %q", pe.Offset, pattern)
			}
			return
		}
		pd, err := buildPDFA(expr)
		if err != nil {
			if !errors.Is(err, ErrTooComplex) {
				t.Fatalf("build %q: %v", expr, err)
			}
			return
		}
		a, err := buildAutomaton([]*pdfa{pd})
		if err != nil {
			return
		}
		san, err := Sanitize(number)
		if err != nil || san.Anonymous {
			return
		}
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			t.Fatalf("translated expression %q does not compile: %v", expr, err)
		}
		if got, want := a.match(san.Number, false) == 0, re.MatchString(san.Number); got != want {
			t.Fatalf("pattern %q (%s) number %q: automaton %v, regexp %v", pattern, expr, san.Number, got, want)
		}
	})
}

// FuzzSanitize: no panic; a result is clean and a fixed point.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"+44 (0)20 7946 0123", "tel:+1-202-555-0123;ext=1", "sip:2001@pbx", "anonymous", "٠١٢", "0044+1", "+", "x1 ext 2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Sanitize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("error does not wrap ErrInvalidNumber: %v", err)
			}
			return
		}
		if s.Anonymous {
			return
		}
		if !clean(s.Number) {
			t.Fatalf("Sanitize(%q) = %q, not clean", in, s.Number)
		}
		again, err := Sanitize(s.Number)
		if err != nil || again.Number != s.Number {
			t.Fatalf("not a fixed point: %q -> %q (%v)", s.Number, again.Number, err)
		}
	})
}

// FuzzPlan runs every operation on arbitrary input: no panic, and
// Normalize is idempotent on keys.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{"00612345678", "+44 20 7946 0123", "2001", "112", "0044+", "anonymous", "9 1 202 555 0123#"} {
		f.Add(s, uint8(0))
	}
	plans := make([]*Plan, 0, 4)
	for _, c := range []Config{cfgGB, cfgIT, cfgUS, {InternalPatterns: []string{"X!"}, MatchMode: MatchClosest}} {
		p, err := Compile(c)
		if err != nil {
			f.Fatal(err)
		}
		plans = append(plans, p)
	}
	f.Fuzz(func(t *testing.T, in string, which uint8) {
		p := plans[int(which)%len(plans)]
		_ = p.In(in)
		_ = p.TAPI(in)
		_ = p.Out(in, "2001")
		_ = p.Classify(in)
		_ = p.Explain(DirIn, in, "")
		r := p.Normalize(in)
		if r.Err != nil || r.Key == "" {
			return
		}
		if k := p.Normalize(r.Key).Key; k != r.Key {
			t.Fatalf("Normalize(%q) = %q, Normalize of that = %q", in, r.Key, k)
		}
	})
}

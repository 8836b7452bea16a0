package numplan

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// The input alphabet of numbers and patterns: the sixteen DTMF symbols and
// "+". Sanitized numbers contain nothing else.
const alphabet = "0123456789*#+ABCD"

const nsym = len(alphabet)

// symset is a set of alphabet symbols (bit i = alphabet[i]).
type symset uint32

const (
	digitSet symset = 1<<10 - 1
	anySet   symset = 1<<nsym - 1
	// negatable is what Cisco's [^..] chooses from: every symbol but "+".
	negatable symset = anySet &^ (1 << 12)
)

// symIndex maps a byte to its alphabet index, or -1.
var symIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < nsym; i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// re2 renders the set as an RE2 atom.
func (s symset) re2() string {
	var b strings.Builder
	n := 0
	for i := 0; i < nsym; i++ {
		if s&(1<<i) != 0 {
			n++
		}
	}
	if n == 1 {
		for i := 0; i < nsym; i++ {
			if s&(1<<i) != 0 {
				return regexp.QuoteMeta(alphabet[i : i+1])
			}
		}
	}
	if s&digitSet == digitSet {
		b.WriteString("[0-9")
		s &^= digitSet
	} else {
		b.WriteString("[")
	}
	for i := 0; i < nsym; i++ {
		if s&(1<<i) != 0 {
			b.WriteString(regexp.QuoteMeta(alphabet[i : i+1]))
		}
	}
	b.WriteString("]")
	return b.String()
}

// CheckPattern reports whether pattern compiles in dialect d (empty means
// Cisco). The error is a *PatternError with Index -1.
func CheckPattern(d Dialect, pattern string) error {
	if d == "" {
		d = DialectCisco
	}
	_, err := translate(d, pattern)
	return err
}

// translate turns a pattern of dialect d into an RE2 expression over the
// alphabet, to be matched against the whole number. "len:MIN-MAX" is
// accepted in every dialect.
func translate(d Dialect, pattern string) (string, error) {
	perr := func(off int, format string, args ...any) error {
		return &PatternError{Index: -1, Offset: off, Pattern: pattern, Problem: fmt.Sprintf(format, args...)}
	}
	if pattern == "" {
		return "", perr(-1, "empty pattern")
	}
	if strings.HasPrefix(pattern, "len:") {
		return translateLen(pattern, perr)
	}
	switch d {
	case DialectCisco:
		return translateCisco(pattern, perr)
	case DialectAsterisk:
		return translateAsterisk(pattern, perr)
	case DialectRegex:
		return translateRegex(pattern, perr)
	}
	return "", perr(-1, "unknown dialect %q", d)
}

type perrFunc func(off int, format string, args ...any) error

func translateLen(pattern string, perr perrFunc) (string, error) {
	spec := pattern[len("len:"):]
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok {
		hi = lo
	}
	mn, err1 := strconv.Atoi(lo)
	mx, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || !isDigits(lo) || !isDigits(hi) {
		return "", perr(4, "want len:MIN-MAX or len:N with decimal numbers, got %q", spec)
	}
	if mn < 1 || mx > MaxNumberLen || mn > mx {
		return "", perr(4, "want 1 <= MIN <= MAX <= %d, got %d-%d", MaxNumberLen, mn, mx)
	}
	return fmt.Sprintf("[0-9]{%d,%d}", mn, mx), nil
}

func isSym(c byte) bool { return symIndex[c] >= 0 }

// translateCisco implements the grammar
//
//	pattern  := element+
//	element  := atom quant?
//	atom     := DIGIT | * | # | A-D | X | \+ | [ ^? item+ ] | !
//	item     := SYM | DIGIT - DIGIT
//	quant    := ? (zero or more) | + (one or more)     (not after !)
func translateCisco(p string, perr perrFunc) (string, error) {
	var out strings.Builder
	quantifiable := false // the previous element is an atom without quantifier
	caret := -1
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#', c >= 'A' && c <= 'D':
			out.WriteString(symset(1 << symIndex[c]).re2())
			quantifiable = true
		case c >= 'a' && c <= 'd':
			return "", perr(i, "lower-case %q; the DTMF symbols are upper case A-D", c)
		case c == 'X' || c == 'x':
			out.WriteString(digitSet.re2())
			quantifiable = true
		case c == '!':
			if i+1 < len(p) && (p[i+1] == '?' || p[i+1] == '+') {
				return "", perr(i+1, "%q cannot follow '!' ('!' already means one or more digits)", p[i+1])
			}
			out.WriteString("[0-9]+")
			quantifiable = false
		case c == '\\':
			if i+1 >= len(p) || p[i+1] != '+' {
				return "", perr(i, "'\\' must be followed by '+' (\\+ is a literal plus)")
			}
			out.WriteString(`\+`)
			i++
			quantifiable = true
		case c == '+' || c == '?':
			if !quantifiable {
				if c == '+' && i == 0 {
					return "", perr(i, "a leading '+' repeats nothing; use \\+ for a literal plus (\\+44!)")
				}
				if c == '+' {
					return "", perr(i, "'+' repeats nothing here (it means one or more of the preceding digit or wildcard); use \\+ for a literal plus")
				}
				return "", perr(i, "'?' repeats nothing here (it means zero or more of the preceding digit or wildcard)")
			}
			if c == '+' {
				out.WriteString("+")
			} else {
				out.WriteString("*")
			}
			quantifiable = false
		case c == '[':
			set, end, negated, err := ciscoBracket(p, i, perr)
			if err != nil {
				return "", err
			}
			if negated {
				if caret >= 0 {
					return "", perr(i+1, "only one [^...] per pattern (the first is at byte %d)", caret)
				}
				caret = i + 1
			}
			out.WriteString(set.re2())
			i = end
			quantifiable = true
		case c == ']':
			return "", perr(i, "']' without '['")
		case c == '.':
			return "", perr(i, "'.' (the route-pattern PreDot delimiter) is not allowed in internal patterns; use outgoing_prefix for an access code")
		case c == '@':
			return "", perr(i, "'@' (the NANP macro of route patterns) is not supported; list the patterns explicitly")
		case c == '-':
			return "", perr(i, "'-' is only allowed inside brackets ([0-5])")
		case c == ' ' || c == '\t':
			return "", perr(i, "spaces are not allowed in a pattern")
		default:
			return "", perr(i, "unexpected character %q", p[i:i+runeLen(p[i:])])
		}
	}
	return out.String(), nil
}

// ciscoBracket parses the bracket expression starting at p[start] == '['
// and returns its set and the index of the closing ']'.
func ciscoBracket(p string, start int, perr perrFunc) (set symset, end int, negated bool, err error) {
	i := start + 1
	if i < len(p) && p[i] == '^' {
		negated = true
		i++
	}
	items := 0
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c == ']':
			if items == 0 {
				return 0, 0, false, perr(start, "empty brackets")
			}
			if negated {
				set = negatable &^ set
				if set == 0 {
					return 0, 0, false, perr(start, "[^...] excludes every symbol")
				}
			}
			return set, i, negated, nil
		case c == ',':
			return 0, 0, false, perr(i, "comma inside brackets; list the members without separators ([135], [1-5])")
		case c == '^':
			return 0, 0, false, perr(i, "'^' must come first in the brackets")
		case c == '[':
			return 0, 0, false, perr(i, "nested '['")
		case c == '-':
			return 0, 0, false, perr(i, "'-' needs a digit on each side ([0-5])")
		case c == '\\':
			if i+1 < len(p) && p[i+1] == '+' {
				set |= 1 << 12
				items++
				i++
				continue
			}
			return 0, 0, false, perr(i, "'\\' must be followed by '+'")
		case c == 'X' || c == 'x':
			return 0, 0, false, perr(i, "'X' inside brackets; write [0-9] or X alone")
		case c == '+':
			return 0, 0, false, perr(i, "'+' inside brackets; use \\+ for a literal plus")
		case isSym(c):
			if i+1 < len(p) && p[i+1] == '-' {
				if i+2 >= len(p) || p[i+2] == ']' {
					return 0, 0, false, perr(i+1, "'-' needs a digit on each side ([0-5])")
				}
				hi := p[i+2]
				if c < '0' || c > '9' || hi < '0' || hi > '9' {
					return 0, 0, false, perr(i, "range %q: both ends must be digits", p[i:i+3])
				}
				if hi < c {
					return 0, 0, false, perr(i, "range %q is reversed", p[i:i+3])
				}
				for d := c; d <= hi; d++ {
					set |= 1 << symIndex[d]
				}
				items++
				i += 2
				continue
			}
			set |= 1 << symIndex[c]
			items++
		case c >= 'a' && c <= 'd':
			return 0, 0, false, perr(i, "lower-case %q; the DTMF symbols are upper case A-D", c)
		default:
			return 0, 0, false, perr(i, "unexpected character %q inside brackets", p[i:i+runeLen(p[i:])])
		}
	}
	return 0, 0, false, perr(start, "'[' is never closed")
}

func runeLen(s string) int {
	for i := range s {
		if i > 0 {
			return i
		}
	}
	return len(s)
}

// translateAsterisk implements Asterisk extension matching: without a
// leading "_" the pattern is an exact extension; with it, X Z N [..] . !
// are wildcards ("." one or more of anything, "!" zero or more, both only
// at the end). Dashes are ignored, as Asterisk does.
func translateAsterisk(p string, perr perrFunc) (string, error) {
	var out strings.Builder
	if !strings.HasPrefix(p, "_") {
		n := 0
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case c == '-':
			case isSym(c):
				out.WriteString(regexp.QuoteMeta(p[i : i+1]))
				n++
			case strings.IndexByte("XxZzNn.![", c) >= 0:
				return "", perr(i, "wildcard %q in an exact extension; start the pattern with '_'", c)
			default:
				return "", perr(i, "unexpected character %q", p[i:i+runeLen(p[i:])])
			}
		}
		if n == 0 {
			return "", perr(-1, "extension has no digits")
		}
		return out.String(), nil
	}
	n := 0
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '-':
			continue
		case c == 'X' || c == 'x':
			out.WriteString(digitSet.re2())
		case c == 'Z' || c == 'z':
			out.WriteString((digitSet &^ 1).re2())
		case c == 'N' || c == 'n':
			out.WriteString((digitSet &^ 3).re2())
		case c == '.' || c == '!':
			if rest := strings.ReplaceAll(p[i+1:], "-", ""); rest != "" {
				return "", perr(i+1, "nothing may follow %q (it matches the rest of the number)", c)
			}
			if c == '.' {
				out.WriteString(anySet.re2() + "+")
			} else {
				out.WriteString(anySet.re2() + "*")
			}
		case c == '[':
			set, end, err := asteriskBracket(p, i, perr)
			if err != nil {
				return "", err
			}
			out.WriteString(set.re2())
			i = end
		case isSym(c):
			out.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			return "", perr(i, "unexpected character %q", p[i:i+runeLen(p[i:])])
		}
		n++
	}
	if n == 0 {
		return "", perr(0, "'_' starts a pattern but nothing follows")
	}
	return out.String(), nil
}

func asteriskBracket(p string, start int, perr perrFunc) (symset, int, error) {
	var set symset
	for i := start + 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == ']':
			if set == 0 {
				return 0, 0, perr(start, "empty brackets")
			}
			return set, i, nil
		case c == ',':
			return 0, 0, perr(i, "comma inside brackets; list the members without separators ([135], [1-5])")
		case c == '^':
			return 0, 0, perr(i, "Asterisk brackets do not support negation")
		case isSym(c):
			if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
				hi := p[i+2]
				if c < '0' || c > '9' || hi < '0' || hi > '9' {
					return 0, 0, perr(i, "range %q: both ends must be digits", p[i:i+3])
				}
				if hi < c {
					return 0, 0, perr(i, "range %q is reversed", p[i:i+3])
				}
				for d := c; d <= hi; d++ {
					set |= 1 << symIndex[d]
				}
				i += 2
				continue
			}
			set |= 1 << symIndex[c]
		case c == '-':
			return 0, 0, perr(i, "'-' needs a digit on each side ([0-5])")
		default:
			return 0, 0, perr(i, "unexpected character %q inside brackets", p[i:i+runeLen(p[i:])])
		}
	}
	return 0, 0, perr(start, "'[' is never closed")
}

// translateRegex checks an RE2 expression. It is matched against the whole
// number; explicit ^ and $ are allowed and redundant. Word-boundary
// assertions are rejected (numbers have no words).
func translateRegex(p string, perr perrFunc) (string, error) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		off := -1
		var se *syntax.Error
		if e, ok := err.(*syntax.Error); ok {
			se = e
			if se.Expr != "" {
				off = strings.Index(p, se.Expr)
			}
		}
		msg := err.Error()
		if se != nil {
			msg = se.Code.String() + ": `" + se.Expr + "`"
		}
		return "", perr(off, "RE2: %s", msg)
	}
	var bad syntax.Op
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpWordBoundary || r.Op == syntax.OpNoWordBoundary {
			bad = r.Op
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(re)
	if bad != 0 {
		return "", perr(-1, "word-boundary assertions (\\b, \\B) are not supported")
	}
	return p, nil
}

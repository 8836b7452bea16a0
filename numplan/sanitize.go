package numplan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// anonymousWords are caller-ID texts that carry no number (compared
// case-insensitively, after trimming).
var anonymousWords = []string{
	"anonymous", "private", "private number", "unknown", "unavailable",
	"restricted", "withheld", "blocked", "no caller id", "not available",
}

// Sanitized is a number reduced to the alphabet 0-9 * # A-D with at most
// one leading "+".
type Sanitized struct {
	// Number is the sanitized number ("" when Anonymous).
	Number string
	// Extension is the extension split off (";ext=", "ext.", "x").
	Extension string
	// Anonymous reports an empty input, a withheld-number word
	// ("anonymous", "private", ...) or an input without any digit.
	Anonymous bool
}

// Sanitize reduces a number as a PBX, a directory or a person wrote it to
// the package's alphabet: it trims, strips "tel:" and "sip:" URI schemes
// (and a SIP host part), splits an extension (";ext=", "ext.", "x"), drops
// the separators space - . ( ) / and Unicode dashes, maps Unicode decimal
// digits to ASCII and upper-cases a-d. A "+" is kept only in front.
// Anything else is a *NumberError with the byte offset of the character;
// so is a result longer than MaxNumberLen. An input that is already clean
// is returned without allocating.
func Sanitize(input string) (Sanitized, error) {
	s := strings.TrimSpace(input)
	if clean(s) {
		return Sanitized{Number: s}, nil
	}
	if s == "" {
		return Sanitized{Anonymous: true}, nil
	}
	for _, w := range anonymousWords {
		if strings.EqualFold(s, w) {
			return Sanitized{Anonymous: true}, nil
		}
	}
	base := len(input) - len(strings.TrimLeftFunc(input, unicode.IsSpace))
	// URI schemes.
	for _, scheme := range []string{"tel:", "sip:", "sips:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			base += len(scheme)
			if scheme != "tel:" {
				if at := strings.IndexByte(s, '@'); at >= 0 {
					s = s[:at]
				}
			}
			break
		}
	}
	var ext string
	// URI parameters: ";ext=" is the extension, the others are dropped.
	if semi := strings.IndexByte(s, ';'); semi >= 0 {
		for _, param := range strings.Split(s[semi+1:], ";") {
			name, val, _ := strings.Cut(param, "=")
			if strings.EqualFold(name, "ext") {
				ext = val
			}
		}
		s = s[:semi]
	}
	if ext == "" {
		s, ext = splitWrittenExtension(s)
	}
	if !hasDigit(s) {
		return Sanitized{Anonymous: true}, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#', r >= 'A' && r <= 'D':
			b.WriteByte(byte(r))
		case r >= 'a' && r <= 'd':
			b.WriteByte(byte(r) - 'a' + 'A')
		case r == '+':
			if b.Len() != 0 {
				return Sanitized{}, &NumberError{Input: input, Offset: base + i, Problem: "'+' is only allowed in front"}
			}
			b.WriteByte('+')
		case isSeparator(r):
			continue
		case unicode.Is(unicode.Nd, r):
			b.WriteByte(byte('0' + digitValue(r)))
		case r == utf8.RuneError:
			return Sanitized{}, &NumberError{Input: input, Offset: base + i, Problem: "invalid UTF-8"}
		default:
			return Sanitized{}, &NumberError{Input: input, Offset: base + i, Problem: "unexpected character " + quoteRune(r)}
		}
		n++
		if n > MaxNumberLen {
			return Sanitized{}, &NumberError{Input: input, Offset: -1, Problem: "longer than 64 symbols"}
		}
	}
	out := b.String()
	if out == "+" {
		return Sanitized{}, &NumberError{Input: input, Offset: -1, Problem: "'+' without digits"}
	}
	return Sanitized{Number: out, Extension: ext}, nil
}

func quoteRune(r rune) string {
	return "'" + string(r) + "'"
}

// clean reports whether s is already sanitized: non-empty, at most
// MaxNumberLen symbols of the alphabet, "+" only in front, and at least
// one digit, "*" or "#".
func clean(s string) bool {
	if s == "" || len(s) > MaxNumberLen {
		return false
	}
	dig := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#':
			dig = true
		case c >= 'A' && c <= 'D':
		case c == '+' && i == 0 && len(s) > 1:
		default:
			return false
		}
	}
	return dig
}

// hasDigit reports whether s holds a decimal digit (any script), "*" or "#".
func hasDigit(s string) bool {
	for _, r := range s {
		if r == '*' || r == '#' || unicode.Is(unicode.Nd, r) {
			return true
		}
	}
	return false
}

func isSeparator(r rune) bool {
	switch r {
	case ' ', '-', '.', '(', ')', '/', '\t', '\u00a0', '\u2007', '\u202f', '\u2212', '\u30fc', '\uff0d':
		return true
	}
	return r >= '\u2010' && r <= '\u2015' || r == '\u3000' || unicode.IsSpace(r)
}

// digitValue returns the value of a Unicode decimal digit: every range of
// the Nd category is a run of whole 0-9 sequences.
func digitValue(r rune) int {
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	return 0
}

// splitWrittenExtension splits "… ext. 123", "… ext 123" and "… x123"
// (case-insensitive) when only digits follow the marker.
func splitWrittenExtension(s string) (string, string) {
	for _, marker := range []string{"ext.", "ext", "x"} {
		i := lastIndexASCIIFold(s, marker)
		if i <= 0 {
			continue
		}
		rest := strings.TrimSpace(s[i+len(marker):])
		if rest == "" || !isDigits(rest) || !hasDigit(s[:i]) {
			continue
		}
		return strings.TrimSpace(s[:i]), rest
	}
	return s, ""
}

// lastIndexASCIIFold is strings.LastIndex ignoring ASCII case; byte
// offsets stay those of s whatever its encoding.
func lastIndexASCIIFold(s, marker string) int {
	for i := len(s) - len(marker); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(marker)], marker) {
			return i
		}
	}
	return -1
}

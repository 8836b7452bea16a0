package numplan

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func matchOne(t *testing.T, d Dialect, pattern, number string) bool {
	t.Helper()
	expr, err := translate(d, pattern)
	require.NoError(t, err)
	pd, err := buildPDFA(expr)
	require.NoError(t, err)
	a, err := buildAutomaton([]*pdfa{pd})
	require.NoError(t, err)
	return a.match(number, false) == 0
}

func TestCiscoMatching(t *testing.T) {
	for _, c := range []struct {
		pattern string
		yes     []string
		no      []string
	}{
		{"9+11", []string{"911", "9911", "999911"}, []string{"+911", "11", "9111", "91"}},
		{"2XXX", []string{"2000", "2999"}, []string{"200", "20000", "3000", "2*00"}},
		{"91X?", []string{"91", "910", "91999"}, []string{"9", "92", "91*"}},
		{"91!", []string{"910", "91999999"}, []string{"91", "91#"}},
		{"13[^3-9]6", []string{"1306", "1316", "1326", "13*6", "13#6", "13A6"}, []string{"1336", "1396", "13+6"}},
		{"813510[0-5]", []string{"8135100", "8135105"}, []string{"8135106"}},
		{`\+44!`, []string{"+442079460123"}, []string{"442079460123", "+44"}},
		{"*33X?*X?#", []string{"*33*#", "*331*22#"}, []string{"*33#"}},
		{"[\\+0]1", []string{"+1", "01"}, []string{"11"}},
		{"ABCD#", []string{"ABCD#"}, []string{"ABCD"}},
		{"x1", []string{"51"}, []string{"1"}},
		{"len:1-5", []string{"1", "12345"}, []string{"123456", "*1", "+1"}},
		{"len:4", []string{"1234"}, []string{"123", "12345"}},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			for _, n := range c.yes {
				assert.True(t, matchOne(t, DialectCisco, c.pattern, n), n)
			}
			for _, n := range c.no {
				assert.False(t, matchOne(t, DialectCisco, c.pattern, n), n)
			}
		})
	}
}

func TestCiscoErrors(t *testing.T) {
	for _, c := range []struct {
		pattern string
		offset  int
		problem string
	}{
		{"+44!", 0, `use \+`},
		{"1.5", 1, "PreDot"},
		{"9.@", 1, "'.'"},
		{"9@", 1, "NANP"},
		{"[+-X]", 1, `use \+`},
		{"[1-X]", 1, "both ends must be digits"},
		{"[*-5]", 1, "both ends must be digits"},
		{"[5-1]", 1, "reversed"},
		{"[1,2]", 2, "comma"},
		{"[]", 0, "empty brackets"},
		{"[^]", 0, "empty brackets"},
		{"[12", 0, "never closed"},
		{"12]", 2, "without '['"},
		{"[^1][^2]", 5, "only one [^...]"},
		{"!?", 1, "cannot follow '!'"},
		{"!+", 1, "cannot follow '!'"},
		{"?1", 0, "repeats nothing"},
		{"1??", 2, "repeats nothing"},
		{"1+?", 2, "repeats nothing"},
		{"1-2", 1, "only allowed inside brackets"},
		{"1 2", 1, "spaces"},
		{"12e", 2, "unexpected character"},
		{"1a", 1, "upper case"},
		{`\1`, 0, `followed by '+'`},
		{"[1^2]", 2, "must come first"},
		{"[[1]]", 1, "nested"},
		{"[X]", 1, "'X' inside brackets"},
		{"", -1, "empty pattern"},
		{"len:0-5", 4, "1 <= MIN"},
		{"len:5-1", 4, "1 <= MIN"},
		{"len:1-99", 4, "MAX <= 64"},
		{"len:a", 4, "want len:"},
		{"1é", 1, `unexpected character "é"`},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			err := CheckPattern(DialectCisco, c.pattern)
			require.Error(t, err)
			var pe *PatternError
			require.True(t, errors.As(err, &pe))
			assert.True(t, errors.Is(err, ErrInvalidPattern))
			assert.Equal(t, c.offset, pe.Offset, err.Error())
			assert.Contains(t, pe.Problem, c.problem)
		})
	}
}

func TestAsterisk(t *testing.T) {
	for _, c := range []struct {
		pattern string
		yes, no []string
	}{
		{"_NXXNXXXXXX", []string{"2025550123"}, []string{"1025550123", "202555012"}},
		{"_Z.", []string{"12", "9999"}, []string{"1", "02"}},
		{"_9!", []string{"9", "91", "9*#"}, []string{"8"}},
		{"_[1-3,]X", nil, nil},
		{"2000", []string{"2000"}, []string{"20000", "2001"}},
		{"20-00", []string{"2000"}, nil},
		{"_x[135]n", []string{"012", "959"}, []string{"021", "951"}},
		{"+4420", []string{"+4420"}, []string{"4420"}},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			if c.yes == nil {
				require.Error(t, CheckPattern(DialectAsterisk, c.pattern))
				return
			}
			for _, n := range c.yes {
				assert.True(t, matchOne(t, DialectAsterisk, c.pattern, n), n)
			}
			for _, n := range c.no {
				assert.False(t, matchOne(t, DialectAsterisk, c.pattern, n), n)
			}
		})
	}
	for _, bad := range []string{"_", "_9.1", "20X", "_[^1]", "_[]", "_9?", "_[1-", "abc"} {
		assert.Error(t, CheckPattern(DialectAsterisk, bad), bad)
	}
}

func TestRegexDialect(t *testing.T) {
	assert.True(t, matchOne(t, DialectRegex, `2\d{3}`, "2001"))
	assert.False(t, matchOne(t, DialectRegex, `2\d{3}`, "20011"), "anchored at the end")
	assert.False(t, matchOne(t, DialectRegex, `\d{3}`, "12345"))
	assert.True(t, matchOne(t, DialectRegex, `^\+44\d+$`, "+442079460123"))
	assert.True(t, matchOne(t, DialectRegex, `(?:1|2)*3`, "12123"))
	assert.False(t, matchOne(t, DialectRegex, `a^1`, "1"))
	err := CheckPattern(DialectRegex, `2(\d`)
	var pe *PatternError
	require.True(t, errors.As(err, &pe))
	assert.Contains(t, pe.Problem, "RE2")
	assert.Error(t, CheckPattern(DialectRegex, `\b1`))
}

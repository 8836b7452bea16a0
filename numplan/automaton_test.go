package numplan

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAutomatonAgreesWithRegexp compares the combined automaton with
// Go's regexp on random numbers, for every pattern alone and together.
func TestAutomatonAgreesWithRegexp(t *testing.T) {
	patterns := []string{"2XXX", "9+11", "91X?", "13[^3-9]6", `\+44!`, "1[3-5]XX", "15!", "X!", "len:1-3", "*X+#", "[0-4]?5+"}
	var exprs []*regexp.Regexp
	var ps []*pdfa
	for _, p := range patterns {
		e, err := translate(DialectCisco, p)
		require.NoError(t, err)
		exprs = append(exprs, regexp.MustCompile(`^(?:`+e+`)$`))
		pd, err := buildPDFA(e)
		require.NoError(t, err)
		ps = append(ps, pd)
	}
	a, err := buildAutomaton(ps)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	syms := "0123456789*#+ABCD"
	for i := 0; i < 20000; i++ {
		n := 1 + rng.IntN(8)
		b := make([]byte, n)
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = syms[rng.IntN(len(syms))]
			} else {
				b[j] = byte('0' + rng.IntN(10))
			}
		}
		s := string(b)
		want := -1
		for k, re := range exprs {
			if re.MatchString(s) {
				want = k
				break
			}
		}
		require.Equal(t, want, a.match(s, false), s)
	}
}

func TestPatternCounts(t *testing.T) {
	count := func(p string, n int) float64 {
		e, err := translate(DialectCisco, p)
		require.NoError(t, err)
		d, err := buildPDFA(e)
		require.NoError(t, err)
		return d.counts[n]
	}
	assert.Equal(t, 300.0, count("1[3-5]XX", 4))
	assert.Equal(t, 100.0, count("15!", 4))
	assert.Equal(t, 1.0, count("1234", 4))
	assert.Equal(t, 0.0, count("1234", 5))
	assert.Equal(t, 10000.0, count("X!", 4)-0)
	// X?X is ambiguous as an NFA; the DFA counts strings, not paths.
	assert.Equal(t, 100.0, count("X?X", 2))
	assert.Equal(t, 9.0, count("13[^3-9]6", 4), "[^3-9] keeps 0-2 * # A-D")
}

func TestClosestMatch(t *testing.T) {
	for _, c := range []struct {
		patterns     []string
		number       string
		first, close int
	}{
		{[]string{"1[3-5]XX", "15!"}, "1515", 0, 1},
		{[]string{"2XXX", "2000"}, "2000", 0, 1},
		{[]string{"6XX1", "64XX", "64[2-9]X"}, "6421", 0, 2},
		{[]string{"X!", "2XXX"}, "2001", 0, 1},
		{[]string{"2XXX", "2XXX"}, "2001", 0, 0},
		{[]string{"20XX", "2X0X"}, "2000", 0, 0},
		{[]string{"20XX", "2X0X"}, "2110", -1, -1},
		{[]string{"20XX", "2X0X"}, "2102", 1, 1},
	} {
		t.Run(c.number, func(t *testing.T) {
			pf, err := Compile(Config{InternalPatterns: c.patterns})
			require.NoError(t, err)
			pc, err := Compile(Config{InternalPatterns: c.patterns, MatchMode: MatchClosest})
			require.NoError(t, err)
			assert.Equal(t, c.first, pf.Match(c.number))
			assert.Equal(t, c.close, pc.Match(c.number))
		})
	}
}

func TestTooComplex(t *testing.T) {
	// "a 1 fifteen symbols before the end" needs 2^15 DFA states; the
	// limit turns that into an error rather than unbounded memory.
	_, err := Compile(Config{InternalPatterns: []string{`(0|1)*1(0|1){14}`}, PatternDialect: DialectRegex})
	require.ErrorIs(t, err, ErrTooComplex)
}

// TestCountsBruteForce checks the closest-match counts against an
// enumeration of every string of the alphabet up to length 4.
func TestCountsBruteForce(t *testing.T) {
	for _, pat := range []string{"1[3-5]XX", "15!", "X?X", "13[^3-9]6", "9+1?", `\+X!`, "[^0]!"} {
		expr, err := translate(DialectCisco, pat)
		require.NoError(t, err)
		d, err := buildPDFA(expr)
		require.NoError(t, err)
		re := regexp.MustCompile(`^(?:` + expr + `)$`)
		buf := make([]byte, 0, 4)
		var want [5]float64
		var walk func()
		walk = func() {
			if len(buf) > 0 && re.Match(buf) {
				want[len(buf)]++
			}
			if len(buf) == 4 {
				return
			}
			for i := 0; i < nsym; i++ {
				buf = append(buf, alphabet[i])
				walk()
				buf = buf[:len(buf)-1]
			}
		}
		walk()
		for n := 1; n <= 4; n++ {
			assert.Equal(t, want[n], d.counts[n], "%s length %d", pat, n)
		}
	}
}

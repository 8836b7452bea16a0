package numplan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLint(t *testing.T) {
	p, err := Compile(Config{InternalPatterns: []string{"2XXX", "2000", "3XXX", "[23]1XX", "4XXX", "4[0-4]XX"}})
	require.NoError(t, err)
	f := p.Lint()
	require.Len(t, f, 3)
	assert.Equal(t, 1, f[0].Rule)
	assert.Equal(t, []int{0}, f[0].CoveredBy)
	assert.Equal(t, 3, f[1].Rule)
	assert.Equal(t, []int{0, 2}, f[1].CoveredBy)
	assert.Equal(t, 5, f[2].Rule)
	assert.Contains(t, f[2].Message, `rule 5 "4[0-4]XX" can never match in first mode`)

	p, err = Compile(Config{InternalPatterns: []string{`1^2`}, PatternDialect: DialectRegex})
	require.NoError(t, err)
	require.Len(t, p.Lint(), 1)
	assert.Contains(t, p.Lint()[0].Message, "matches no number")

	p, err = Compile(Config{InternalPatterns: []string{"2XXX", "3XXX"}})
	require.NoError(t, err)
	assert.Empty(t, p.Lint())
}

package numplan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndex(t *testing.T) {
	p, err := Compile(Config{LocalCountryCode: "+44", InternationalPrefix: "00", IncomingPrefix: "9", InternalPatterns: []string{"2XXX"}})
	require.NoError(t, err)
	ix := p.NewIndex(0)
	for _, e := range []struct{ id, number string }{
		{"alice", "020 7946 0123"},
		{"alice", "+44 20 7946 0123"}, // same contact twice: reported once
		{"bob", "+39 06 1234 5678"},
		{"reception", "2001"},
		{"legacy", "7946 0199"}, // not a valid number: indexed by its digits
	} {
		_, err := ix.Add(e.id, e.number)
		require.NoError(t, err)
	}
	_, err = ix.Add("x", "anonymous")
	require.Error(t, err)
	_, err = ix.Add("x", "12e")
	require.ErrorIs(t, err, ErrInvalidNumber)
	assert.Equal(t, 5, ix.Len())

	m := ix.LookupIn("9 0044 20 7946 0123")
	require.Len(t, m, 1)
	assert.Equal(t, "alice", m[0].ID)
	assert.False(t, m[0].Weak)

	m = ix.LookupIn("9 0039 06 1234 5678")
	require.Len(t, m, 1)
	assert.Equal(t, "bob", m[0].ID)

	m = ix.LookupIn("2001")
	require.Len(t, m, 1)
	assert.Equal(t, "reception", m[0].ID)

	// Last-seven-digits fallback is weak.
	m = ix.LookupIn("9 020 7946 0199")
	require.Len(t, m, 1)
	assert.Equal(t, "legacy", m[0].ID)
	assert.True(t, m[0].Weak)

	assert.Empty(t, ix.LookupIn("anonymous"))
	assert.Empty(t, ix.LookupIn("3001"))
	assert.Empty(t, ix.LookupIn("9 020 7946 0555"))
	assert.Empty(t, ix.Lookup(p.In("12e")))

	// A legacy key (seed directories) matches exactly.
	ix2 := p.NewIndex(-1)
	_, err = ix2.Add("carol", "07700 900123") // invalid mobile: key is the digits
	require.NoError(t, err)
	m = ix2.Lookup(p.Normalize("07700 900123"))
	require.Len(t, m, 1)
	assert.Empty(t, ix2.LookupIn("9 020 7946 0199"), "fallback disabled")
}

func TestIndexLegacyKey(t *testing.T) {
	p, err := Compile(Config{LocalCountryCode: "+44"})
	require.NoError(t, err)
	ix := p.NewIndex(-1)
	// A directory filled with seed keys: "+44 7700 900123" (invalid) was
	// stored without the country code.
	_, err = ix.Add("dave", "7700900123")
	require.NoError(t, err)
	r := p.In("+447700900123")
	assert.Equal(t, KindUnknown, r.Kind)
	assert.Equal(t, "7700900123", r.LegacyKey)
	m := ix.Lookup(r)
	require.Len(t, m, 1)
	assert.Equal(t, "dave", m[0].ID)
}

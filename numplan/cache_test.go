package numplan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCache(t *testing.T) {
	p, err := CompileWith(cfgGB, Options{CacheSize: 4})
	require.NoError(t, err)
	plain, err := Compile(cfgGB)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		for _, n := range []string{"020 7946 0123", "2001", "0044 20 7946 0124", "07700 900123", "anonymous", "12e"} {
			assert.Equal(t, plain.In(n), p.In(n))
			assert.Equal(t, plain.TAPI(n), p.TAPI(n))
			assert.Equal(t, plain.Normalize(n), p.Normalize(n))
			assert.Equal(t, plain.Out(n, "2001"), p.Out(n, "2001"))
			assert.Equal(t, plain.Out(n, ""), p.Out(n, ""))
			assert.LessOrEqual(t, p.cache.len(), 4)
		}
	}
	// The primary extension is part of the key.
	assert.Equal(t, "9012345", p.Out("012345", "").Dial)
	assert.Equal(t, "012345", p.Out("012345", "012345").Dial)
}

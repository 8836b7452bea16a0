package authchain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"8d":    8 * Day,
		"30d":   30 * Day,
		"1d12h": 36 * time.Hour,
		"36h":   36 * time.Hour,
		"90m":   90 * time.Minute,
		"0s":    0,
		" 2d ":  2 * Day,
		"1d1ms": Day + time.Millisecond,
	}
	for in, want := range ok {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.D(), in)
	}
	for _, in := range []string{"", "d", "1.5d", "8 days", "xd", "-d", "1d-1h", "99999999d", "8"} {
		_, err := ParseDuration(in)
		require.Error(t, err, in)
	}
	for d, want := range map[time.Duration]string{8 * Day: "8d", 36 * time.Hour: "1d12h0m0s", time.Hour: "1h0m0s", 0: "0s", -2 * Day: "-2d"} {
		require.Equal(t, want, Duration(d).String())
		back, err := ParseDuration(want)
		require.NoError(t, err)
		require.Equal(t, d, back.D())
	}
	var v struct {
		D Duration `json:"d"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"d":"8d"}`), &v))
	require.Equal(t, 8*Day, v.D.D())
	require.Error(t, json.Unmarshal([]byte(`{"d":8}`), &v))
	b, _ := json.Marshal(v)
	require.JSONEq(t, `{"d":"8d"}`, string(b))
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"8d", "1d12h", "90m", "-3d", "0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		back, err := ParseDuration(d.String())
		require.NoError(t, err, "%q -> %q", s, d.String())
		require.Equal(t, d, back)
	})
}

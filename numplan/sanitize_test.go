package numplan

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSanitize(t *testing.T) {
	for _, c := range []struct {
		in, out, ext string
		anon         bool
		errOff       int // -2 = no error
	}{
		{"2001", "2001", "", false, -2},
		{"  +44 (0)20 7946-0123 ", "+4402079460123", "", false, -2},
		{"020.7946.0123", "02079460123", "", false, -2},
		{"020/7946 0123", "02079460123", "", false, -2},
		{"tel:+1-202-555-0123;ext=42", "+12025550123", "42", false, -2},
		{"TEL:+1-202-555-0123;phone-context=example.com", "+12025550123", "", false, -2},
		{"sip:+442079460123@pbx.example.com;user=phone", "+442079460123", "", false, -2},
		{"+1 202 555 0123 ext. 7", "+12025550123", "7", false, -2},
		{"+1 202 555 0123 x7", "+12025550123", "7", false, -2},
		{"０２０ ７９４６ ０１２３", "02079460123", "", false, -2},
		{"٠٢٠٧٩٤٦٠١٢٣", "02079460123", "", false, -2},
		{"𝟎𝟐𝟎", "020", "", false, -2},
		{"*31#2001", "*31#2001", "", false, -2},
		{"12ab", "12AB", "", false, -2},
		{"020\u20117946\u00a00123", "02079460123", "", false, -2},
		{"", "", "", true, -2},
		{"   ", "", "", true, -2},
		{"anonymous", "", "", true, -2},
		{"Anonymous", "", "", true, -2},
		{"PRIVATE", "", "", true, -2},
		{"Unavailable", "", "", true, -2},
		{"no number here", "", "", true, -2},
		{"0044+20", "", "", false, 4},
		{"12e4", "", "", false, 2},
		{"12\xff", "", "", false, 2},
		{"+", "", "", true, -2},
		{"+ 1", "+1", "", false, -2},
		{"++1", "", "", false, 1},
		{"1234567890123456789012345678901234567890123456789012345678901234567890", "", "", false, -1},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := Sanitize(c.in)
			if c.errOff != -2 {
				require.Error(t, err)
				var ne *NumberError
				require.True(t, errors.As(err, &ne))
				assert.True(t, errors.Is(err, ErrInvalidNumber))
				assert.Equal(t, c.errOff, ne.Offset, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.out, got.Number)
			assert.Equal(t, c.ext, got.Extension)
			assert.Equal(t, c.anon, got.Anonymous)
			if !got.Anonymous {
				again, err := Sanitize(got.Number)
				require.NoError(t, err)
				assert.Equal(t, got.Number, again.Number, "idempotent")
			}
		})
	}
}

func TestSanitizeCleanDoesNotAllocate(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, err := Sanitize("+442079460123"); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, n)
}

package proxycfg

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFromURLErrorsHidePassword: a password typed without percent-encoding
// ends up, for the URL parser, in the port, the path, the query or the
// fragment; no error message may show it.
func TestFromURLErrorsHidePassword(t *testing.T) {
	const pw = "pa55word"
	for _, raw := range []string{
		"http://u:" + pw + "/x@proxy:3128",
		"http://u:" + pw + "?x@proxy:3128",
		"http://u:" + pw + "#x@proxy:3128",
		"socks5h://u:" + pw + "%@proxy:1080",
		"socks5://u:x" + pw + "%zz@proxy:1080",
		"http://user/" + pw + ":x@proxy:3128",
		"http://u:" + pw + " x@proxy:3128",
		"http://u:" + pw + "@proxy:3128/path",
		"http://u:" + pw + "@proxy:99999",
		"http://u:" + pw + "@:3128",
		"http://u:" + pw + "@[::1",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := FromURL(raw)
			require.Error(t, err)
			require.NotContains(t, err.Error(), pw)
			require.NotContains(t, err.Error(), "%zz")
		})
	}
	_, err := FromURL("http://u:" + pw + "/x@proxy:3128")
	require.ErrorContains(t, err, "percent-encode @ : / ? # % and spaces")
}

func FuzzFromURLErrorsHidePassword(f *testing.F) {
	for _, s := range []string{"pa55/word", "a1?bcdefg", "9#########", "%zz123456/"} {
		f.Add(uint8(0), s)
		f.Add(uint8(5), s)
	}
	schemes := []string{"http", "https", "socks4", "socks4a", "socks5", "socks5h"}
	f.Fuzz(func(t *testing.T, si uint8, pw string) {
		scheme := schemes[int(si)%len(schemes)]
		// Only passwords no message text could contain by chance.
		if len(pw) < 8 || !strings.ContainsAny(pw, "/?#") || !strings.ContainsAny(pw, "0123456789") || strings.Contains(pw, "@") {
			return
		}
		_, err := FromURL(scheme + "://u:" + pw + "@proxy:3128")
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Fatalf("error shows the password %q: %v", pw, err)
		}
	})
}

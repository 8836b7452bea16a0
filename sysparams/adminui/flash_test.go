package adminui_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

// "Saved." and the restart warnings appear only after this handler's own
// redirect: a crafted link cannot make the page tell an administrator to
// reboot the server, nor claim a save that did not happen.
func TestFlashOnlyFromOwnRedirect(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post("/proxy", "/proxy", url.Values{"proxy.http.address": {"10.0.0.2"}, "proxy.http.port": {"3128"}})
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	loc := r.hdr.Get("Location")
	r = e.get(loc)
	assert.Contains(t, r.body, "<strong>Saved.</strong>")
	assert.Contains(t, r.body, sysparams.NoteProxy)

	for _, forged := range []string{
		"/proxy?saved=1&restart=host&note=1",
		"/telephony?saved=1&note=1",
		"/certificate?done=regenerated",
		"/telephony" + loc[len("/proxy"):], // a valid signature for another page
		loc + "&note=0",
		"/proxy?saved=1&restart=host&note=1&sig=AAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run(forged, func(t *testing.T) {
			r := e.get(forged)
			require.Equal(t, http.StatusOK, r.code)
			assert.NotContains(t, r.body, "Saved.")
			assert.NotContains(t, r.body, "Warning:</strong> "+sysparams.NoteProxy)
			assert.NotContains(t, r.body, "Certificate regenerated")
		})
	}
}

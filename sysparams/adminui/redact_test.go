package adminui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// The CSRF key never prints, logs or marshals.
func TestOptionsNeverShowTheKey(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef-KEY"
	o := adminui.Options{
		Authorize: func(*http.Request) bool { return true },
		CSRFKey:   adminui.NewSecret(key),
		BasePath:  "/admin",
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outs = append(outs, fmt.Sprintf(verb, o), fmt.Sprintf(verb, &o))
	}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	outs = append(outs, string(b))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("options", "opts", o, "key", o.CSRFKey)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("options", "opts", o)
	outs = append(outs, logBuf.String())
	for _, s := range outs {
		assert.NotContains(t, s, "KEY")
		assert.NotContains(t, s, "0123456789abcdef")
	}
	assert.Contains(t, string(b), `"base_path":"/admin"`)
	assert.Equal(t, key, o.CSRFKey.Reveal())
}

// A shared key makes tokens of one handler valid on another (nodes behind
// a load balancer).
func TestSharedCSRFKey(t *testing.T) {
	const key = "an-installation-wide-csrf-key-of-32+-bytes"
	a := newEnv(t, nil, func(o *adminui.Options) { o.CSRFKey = adminui.NewSecret(key) })
	b := newEnv(t, nil, func(o *adminui.Options) { o.CSRFKey = adminui.NewSecret(key) })
	tok := a.token("/telephony")
	// Move a's cookie to b's client.
	u := a.srv.URL
	cookies := a.client.Jar.Cookies(mustURL(t, u))
	require.NotEmpty(t, cookies)
	b.client.Jar.SetCookies(mustURL(t, b.srv.URL), cookies)
	f := map[string][]string{"csrf_token": {tok}, "telephony.system_name": {"Shared"}, "telephony.pbx_address": {"10.0.0.1"}}
	assert.Equal(t, http.StatusSeeOther, b.postRaw("/telephony", f).code)
}

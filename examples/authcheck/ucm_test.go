package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUCMFromConfig checks the ucm section of auth.json end to end against
// a small AXL fake whose certificate is trusted through ca_file.
func TestUCMFromConfig(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		if u != "axl" || p != "axl-pw" || r.Header.Get("SOAPAction") != `"CUCM:DB ver=14.0 doAuthenticateUser"` {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ok := "false"
		if strings.Contains(string(body), "<userid>jpbx</userid><password>pbx-pw</password>") {
			ok = "true"
		}
		fmt.Fprintf(w, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ns:doAuthenticateUserResponse xmlns:ns="http://www.cisco.com/AXL/API/14.0"><return><userAuthenticated>%s</userAuthenticated><code>0</code></return></ns:doAuthenticateUserResponse></soapenv:Body></soapenv:Envelope>`, ok)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "cucm.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	cfg := writeConfig(t, map[string]any{
		"order": "sso>ucm>local",
		"ucm":   map[string]any{"url": srv.URL + "/axl/", "version": "14.0", "axl_user": "axl", "axl_password": "axl-pw", "ca_file": ca},
		"users": []map[string]any{{"login": "pat", "pbx_username": "jpbx"}},
	})
	for _, c := range []struct {
		pw, outcome string
		code        int
	}{{"pbx-pw\n", "success", 0}, {"other\n", "denied", 1}} {
		code, out, _ := runCLI(t, c.pw, "-config", cfg, "-user", "pat")
		var got output
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Equal(t, c.code, code, out)
		require.Equal(t, "ucm", got.Method)
		require.Equal(t, c.outcome, got.Outcome)
	}
}

package authchain

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeAXL is an httptest CUCM AXL endpoint for doAuthenticateUser, faithful
// to the AXL schema: Basic auth of the application user, the SOAPAction
// header and the namespace version are checked; the answer depends on the
// password.
type fakeAXL struct {
	srv     *httptest.Server
	version string
	mu      sync.Mutex // guards got
	got     []struct{ userid, password string }
}

func newFakeAXL(t *testing.T, version string) *fakeAXL {
	f := &fakeAXL{version: version}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// The TLS test makes the client refuse the certificate; keep the
	// server's handshake complaint out of the test output.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAXL) serve(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != "axladmin" || p != "axl-secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/axl/" ||
		r.Header.Get("SOAPAction") != `"CUCM:DB ver=`+f.version+` doAuthenticateUser"` ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
		http.Error(w, "bad request shape", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Body struct {
			Op struct {
				XMLName  xml.Name
				UserID   string `xml:"userid"`
				Password string `xml:"password"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Op.XMLName.Space != "http://www.cisco.com/AXL/API/"+f.version || env.Body.Op.XMLName.Local != "doAuthenticateUser" {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, struct{ userid, password string }{env.Body.Op.UserID, env.Body.Op.Password})
	f.mu.Unlock()
	pw := env.Body.Op.Password
	switch {
	case pw == "fault":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Item not valid: The specified User was not found</faultstring><detail><axlError><axlcode>5007</axlcode><axlmessage>Item not valid: The specified User was not found</axlmessage><request>doAuthenticateUser</request></axlError></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
		return
	case pw == "busy":
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case pw == "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	case pw == "garbage":
		fmt.Fprint(w, `<html>not soap</html>`)
		return
	}
	// The password's prefix before "/" selects the boolean form: "t/x",
	// "true/x", "1/x" and so on; the fake accepts only the secret "ok".
	form, secret, _ := strings.Cut(pw, "/")
	value := form
	if secret != "ok" {
		switch form {
		case "t":
			value = "f"
		case "true":
			value = "false"
		case "1":
			value = "0"
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ns:doAuthenticateUserResponse xmlns:ns="http://www.cisco.com/AXL/API/%s"><return><userAuthenticated>%s</userAuthenticated><code>0</code><daysToExpiry>87</daysToExpiry></return></ns:doAuthenticateUserResponse></soapenv:Body></soapenv:Envelope>`, f.version, value)
}

func (f *fakeAXL) config() UCMConfig {
	return UCMConfig{URL: f.srv.URL + "/axl/", Version: f.version, AXLUser: "axladmin", AXLPassword: NewSecret("axl-secret"), RootCAs: certPool(f.srv)}
}

func certPool(s *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

func TestUCMAuthenticate(t *testing.T) {
	f := newFakeAXL(t, "14.0")
	a, err := NewUCMAuthenticator(f.config())
	require.NoError(t, err)
	ctx := context.Background()
	u := User{PBXUsername: "jpbx"}
	for _, form := range []string{"t", "true", "1"} {
		require.NoError(t, a.Authenticate(ctx, u, form+"/ok"), form)
		err := a.Authenticate(ctx, u, form+"/wrong")
		require.ErrorIs(t, err, ErrDenied, form)
		require.Equal(t, ReasonInvalidCredentials, ReasonOf(err))
	}
	for _, form := range []string{"f", "false", "0"} {
		require.ErrorIs(t, a.Authenticate(ctx, u, form+"/ok"), ErrDenied, form)
	}
	for name, c := range map[string]struct {
		pw     string
		reason Reason
	}{
		"soap fault is never a denial": {"fault", ReasonServerError},
		"503":                          {"busy", ReasonServerError},
		"not soap":                     {"garbage", ReasonServerError},
		"bad boolean":                  {"yes/ok", ReasonServerError},
	} {
		t.Run(name, func(t *testing.T) {
			err := a.Authenticate(ctx, u, c.pw)
			require.ErrorIs(t, err, ErrUnavailable)
			require.NotErrorIs(t, err, ErrDenied)
			require.Equal(t, c.reason, ReasonOf(err), "%v", err)
		})
	}
	var fault *AXLFault
	require.ErrorAs(t, a.Authenticate(ctx, u, "fault"), &fault)
	require.Equal(t, 5007, fault.AXLCode)

	// XML-special characters reach CUCM as literal text.
	tricky := User{PBXUsername: `a<b&c]]>"d'`}
	_ = a.Authenticate(ctx, tricky, `p<w&]]></password><x>`)
	f.mu.Lock()
	last := f.got[len(f.got)-1]
	f.mu.Unlock()
	require.Equal(t, `a<b&c]]>"d'`, last.userid)
	require.Equal(t, `p<w&]]></password><x>`, last.password)

	// Empty password: no request at all.
	n := len(f.got)
	err = a.Authenticate(ctx, u, "")
	require.Equal(t, ReasonEmptyPassword, ReasonOf(err))
	require.Len(t, f.got, n)
}

func TestUCMConfigErrors(t *testing.T) {
	f := newFakeAXL(t, "12.5")
	ctx := context.Background()
	u := User{PBXUsername: "jpbx"}

	cfg := f.config()
	cfg.AXLPassword = NewSecret("wrong")
	a, err := NewUCMAuthenticator(cfg)
	require.NoError(t, err)
	err = a.Authenticate(ctx, u, "t/ok")
	require.ErrorIs(t, err, ErrUnavailable, "a wrong AXL user is not the end user's wrong password")
	require.Equal(t, ReasonConfig, ReasonOf(err))

	cfg = f.config()
	cfg.RootCAs = nil // the fake's certificate is not trusted by the system pool
	a, err = NewUCMAuthenticator(cfg)
	require.NoError(t, err)
	err = a.Authenticate(ctx, u, "t/ok")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, ReasonTLS, ReasonOf(err), "%v", err)

	cfg = f.config()
	cfg.Timeout = Duration(100 * time.Millisecond)
	a, err = NewUCMAuthenticator(cfg)
	require.NoError(t, err)
	err = a.Authenticate(ctx, u, "hang")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, ReasonTimeout, ReasonOf(err), "%v", err)

	cfg = f.config()
	cfg.Version = "11.5" // the fake speaks 12.5 only
	a, err = NewUCMAuthenticator(cfg)
	require.NoError(t, err)
	require.ErrorIs(t, a.Authenticate(ctx, u, "t/ok"), ErrUnavailable)
}

func TestUCMConfigValidate(t *testing.T) {
	good := UCMConfig{URL: "cucm.example.com", AXLUser: "axl", AXLPassword: NewSecret("x")}
	require.NoError(t, good.Validate())
	ep, _ := good.endpoint()
	require.Equal(t, "https://cucm.example.com:8443/axl/", ep.String())
	for name, c := range map[string]struct {
		mod  func(*UCMConfig)
		want string
	}{
		"no url":   {func(c *UCMConfig) { c.URL = "" }, "url: is required"},
		"http":     {func(c *UCMConfig) { c.URL = "http://cucm:8443/axl/" }, "url: must use https"},
		"version":  {func(c *UCMConfig) { c.Version = "12" }, "version: must look like"},
		"no user":  {func(c *UCMConfig) { c.AXLUser = "" }, "axl_user: is required"},
		"colon":    {func(c *UCMConfig) { c.AXLUser = "a:b" }, "axl_user: must not contain"},
		"no pw":    {func(c *UCMConfig) { c.AXLPassword = NewSecret("") }, "axl_password: is required"},
		"timeout":  {func(c *UCMConfig) { c.Timeout = -1 }, "timeout"},
		"userinfo": {func(c *UCMConfig) { c.URL = "https://u:p@cucm/axl/" }, "must not carry credentials"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			c.mod(&cfg)
			require.ErrorContains(t, cfg.Validate(), c.want)
		})
	}
}

func TestParseAXLBoolean(t *testing.T) {
	for in, want := range map[string]bool{"t": true, "true": true, "1": true, "f": false, "false": false, "0": false, " true ": true} {
		got, err := ParseAXLBoolean(in)
		require.NoError(t, err)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "TRUE", "yes", "2"} {
		_, err := ParseAXLBoolean(in)
		require.Error(t, err, in)
	}
}

func FuzzParseUCMResponse(f *testing.F) {
	f.Add(`<Envelope><Body><doAuthenticateUserResponse><return><userAuthenticated>t</userAuthenticated><code>0</code></return></doAuthenticateUserResponse></Body></Envelope>`)
	f.Add(`<Envelope><Body><Fault><faultcode>x</faultcode></Fault></Body></Envelope>`)
	f.Fuzz(func(t *testing.T, s string) {
		ans, err := ParseUCMResponse(200, []byte(s))
		if err == nil && ans.Authenticated {
			require.Contains(t, s, "userAuthenticated")
		}
	})
}

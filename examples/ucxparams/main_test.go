package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func TestCLIFlow(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "params.json")

	r := cli(t, "", nil, "-file", f, "validate")
	require.Equal(t, 1, r.code)
	require.Equal(t, "telephony.system_name: is mandatory\ntelephony.pbx_address: is mandatory\n", r.stdout)

	r = cli(t, "", nil, "-file", f, "show")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, `"remember_user": true`)
	_, err := os.Stat(f)
	require.ErrorIs(t, err, os.ErrNotExist, "show never writes")

	r = cli(t, "line-secret\n", map[string]string{"PW": "env-s3cret"}, "-file", f, "set",
		"telephony.system_name=HQ", "telephony.pbx_address=192.168.4.6",
		"email.enabled=true", "email.from=fax@example.com", "email.server=mail.example.com", "email.port=587",
		"email.use_auth=true", "email.username=fax-admin", "email.password=@env:PW",
		"cloud.client_id=clientId", "cloud.client_secret=@-",
		"authentication.inactivity_timeout=10d")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "saved revision 1\n")
	require.Contains(t, r.stdout, "restart: services\n")
	require.Contains(t, r.stdout, "email.password")

	raw, err := os.ReadFile(f)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "env-s3cret")
	require.NotContains(t, string(raw), "line-secret")

	r = cli(t, "", nil, "-file", f, "show")
	require.Equal(t, 0, r.code)
	require.NotContains(t, r.stdout, "env-s3cret")
	require.NotContains(t, r.stdout, "line-secret")
	var shown map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown))
	require.Equal(t, "[REDACTED]", shown["email"]["password"])
	require.Equal(t, "[REDACTED]", shown["cloud"]["client_secret"])
	require.Equal(t, "10d", shown["authentication"]["inactivity_timeout"])
	require.Contains(t, r.stdout, `"order": "sso>local"`, "show prints JSON without HTML escapes")

	r = cli(t, "", nil, "-file", f, "validate")
	require.Equal(t, 0, r.code)
	require.Equal(t, "ok\n", r.stdout)

	// An invalid set reports every problem and leaves the file untouched.
	before, _ := os.ReadFile(f)
	r = cli(t, "", nil, "-file", f, "set", "email.port=70000", "web_server.base_url=http://x", "email.nope=1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "email.nope")
	r = cli(t, "", nil, "-file", f, "set", "email.port=70000", "web_server.base_url=http://x")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "email.port: must be 1-65535, got 70000\n")
	require.Contains(t, r.stderr, "web_server.base_url: must start with https://")
	after, _ := os.ReadFile(f)
	require.Equal(t, before, after)

	r = cli(t, "", nil, "-file", f, "set", "proxy.http.address=10.0.0.2", "proxy.http.port=3128")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "restart: host\n")

	r = cli(t, "", nil, "-file", f, "set", "email.port=587")
	require.Equal(t, 0, r.code)
	require.Equal(t, "no change (revision 2)\n", r.stdout)

	r = cli(t, "", nil, "-file", f, "forget", "cloud")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "changed: cloud.client_id, cloud.client_secret\n")
	r = cli(t, "", nil, "-file", f, "set", "web_server.base_url=https://ucx.example.com")
	require.Equal(t, 0, r.code, r.stderr)
	r = cli(t, "", nil, "-file", f, "forget", "web_server")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "changed: web_server.base_url\n")

	r = cli(t, "", nil, "-file", f, "rotate-key")
	require.Equal(t, 0, r.code, r.stderr)
	r = cli(t, "", nil, "-file", f, "validate")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestCLIUsageAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "params.json")
	for _, args := range [][]string{
		{},
		{"-file", f},
		{"show"},
		{"-file", f, "frobnicate"},
		{"-file", f, "show", "extra"},
		{"-file", f, "set"},
		{"-file", f, "set", "noequals"},
		{"-file", f, "set", "=x"},
		{"-file", f, "forget"},
		{"-file", f, "forget", "email"},
		{"-file", f, "test-email", "-timeout", "0s"},
		{"-nosuchflag"},
	} {
		r := cli(t, "", nil, args...)
		require.Equal(t, 2, r.code, "%q: %s", args, r.stderr)
	}
	_, err := os.Stat(f)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.WriteFile(f, []byte("not json"), 0o600))
	for _, cmd := range []string{"show", "validate"} {
		r := cli(t, "", nil, "-file", f, cmd)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "corrupt")
	}
	r := cli(t, "", nil, "-file", f, "set", "email.port=26")
	require.Equal(t, 1, r.code)
	b, _ := os.ReadFile(f)
	require.Equal(t, "not json", string(b))

	r = cli(t, "", nil, "paths")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "email.o365.client_secret\n")

	r = cli(t, "", nil, "-file", filepath.Join(dir, "n.json"), "set", "email.password=@env:MISSING")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "email.password: environment variable MISSING is empty or unset")
}

type sinkBackend struct{}

func (sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession{}, nil }

type sinkSession struct{}

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

func TestCLITestEmail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := smtp.NewServer(sinkBackend{})
	srv.Domain = "sink.test"
	go srv.Serve(ln)
	defer srv.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	f := filepath.Join(t.TempDir(), "params.json")
	r := cli(t, "", nil, "-file", f, "set", "telephony.system_name=HQ", "telephony.pbx_address=pbx",
		"email.server=127.0.0.1", "email.port="+port, "email.security=none", "email.from=fax@example.com")
	require.Equal(t, 0, r.code, r.stderr)

	r = cli(t, "", nil, "-file", f, "test-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "result: ok")
	require.Contains(t, r.stdout, "smtp 127.0.0.1:"+port)

	srv.Close()
	r = cli(t, "", nil, "-file", f, "test-email", "-timeout", "10s")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "result: failed at")
}

func TestCLITestEmailO365EnvOnlyWithFlag(t *testing.T) {
	f := filepath.Join(t.TempDir(), "params.json")
	r := cli(t, "", map[string]string{"S": "client-s3cret"}, "-file", f, "set", "telephony.system_name=HQ", "telephony.pbx_address=pbx",
		"email.protocol=o365", "email.o365.client_id=1cb8b5d2-8724-4f32-8152-a16a230b682b",
		"email.o365.tenant_id=969d5b92-bc05-403f-b576-97201b665e65", "email.o365.client_secret=@env:S",
		"email.o365.address=fax@example.onmicrosoft.com")
	require.Equal(t, 0, r.code, r.stderr)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "https://" + ln.Addr().String()
	ln.Close()
	env := map[string]string{"IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL": dead}
	r = cli(t, "", env, "-file", f, "test-email", "-o365-env", "-timeout", "10s")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, dead+"/969d5b92-bc05-403f-b576-97201b665e65/oauth2/v2.0/token")
	require.Contains(t, r.stdout, "result: failed at token")
	require.NotContains(t, r.stdout+r.stderr, "client-s3cret")

	// The variable changed nothing stored.
	r = cli(t, "", nil, "-file", f, "show")
	require.Contains(t, r.stdout, `"auth_url": ""`)
}

func TestCLIFlagsAfterCommand(t *testing.T) {
	f := filepath.Join(t.TempDir(), "params.json")
	r := cli(t, "", nil, "set", "-file", f, "telephony.system_name=HQ", "telephony.pbx_address=pbx")
	require.Equal(t, 0, r.code, r.stderr)
	r = cli(t, "", nil, "validate", "--file="+f)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "ok\n", r.stdout)
	r = cli(t, "", nil, "show", "-file")
	require.Equal(t, 2, r.code)
}

// TestCLIConcurrentSets runs many sets at once, each with its own store as
// separate processes have: every one is saved (one revision each). Opening
// a store used to delete the temp file of another's save in progress,
// failing it at the rename.
func TestCLIConcurrentSets(t *testing.T) {
	f := filepath.Join(t.TempDir(), "params.json")
	r := cli(t, "", nil, "-file", f, "set", "telephony.system_name=HQ", "telephony.pbx_address=10.0.0.1")
	require.Equal(t, 0, r.code, r.stderr)
	const n = 16
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"-file", f, "set", fmt.Sprintf("telephony.system_name=N%d", i)},
				strings.NewReader(""), &out, &errb, func(string) string { return "" })
			results <- result{code, out.String(), errb.String()}
		}()
	}
	for i := 0; i < n; i++ {
		r := <-results
		require.Equal(t, 0, r.code, r.stderr)
	}
	raw, err := os.ReadFile(f)
	require.NoError(t, err)
	var doc struct {
		Revision int64 `json:"revision"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.EqualValues(t, 1+n, doc.Revision)
}

func TestCLIImport(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "params.json")

	// The example file of README.md imports cleanly.
	r := cli(t, "", nil, "-file", f, "import", "params.example.json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "saved revision 1\n")
	require.Contains(t, r.stdout, "restart: host\n")
	raw, err := os.ReadFile(f)
	require.NoError(t, err)
	for _, s := range []string{"change-me-smtp-password", "change-me-proxy-password", "change-me-cloud-secret"} {
		require.NotContains(t, string(raw), s, "secrets are sealed on disk")
	}
	require.Contains(t, string(raw), `"schema": "ucxkit.sysparams"`)
	fi, err := os.Stat(f + ".key")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	r = cli(t, "", nil, "-file", f, "validate")
	require.Equal(t, "ok\n", r.stdout)
	r = cli(t, "", nil, "-file", f, "show")
	require.Contains(t, r.stdout, `"password": "[REDACTED]"`)

	// A rejected document lists every problem and leaves the file as it was.
	before, err := os.ReadFile(f)
	require.NoError(t, err)
	bad := `{"telephony": {"system_name": "HQ"}, "email": {"port": "25", "colour": "red"}, "web_server": {"base_url": "http://x"}}`
	r = cli(t, bad, nil, "-file", f, "import", "-")
	require.Equal(t, 1, r.code)
	require.Equal(t, "ucxparams: not saved, invalid parameters:\n"+
		"email.port: must be a JSON number, got string\n"+
		"email: unknown field \"colour\"\n"+
		"telephony.pbx_address: is mandatory\n"+
		"web_server.base_url: must start with https://, got \"http://x\"\n", r.stderr)
	r = cli(t, "", nil, "-file", f, "import", filepath.Join(dir, "missing.json"))
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "missing.json")
	// show prints redacted secrets: importing its output is refused rather
	// than storing the placeholder.
	shown := cli(t, "", nil, "-file", f, "show").stdout
	r = cli(t, shown, nil, "-file", f, "import", "-")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `email.password: is the redacted placeholder "[REDACTED]"`)
	after, err := os.ReadFile(f)
	require.NoError(t, err)
	require.Equal(t, before, after)

	// From standard input; the whole set is replaced.
	r = cli(t, `{"telephony": {"system_name": "HQ", "pbx_address": "10.0.0.1"}}`, nil, "-file", f, "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "saved revision 2\n")
	r = cli(t, "", nil, "-file", f, "show")
	require.Contains(t, r.stdout, `"enabled": false`)
	require.Contains(t, r.stdout, `"client_secret": ""`)

	// Usage errors.
	for _, args := range [][]string{{"import"}, {"import", "a", "b"}, {"-file", f, "import"}, {"template", "x"}} {
		r = cli(t, "", nil, args...)
		require.Equal(t, 2, r.code, "%v", args)
	}
}

func TestCLITemplate(t *testing.T) {
	r := cli(t, "", nil, "template")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, `"order": "sso>local"`)
	// The template imports once the mandatory fields are filled in.
	f := filepath.Join(t.TempDir(), "params.json")
	doc := strings.Replace(r.stdout, `"system_name": ""`, `"system_name": "HQ"`, 1)
	doc = strings.Replace(doc, `"pbx_address": ""`, `"pbx_address": "pbx"`, 1)
	r = cli(t, doc, nil, "-file", f, "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
}

package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/certgen"
)

// TestMain lets the tests run the real main (with its os.Exit) in a child
// process of the test binary.
func TestMain(m *testing.M) {
	if os.Getenv("CERTGEN_TEST_MAIN") == "1" {
		os.Args = append([]string{"certgen"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// cli runs the command as a process and returns its exit status, stdout
// and stderr.
func cli(t *testing.T, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CERTGEN_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.Bytes(), stderr.String()
}

func status(t *testing.T, out []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), string(out))
	return m
}

func TestGenerateAndCheck(t *testing.T) {
	for _, kt := range certgen.KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			code, out, errOut := cli(t, "-host", "IAS_SRV01", "-dns", "ias.example.com, alt", "-ip", "10.0.0.5,2001:db8::5", "-key", string(kt), "-dir", dir)
			require.Equal(t, 0, code, errOut)
			m := status(t, out)
			assert.Equal(t, "valid", m["state"])
			assert.Equal(t, "created", m["action"])
			assert.Equal(t, string(kt), m["key_type"])
			assert.Equal(t, "IAS_SRV01", m["subject"])
			assert.Equal(t, []any{"ias_srv01", "ias.example.com", "alt"}, m["dns_names"])
			assert.Equal(t, []any{"10.0.0.5", "2001:db8::5"}, m["ip_addresses"])
			for _, f := range []string{"serial", "sha256_fingerprint", "not_before", "not_after", "renew_after", "days_left", "message"} {
				assert.Contains(t, m, f)
			}
			fi, err := os.Stat(filepath.Join(dir, "key.pem"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			fi, err = os.Stat(filepath.Join(dir, "cert.pem"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
			p, err := certgen.Load(dir)
			require.NoError(t, err)
			assert.Equal(t, m["serial"], p.Serial())
			assert.Equal(t, p.Certificate().NotBefore.AddDate(5, 0, 0), p.Certificate().NotAfter)

			code, out, _ = cli(t, "-check", "-host", "ias_srv01", "-dir", dir)
			assert.Equal(t, 0, code)
			m = status(t, out)
			assert.Equal(t, "valid", m["state"])
			assert.NotContains(t, m, "action")
		})
	}
}

func TestCheckNeedsAction(t *testing.T) {
	dir := t.TempDir()
	code, _, _ := cli(t, "-host", "pbxsrv", "-key", "ecdsa-p256", "-years", "2", "-dir", dir)
	require.Equal(t, 0, code)
	p, err := certgen.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, p.Certificate().NotBefore.AddDate(2, 0, 0), p.Certificate().NotAfter)

	code, out, _ := cli(t, "-check", "-host", "renamed", "-dir", dir)
	assert.Equal(t, 1, code)
	m := status(t, out)
	assert.Equal(t, "hostname-mismatch", m["state"])
	assert.Equal(t, []any{"renamed"}, m["missing_names"])

	code, out, _ = cli(t, "-check", "-host", "pbxsrv", "-dns", "extra", "-dir", dir)
	assert.Equal(t, 1, code)
	assert.Equal(t, "hostname-mismatch", status(t, out)["state"])

	code, out, _ = cli(t, "-check", "-host", "pbxsrv", "-dir", filepath.Join(dir, "nothing"))
	assert.Equal(t, 1, code)
	assert.Equal(t, "missing", status(t, out)["state"])

	// Expired and expiring pairs made by the library with a clock in the past.
	for name, age := range map[string]int{"expired": -6, "expiring": -4} {
		d := filepath.Join(t.TempDir(), name)
		old, err := certgen.Generate(certgen.Options{Host: "pbxsrv", KeyType: certgen.KeyECDSAP256,
			Now: func() time.Time { return time.Now().AddDate(age, 0, 0) }})
		require.NoError(t, err)
		require.NoError(t, certgen.Save(d, old))
		code, out, _ = cli(t, "-check", "-host", "pbxsrv", "-dir", d)
		assert.Equal(t, 1, code, name)
		assert.Equal(t, name, status(t, out)["state"])
	}

	// A key that does not match its certificate.
	other := t.TempDir()
	code, _, _ = cli(t, "-host", "pbxsrv", "-key", "ecdsa-p256", "-dir", other)
	require.Equal(t, 0, code)
	key, err := os.ReadFile(filepath.Join(other, "key.pem"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600))
	code, out, _ = cli(t, "-check", "-host", "pbxsrv", "-dir", dir)
	assert.Equal(t, 1, code)
	assert.Equal(t, "key-mismatch", status(t, out)["state"])

	// Unreadable file: an error on stderr, status 1.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("junk"), 0o644))
	code, _, errOut := cli(t, "-check", "-host", "pbxsrv", "-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "cert.pem")
}

func TestRegenerateReplaces(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := cli(t, "-host", "h1", "-key", "ecdsa-p256", "-dir", dir)
	require.Equal(t, 0, code)
	first := status(t, out)
	code, out, errOut := cli(t, "-host", "h2", "-dir", dir)
	require.Equal(t, 0, code)
	second := status(t, out)
	assert.Equal(t, "regenerated", second["action"])
	assert.Equal(t, "rsa2048", second["key_type"])
	assert.NotEqual(t, first["serial"], second["serial"])
	assert.Contains(t, errOut, `subject CN: has "h1", asked "h2"`)
	assert.Contains(t, errOut, "key type: has ecdsa-p256, asked rsa2048")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{certgen.LockFile, "cert.pem", "key.pem"}, names, "no backup or temporary file left")
}

// TestGenerateIsIdempotent: the README's command run twice keeps the
// first pair (a boot script must not force a PBX re-upload each boot);
// dropping -dns/-ip, or changing -key or -years, regenerates and says
// what changed; -renew always writes a new pair.
func TestGenerateIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	args := []string{"-host", "IAS_SRV01", "-dns", "ias.corp.example", "-ip", "10.0.0.5", "-key", "ecdsa-p256", "-dir", dir}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(args, &out, &errOut), errOut.String())
	first := status(t, out.Bytes())
	assert.Equal(t, "created", first["action"])
	certPEM, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	require.NoError(t, err)
	keyPEM, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)

	for i := 0; i < 2; i++ {
		out.Reset()
		errOut.Reset()
		require.Equal(t, 0, run(args, &out, &errOut), errOut.String())
		again := status(t, out.Bytes())
		assert.Equal(t, "loaded", again["action"])
		assert.Equal(t, "valid", again["state"])
		assert.Equal(t, first["serial"], again["serial"])
		assert.Empty(t, errOut.String())
		// Only the action differs from the first run's status.
		delete(again, "action")
		delete(again, "days_left")
		want := maps.Clone(first)
		delete(want, "action")
		delete(want, "days_left")
		assert.Equal(t, want, again)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	require.NoError(t, err)
	assert.Equal(t, certPEM, b)
	b, err = os.ReadFile(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	assert.Equal(t, keyPEM, b)

	// The same names in another order and case are the same pair.
	out.Reset()
	require.Equal(t, 0, run([]string{"-host", "ias_srv01", "-dns", "IAS.corp.example", "-ip", "10.0.0.5", "-key", "ecdsa-p256", "-years", "5", "-dir", dir}, &out, &errOut))
	assert.Equal(t, "loaded", status(t, out.Bytes())["action"])

	// Without -dns/-ip the names are dropped, not silently.
	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run([]string{"-host", "IAS_SRV01", "-key", "ecdsa-p256", "-dir", dir}, &out, &errOut))
	m := status(t, out.Bytes())
	assert.Equal(t, "regenerated", m["action"])
	assert.NotEqual(t, first["serial"], m["serial"])
	assert.Equal(t, []any{"ias_srv01"}, m["dns_names"])
	assert.NotContains(t, m, "ip_addresses")
	assert.Contains(t, errOut.String(), "dns names: has [ias.corp.example ias_srv01], asked [ias_srv01]")
	assert.Contains(t, errOut.String(), "ip addresses: has [10.0.0.5], asked none")
	assert.Contains(t, errOut.String(), "upload the new certificate to the PBX")

	for _, c := range []struct {
		args []string
		diff string
	}{
		{[]string{"-key", "rsa2048"}, "key type: has ecdsa-p256, asked rsa2048"},
		{[]string{"-key", "rsa2048", "-years", "2"}, "validity: has 5 years, asked 2 years"},
	} {
		out.Reset()
		errOut.Reset()
		require.Equal(t, 0, run(append([]string{"-host", "IAS_SRV01", "-dir", dir}, c.args...), &out, &errOut))
		assert.Equal(t, "regenerated", status(t, out.Bytes())["action"], c.args)
		assert.Contains(t, errOut.String(), c.diff)
		out.Reset()
		require.Equal(t, 0, run(append([]string{"-host", "IAS_SRV01", "-dir", dir}, c.args...), &out, &errOut))
		assert.Equal(t, "loaded", status(t, out.Bytes())["action"], c.args)
	}

	// -renew: a new key and serial for a valid, matching pair.
	last := status(t, out.Bytes())
	out.Reset()
	require.Equal(t, 0, run([]string{"-host", "IAS_SRV01", "-key", "rsa2048", "-years", "2", "-renew", "-dir", dir}, &out, &errOut))
	m = status(t, out.Bytes())
	assert.Equal(t, "renewed", m["action"])
	assert.Equal(t, "valid", m["state"])
	assert.NotEqual(t, last["serial"], m["serial"])
}

// TestGenerateRenewsOldPairs: expired and expiring pairs are renewed by
// the plain generate command.
func TestGenerateRenewsOldPairs(t *testing.T) {
	for name, age := range map[string]int{"expired": -6, "expiring": -4} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			old, err := certgen.Generate(certgen.Options{Host: "pbxsrv", KeyType: certgen.KeyECDSAP256,
				Now: func() time.Time { return time.Now().AddDate(age, 0, 0) }})
			require.NoError(t, err)
			require.NoError(t, certgen.Save(d, old))
			code, out, errOut := cli(t, "-host", "pbxsrv", "-key", "ecdsa-p256", "-dir", d)
			require.Equal(t, 0, code, errOut)
			m := status(t, out)
			assert.Equal(t, "renewed", m["action"])
			assert.Equal(t, "valid", m["state"])
			assert.NotEqual(t, old.Serial(), m["serial"])
			assert.Contains(t, errOut, "renewed")
		})
	}
}

// TestGenerateRefusesMismatchedKey: a key that is not the certificate's is
// never replaced silently; -renew replaces it.
func TestGenerateRefusesMismatchedKey(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	var out, errOut bytes.Buffer
	for _, d := range []string{dir, other} {
		require.Equal(t, 0, run([]string{"-host", "pbxsrv", "-key", "ecdsa-p256", "-dir", d}, &out, &errOut))
	}
	key, err := os.ReadFile(filepath.Join(other, "key.pem"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600))
	out.Reset()
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"-host", "pbxsrv", "-key", "ecdsa-p256", "-dir", dir}, &out, &errOut))
	m := status(t, out.Bytes())
	assert.Equal(t, "key-mismatch", m["state"])
	assert.NotContains(t, m, "action")
	assert.Contains(t, errOut.String(), "-renew")
	b, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	assert.Equal(t, key, b, "the key is left as it is")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run([]string{"-host", "pbxsrv", "-key", "ecdsa-p256", "-renew", "-dir", dir}, &out, &errOut), errOut.String())
	m = status(t, out.Bytes())
	assert.Equal(t, "renewed", m["action"])
	assert.Equal(t, "valid", m["state"])
	out.Reset()
	require.Equal(t, 0, run([]string{"-host", "pbxsrv", "-key", "ecdsa-p256", "-dir", dir}, &out, &errOut))
	assert.Equal(t, "loaded", status(t, out.Bytes())["action"])
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]string{
		"no host":         {"-dir", dir},
		"no dir":          {"-host", "h"},
		"check no host":   {"-check", "-dir", dir},
		"bad key":         {"-host", "h", "-key", "ed25519", "-dir", dir},
		"years 0":         {"-host", "h", "-years", "0", "-dir", dir},
		"years 31":        {"-host", "h", "-years", "31", "-dir", dir},
		"years not int":   {"-host", "h", "-years", "five", "-dir", dir},
		"bad ip":          {"-host", "h", "-ip", "10.0.0.300", "-dir", dir},
		"wildcard dns":    {"-host", "h", "-dns", "*.example.com", "-dir", dir},
		"ip as host":      {"-host", "10.0.0.1", "-dir", dir},
		"unknown flag":    {"-host", "h", "-force", "-dir", dir},
		"positional":      {"-host", "h", "-dir", dir, "extra"},
		"bad host in chk": {"-check", "-host", "a b", "-dir", dir},
		"check and renew": {"-check", "-renew", "-host", "h", "-dir", dir},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := cli(t, args...)
			assert.Equal(t, 2, code, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "usage: certgen")
		})
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing written on bad arguments")
}

func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-host", "h", "-key", "ecdsa-p256", "-dir", dir}, &out, &errOut), errOut.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"-check", "-host", "H", "-dir", dir}, &out, &errOut))
	assert.Equal(t, "valid", status(t, out.Bytes())["state"])
	assert.Equal(t, []string{"a", "b"}, list(" a,,b ,"))
	assert.Nil(t, list(""))
}

// TestEveryBadArgumentReported: one run names every bad flag, not only the
// first one found.
func TestEveryBadArgumentReported(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-host", "*.x", "-dns", "ok,*.y", "-ip", "1.2.3", "-key", "dsa", "-years", "0"}, &out, &errOut)
	require.Equal(t, 2, code)
	assert.Empty(t, out.String())
	for _, want := range []string{"-dir is required", `-key must be one of`, "-years must be 1-30, got 0",
		"-host: must not be a wildcard", "-dns[1]: must not be a wildcard", "-ip[0]: must be an IPv4 or IPv6 address"} {
		assert.Contains(t, errOut.String(), want)
	}
}

// TestCheckBadFilePrintsStatus: -check on a directory whose key does not
// parse still prints a JSON status (missing, with the reason) and exits 1.
func TestCheckBadFilePrintsStatus(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-host", "h", "-key", "ecdsa-p256", "-dir", dir}, &out, &errOut), errOut.String())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), []byte("garbage\n"), 0o600))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"-check", "-host", "h", "-dir", dir}, &out, &errOut))
	st := status(t, out.Bytes())
	assert.Equal(t, "missing", st["state"])
	assert.Equal(t, true, st["needs_action"])
	assert.Contains(t, st["message"], "key.pem")
	assert.Contains(t, errOut.String(), "key.pem")
}

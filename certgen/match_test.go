package certgen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDifferences(t *testing.T) {
	base := Options{Host: "IAS_SRV01", DNSNames: []string{"ias.corp.example", "alt"}, IPAddresses: []string{"10.0.0.5", "2001:db8::5"},
		KeyType: KeyECDSAP256, ValidityYears: 2}
	p, err := Generate(base)
	require.NoError(t, err)
	with := func(f func(*Options)) Options { o := base; f(&o); return o }
	cases := []struct {
		name string
		opts Options
		want []string
	}{
		{"same", base, nil},
		{"host case and name order", with(func(o *Options) {
			o.Host, o.DNSNames, o.IPAddresses = "ias_srv01", []string{"ALT", "ias.corp.example", "alt"}, []string{"2001:db8:0::5", "::ffff:10.0.0.5"}
		}), nil},
		{"renamed", with(func(o *Options) { o.Host = "other" }), []string{`subject CN: has "IAS_SRV01", asked "other"`, "dns names: has [alt ias.corp.example ias_srv01], asked [alt ias.corp.example other]"}},
		{"dns dropped", with(func(o *Options) { o.DNSNames = nil }), []string{"dns names: has [alt ias.corp.example ias_srv01], asked [ias_srv01]"}},
		{"dns added", with(func(o *Options) { o.FQDN = "ias.example.net" }), []string{"dns names: has [alt ias.corp.example ias_srv01], asked [alt ias.corp.example ias.example.net ias_srv01]"}},
		{"ip dropped", with(func(o *Options) { o.IPAddresses = nil }), []string{"ip addresses: has [10.0.0.5 2001:db8::5], asked none"}},
		{"ip changed", with(func(o *Options) { o.IPAddresses = []string{"10.0.0.6", "2001:db8::5"} }), []string{"ip addresses: has [10.0.0.5 2001:db8::5], asked [10.0.0.6 2001:db8::5]"}},
		{"key type", with(func(o *Options) { o.KeyType = "" }), []string{"key type: has ecdsa-p256, asked rsa2048"}},
		{"years", with(func(o *Options) { o.ValidityYears = 0 }), []string{"validity: has 2 years, asked 5 years"}},
		{"exact validity", with(func(o *Options) { o.ValidityYears, o.Validity = 0, 825*24*time.Hour }), []string{"validity: has 2 years, asked 825d"}},
		{"organization", with(func(o *Options) { o.Organization = "Example" }), []string{`organization: has "", asked "Example"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Differences(p, tc.opts))
		})
	}
	assert.Equal(t, []string{"no certificate"}, Differences(nil, base))

	// Leap day: 2024-02-29 + 1 year is 2025-03-01, still "1 year".
	leap, err := Generate(Options{Host: "h", KeyType: KeyECDSAP256, ValidityYears: 1,
		Now: fixedNow(time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	assert.Empty(t, Differences(leap, Options{Host: "h", KeyType: KeyECDSAP256, ValidityYears: 1}))
	assert.Equal(t, []string{"validity: has 1 year, asked 3 years"}, Differences(leap, Options{Host: "h", KeyType: KeyECDSAP256, ValidityYears: 3}))
}

// TestEnsureMatching: the same options twice change nothing; each kind of
// change replaces the pair with the action the library names.
func TestEnsureMatching(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	opts := Options{Host: "IAS_SRV01", DNSNames: []string{"ias.corp.example"}, IPAddresses: []string{"10.0.0.5"}, KeyType: KeyECDSAP256}

	p1, st, err := EnsureMatching(dir, opts)
	require.NoError(t, err)
	assert.Equal(t, ActionCreated, st.Action)
	assert.Equal(t, StateValid, st.State)
	certPEM, keyPEM := readFile(t, filepath.Join(dir, CertFile)), readFile(t, filepath.Join(dir, KeyFile))

	p2, st, err := EnsureMatching(dir, opts)
	require.NoError(t, err)
	assert.Equal(t, ActionLoaded, st.Action)
	assert.Equal(t, p1.Serial(), p2.Serial())
	assert.Equal(t, certPEM, readFile(t, filepath.Join(dir, CertFile)), "a matching pair is not rewritten")
	assert.Equal(t, keyPEM, readFile(t, filepath.Join(dir, KeyFile)))

	// Names no longer asked for are a difference: the pair is regenerated
	// without them.
	noNames := Options{Host: "IAS_SRV01", KeyType: KeyECDSAP256}
	p3, st, err := EnsureMatching(dir, noNames)
	require.NoError(t, err)
	assert.Equal(t, ActionRegenerated, st.Action)
	assert.NotEqual(t, p1.Serial(), p3.Serial())
	assert.Equal(t, []string{"ias_srv01"}, p3.Certificate().DNSNames)
	assert.Empty(t, p3.Certificate().IPAddresses)

	for name, o := range map[string]Options{
		"key type": {Host: "IAS_SRV01", KeyType: KeyRSA2048},
		"validity": {Host: "IAS_SRV01", KeyType: KeyRSA2048, ValidityYears: 3},
		"renamed":  {Host: "NEWNAME", KeyType: KeyRSA2048, ValidityYears: 3},
	} {
		_, st, err := EnsureMatching(dir, o)
		require.NoError(t, err, name)
		assert.Equal(t, ActionRegenerated, st.Action, name)
		_, st, err = EnsureMatching(dir, o)
		require.NoError(t, err, name)
		assert.Equal(t, ActionLoaded, st.Action, name)
	}
	assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir), "no backup or temporary file left")
}

func TestEnsureMatchingRenewsOldPairs(t *testing.T) {
	opts := Options{Host: "pbxsrv", KeyType: KeyECDSAP256}
	for name, c := range map[string]struct {
		years int
		state State
	}{
		"expired":       {-6, StateExpired},
		"expiring":      {-4, StateExpiring},
		"not-yet-valid": {1, StateNotYetValid},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			o := opts
			o.Now = func() time.Time { return time.Now().AddDate(c.years, 0, 0) }
			old, err := Generate(o)
			require.NoError(t, err)
			require.NoError(t, Save(dir, old))
			require.Equal(t, c.state, CheckPair(old, opts).State)
			p, st, err := EnsureMatching(dir, opts)
			require.NoError(t, err)
			assert.Equal(t, ActionRenewed, st.Action)
			assert.Equal(t, StateValid, st.State)
			assert.NotEqual(t, old.Serial(), p.Serial())
			assert.WithinDuration(t, time.Now().Add(-ClockSkew), p.Certificate().NotBefore, time.Minute)
		})
	}
}

// TestEnsureMatchingRefusesBrokenPairs: like Ensure, a key that does not
// match its certificate, or a file that does not parse, is never replaced.
func TestEnsureMatchingRefusesBrokenPairs(t *testing.T) {
	opts := Options{Host: "pbxsrv", KeyType: KeyECDSAP256}
	dir := t.TempDir()
	require.NoError(t, Save(dir, pairOf(t, KeyECDSAP256)))
	other, err := Generate(opts)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFile), other.KeyPEM(), 0o600))
	keyPEM := readFile(t, filepath.Join(dir, KeyFile))
	_, st, err := EnsureMatching(dir, opts)
	require.ErrorIs(t, err, ErrKeyMismatch)
	assert.Equal(t, StateKeyMismatch, st.State)
	assert.Equal(t, keyPEM, readFile(t, filepath.Join(dir, KeyFile)))

	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), []byte("junk\n"), 0o644))
	_, st, err = EnsureMatching(dir, opts)
	require.ErrorIs(t, err, ErrBadPEM)
	assert.Equal(t, StateMissing, st.State)
	assert.Equal(t, "junk\n", string(readFile(t, filepath.Join(dir, CertFile))))

	_, _, err = EnsureMatching(dir, Options{})
	var fe *FieldError
	assert.True(t, errors.As(err, &fe))
}

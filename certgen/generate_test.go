package certgen

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestGenerateProfile(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			p, err := Generate(Options{Host: "IAS_SRV01", FQDN: "ias_srv01.corp.example.com", DNSNames: []string{"Voice.Example.com"},
				IPAddresses: []string{"192.0.2.10", "2001:db8::10"}, Organization: "Example UC", KeyType: kt, Now: fixedNow(now)})
			require.NoError(t, err)
			c := p.Certificate()
			assert.Equal(t, 3, c.Version)
			assert.Equal(t, "IAS_SRV01", c.Subject.CommonName)
			assert.Equal(t, []string{"Example UC"}, c.Subject.Organization)
			assert.Equal(t, c.Subject.String(), c.Issuer.String(), "self-signed")
			assert.Equal(t, []string{"ias_srv01", "ias_srv01.corp.example.com", "voice.example.com"}, c.DNSNames)
			require.Len(t, c.IPAddresses, 2)
			assert.True(t, c.IPAddresses[0].Equal(net.ParseIP("192.0.2.10")))
			assert.Len(t, c.IPAddresses[0], 4, "IPv4 stored as 4 bytes")
			assert.True(t, c.IPAddresses[1].Equal(net.ParseIP("2001:db8::10")))
			assert.Equal(t, now.Add(-time.Hour), c.NotBefore)
			assert.Equal(t, time.Date(2031, 3, 10, 11, 0, 0, 0, time.UTC), c.NotAfter)
			assert.True(t, c.BasicConstraintsValid)
			assert.False(t, c.IsCA)
			assert.Equal(t, -1, c.MaxPathLen)
			assert.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
			assert.Equal(t, kt, p.KeyType())
			switch p.PrivateKey().(type) {
			case *rsa.PrivateKey:
				assert.Equal(t, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment, c.KeyUsage)
				assert.Equal(t, x509.SHA256WithRSA, c.SignatureAlgorithm)
				assert.Equal(t, kt.rsaBits(), p.PrivateKey().(*rsa.PrivateKey).N.BitLen())
			case *ecdsa.PrivateKey:
				assert.Equal(t, KeyECDSAP256, kt)
				assert.Equal(t, x509.KeyUsageDigitalSignature, c.KeyUsage)
				assert.Equal(t, x509.ECDSAWithSHA256, c.SignatureAlgorithm)
			default:
				t.Fatalf("key %T", p.PrivateKey())
			}
			// SKI = SHA-1 of the subjectPublicKey bit string.
			var spki struct {
				Algorithm asn1.RawValue
				PublicKey asn1.BitString
			}
			_, err = asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki)
			require.NoError(t, err)
			sum := sha1.Sum(spki.PublicKey.Bytes)
			assert.Equal(t, sum[:], c.SubjectKeyId)
			for _, e := range c.Extensions {
				assert.NotEqual(t, "2.5.29.35", e.Id.String(), "no authority key id on a self-signed leaf")
			}
			for _, n := range append(c.DNSNames, c.Subject.CommonName) {
				assert.NotContains(t, n, "*")
			}
		})
	}
}

func TestGenerateDefaults(t *testing.T) {
	p, err := Generate(Options{Host: "pbx1"})
	require.NoError(t, err)
	assert.Equal(t, KeyRSA2048, p.KeyType())
	c := p.Certificate()
	assert.Empty(t, c.Subject.Organization)
	assert.Equal(t, c.NotBefore.AddDate(5, 0, 0), c.NotAfter)
	assert.WithinDuration(t, time.Now().Add(-ClockSkew), c.NotBefore, time.Minute)
	assert.Empty(t, c.IPAddresses)
}

func TestValidityCalendarYears(t *testing.T) {
	cases := []struct {
		name      string
		now       time.Time
		opts      Options
		notBefore time.Time
		notAfter  time.Time
	}{
		{"leap day to march 1", time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC), Options{},
			time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(2029, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"skew crosses into feb 28", time.Date(2024, 2, 29, 0, 30, 0, 0, time.UTC), Options{},
			time.Date(2024, 2, 28, 23, 30, 0, 0, time.UTC), time.Date(2029, 2, 28, 23, 30, 0, 0, time.UTC)},
		{"leap day plus 4 years stays leap", time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC), Options{ValidityYears: 4},
			time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"non-UTC clock, sub-second", time.Date(2026, 7, 1, 10, 0, 0, 999, time.FixedZone("CEST", 7200)), Options{ValidityYears: 1},
			time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC), time.Date(2027, 7, 1, 7, 0, 0, 0, time.UTC)},
		{"apple 825 days", time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), Options{Validity: 825 * 24 * time.Hour},
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 4, 5, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Host, o.KeyType, o.Now = "h", KeyECDSAP256, fixedNow(tc.now)
			p, err := Generate(o)
			require.NoError(t, err)
			assert.True(t, tc.notBefore.Equal(p.Certificate().NotBefore), "NotBefore %s", p.Certificate().NotBefore)
			assert.True(t, tc.notAfter.Equal(p.Certificate().NotAfter), "NotAfter %s", p.Certificate().NotAfter)
		})
	}
	// 365×5 days would be two days short of the calendar answer.
	assert.NotEqual(t, time.Date(2029, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC).Add(5*365*24*time.Hour))
}

func TestSerialBounds(t *testing.T) {
	limit := new(big.Int).Lsh(big.NewInt(1), 159) // positive and < 2^159: at most 20 DER octets
	seen := map[string]bool{}
	for i := range 200 {
		s, err := newSerial()
		require.NoError(t, err)
		require.Equal(t, 1, s.Sign(), "serial %d not positive", i)
		require.Equal(t, -1, s.Cmp(limit))
		der, err := asn1.Marshal(s)
		require.NoError(t, err)
		require.LessOrEqual(t, len(der)-2, 20, "content octets")
		require.False(t, seen[s.String()])
		seen[s.String()] = true
	}
	// Serials in the certificate itself, new on every generation.
	a, err := Generate(Options{Host: "h", KeyType: KeyECDSAP256})
	require.NoError(t, err)
	b, err := Renew(a, Options{})
	require.NoError(t, err)
	assert.NotEqual(t, a.Serial(), b.Serial())
	for _, p := range []*Pair{a, b} {
		der, err := asn1.Marshal(p.Certificate().SerialNumber)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(der)-2, 20)
		assert.Equal(t, 1, p.Certificate().SerialNumber.Sign())
		assert.Zero(t, len(p.Serial())%2, "even number of hex digits")
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		cn      string
		dns     []string
		ips     []string
		wantErr string
	}{
		{name: "uppercase host lower-cased in SAN", opts: Options{Host: "IAS-SRV01"}, cn: "IAS-SRV01", dns: []string{"ias-srv01"}},
		{name: "underscore", opts: Options{Host: "ias_srv_01"}, cn: "ias_srv_01", dns: []string{"ias_srv_01"}},
		{name: "fqdn and duplicates", opts: Options{Host: "Ias", FQDN: "IAS.corp.example", DNSNames: []string{"ias", "ias.CORP.example", "alt"}},
			cn: "Ias", dns: []string{"ias", "ias.corp.example", "alt"}},
		{name: "ipv6 and ipv4", opts: Options{Host: "h", IPAddresses: []string{"2001:DB8::1", "::ffff:192.0.2.1", "10.0.0.1", "10.0.0.1"}},
			cn: "h", dns: []string{"h"}, ips: []string{"2001:db8::1", "192.0.2.1", "10.0.0.1"}},
		{name: "ipv6 loopback", opts: Options{Host: "h", IPAddresses: []string{"::1"}}, cn: "h", dns: []string{"h"}, ips: []string{"::1"}},
		{name: "wildcard host", opts: Options{Host: "*.example.com"}, wantErr: "host: must not be a wildcard"},
		{name: "wildcard alias", opts: Options{Host: "h", DNSNames: []string{"ok", "*.x"}}, wantErr: "dns_names[1]: must not be a wildcard"},
		{name: "ip as host", opts: Options{Host: "10.0.0.1"}, wantErr: "host: must be a name, not an IP address"},
		{name: "ipv6 as host", opts: Options{Host: "2001:db8::1"}, wantErr: "host: must be a name, not an IP address"},
		{name: "bracketed ipv6", opts: Options{Host: "h", IPAddresses: []string{"[2001:db8::1]"}}, wantErr: "ip_addresses[0]: must be an IP address without brackets"},
		{name: "zone", opts: Options{Host: "h", IPAddresses: []string{"fe80::1%eth0"}}, wantErr: "ip_addresses[0]: must not carry an IPv6 zone"},
		{name: "space", opts: Options{Host: "ias srv"}, wantErr: `host: may contain only letters, digits, '-', '_' and dots, got " "`},
		{name: "unicode", opts: Options{Host: "müller"}, wantErr: "host: must be ASCII"},
		{name: "leading hyphen", opts: Options{Host: "-ias"}, wantErr: "host: labels must not start or end with '-'"},
		{name: "empty label", opts: Options{Host: "a..b"}, wantErr: "host: must not contain an empty label"},
		{name: "trailing dot", opts: Options{Host: "h", FQDN: "h.example."}, wantErr: "fqdn: must not end with a dot"},
		{name: "long label", opts: Options{Host: strings.Repeat("a", 64)}, wantErr: "host: labels must be at most 63 characters, got 64"},
		{name: "host too long for CN", opts: Options{Host: strings.Repeat("a.", 32) + "b"}, wantErr: "host: must be at most 64 characters (the subject CN limit), got 65"},
		{name: "missing host", opts: Options{}, wantErr: "host: is mandatory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.KeyType = KeyECDSAP256
			p, err := Generate(tc.opts)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				var fe *FieldError
				assert.ErrorAs(t, err, &fe)
				return
			}
			require.NoError(t, err)
			c := p.Certificate()
			assert.Equal(t, tc.cn, c.Subject.CommonName)
			assert.Equal(t, tc.dns, c.DNSNames)
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			assert.Equal(t, tc.ips, ips)
			// Every requested name verifies, in any case.
			for _, n := range append([]string{strings.ToUpper(tc.opts.Host), strings.ToLower(tc.opts.Host)}, tc.ips...) {
				assert.NoError(t, c.VerifyHostname(n), n)
			}
		})
	}
}

func TestRenewKeepsNames(t *testing.T) {
	old, err := Generate(Options{Host: "IAS01", FQDN: "ias01.example.com", IPAddresses: []string{"192.0.2.7"}, Organization: "O1",
		KeyType: KeyECDSAP256, Now: fixedNow(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p, err := Renew(old, Options{Now: fixedNow(now)})
	require.NoError(t, err)
	c, oc := p.Certificate(), old.Certificate()
	assert.Equal(t, oc.Subject.String(), c.Subject.String())
	assert.Equal(t, oc.DNSNames, c.DNSNames)
	assert.Equal(t, oc.IPAddresses, c.IPAddresses)
	assert.Equal(t, KeyECDSAP256, p.KeyType(), "key type kept")
	assert.False(t, oc.PublicKey.(*ecdsa.PublicKey).Equal(c.PublicKey), "new key")
	assert.NotEqual(t, old.Serial(), p.Serial())
	assert.Equal(t, now.Add(-ClockSkew), c.NotBefore, "lifetime restarts now")
	assert.Equal(t, now.Add(-ClockSkew).AddDate(5, 0, 0), c.NotAfter)

	// New names replace the old ones entirely.
	p2, err := Renew(old, Options{Host: "IAS02", Now: fixedNow(now)})
	require.NoError(t, err)
	assert.Equal(t, "IAS02", p2.Certificate().Subject.CommonName)
	assert.Equal(t, []string{"ias02"}, p2.Certificate().DNSNames)
	assert.Empty(t, p2.Certificate().IPAddresses)
	assert.Equal(t, KeyECDSAP256, p2.KeyType())

	_, err = Renew(nil, Options{})
	assert.Error(t, err)
}

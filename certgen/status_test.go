package certgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckStates(t *testing.T) {
	start := time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC) // NotBefore 12:00, NotAfter 2029-03-01 12:00
	p, err := Generate(Options{Host: "IAS01", FQDN: "ias01.example.com", IPAddresses: []string{"192.0.2.1"}, KeyType: KeyECDSAP256, Now: fixedNow(start)})
	require.NoError(t, err)
	c := p.Certificate()
	third := c.NotAfter.Sub(c.NotBefore) / 3
	cases := []struct {
		name     string
		host     string
		now      time.Time
		state    State
		daysLeft int
	}{
		{"fresh", "IAS01", start, StateValid, 1826},
		{"host in lower case", "ias01", start, StateValid, 1826},
		{"fqdn", "IAS01.example.COM", start, StateValid, 1826},
		{"ip", "192.0.2.1", start, StateValid, 1826},
		{"no host checked", "", start, StateValid, 1826},
		{"just before the window", "IAS01", c.NotAfter.Add(-third - time.Second), StateValid, 609},
		{"window starts", "IAS01", c.NotAfter.Add(-third), StateExpiring, 609},
		{"last second", "IAS01", c.NotAfter.Add(-time.Second), StateExpiring, 0},
		{"at NotAfter", "IAS01", c.NotAfter, StateExpired, 0},
		{"a day after", "IAS01", c.NotAfter.Add(24 * time.Hour), StateExpired, -1},
		{"clock set back", "IAS01", c.NotBefore.Add(-time.Second), StateNotYetValid, 1827},
		{"renamed", "IAS02", start, StateHostnameMismatch, 1826},
		{"other ip", "192.0.2.2", start, StateHostnameMismatch, 1826},
		{"renamed and expired: expired wins", "IAS02", c.NotAfter.Add(time.Hour), StateExpired, -1},
		{"renamed and expiring: rename wins", "IAS02", c.NotAfter.Add(-time.Hour), StateHostnameMismatch, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := Check(c, tc.host, tc.now)
			assert.Equal(t, tc.state, st.State, st.Message)
			assert.Equal(t, tc.state != StateValid, st.NeedsAction)
			assert.Equal(t, tc.daysLeft, st.DaysLeft)
			assert.NotEmpty(t, st.Message)
			assert.Equal(t, p.Serial(), st.Serial)
			assert.Equal(t, []string{"ias01", "ias01.example.com"}, st.DNSNames)
			assert.Equal(t, []string{"192.0.2.1"}, st.IPAddresses)
			assert.Equal(t, c.NotAfter.Add(-third), st.RenewAfter)
			if tc.state == StateHostnameMismatch {
				assert.Equal(t, []string{tc.host}, st.MissingNames)
				assert.Contains(t, st.Message, tc.host)
			}
		})
	}
}

func TestCheckPairWindowAndNames(t *testing.T) {
	start := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	p, err := Generate(Options{Host: "h1", DNSNames: []string{"alias"}, KeyType: KeyECDSAP256, Now: fixedNow(start)})
	require.NoError(t, err)
	notAfter := p.Certificate().NotAfter
	o := Options{Host: "h1", RenewalWindow: 60 * 24 * time.Hour, Now: fixedNow(notAfter.Add(-61 * 24 * time.Hour))}
	assert.Equal(t, StateValid, CheckPair(p, o).State)
	o.Now = fixedNow(notAfter.Add(-59 * 24 * time.Hour))
	st := CheckPair(p, o)
	assert.Equal(t, StateExpiring, st.State)
	assert.Equal(t, notAfter.Add(-60*24*time.Hour), st.RenewAfter)

	// Every configured name is required.
	o = Options{Host: "h1", FQDN: "h1.example.com", DNSNames: []string{"alias", "new-alias"}, IPAddresses: []string{"10.1.1.1"}, Now: fixedNow(start)}
	st = CheckPair(p, o)
	assert.Equal(t, StateHostnameMismatch, st.State)
	assert.Equal(t, []string{"h1.example.com", "new-alias", "10.1.1.1"}, st.MissingNames)
	assert.Equal(t, "h1", st.Host)
}

func TestStatusJSON(t *testing.T) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	p, err := Generate(Options{Host: "h1", Organization: "Org", KeyType: KeyECDSAP256, Now: fixedNow(now)})
	require.NoError(t, err)
	st := CheckPair(p, Options{Host: "h1", Now: fixedNow(now)})
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "valid", m["state"])
	assert.Equal(t, false, m["needs_action"])
	assert.Equal(t, "h1", m["subject"])
	assert.Equal(t, "Org", m["organization"])
	assert.Equal(t, []any{"h1"}, m["dns_names"])
	assert.Equal(t, "ecdsa-p256", m["key_type"])
	assert.Equal(t, p.Serial(), m["serial"])
	assert.Equal(t, p.Fingerprint(), m["sha256_fingerprint"])
	assert.Equal(t, "2026-01-01T00:00:00Z", m["not_before"])
	assert.Equal(t, "2031-01-01T00:00:00Z", m["not_after"])
	assert.EqualValues(t, 1825, m["days_left"])
	assert.Contains(t, m, "renew_after")
	assert.NotContains(t, m, "action")
	var back Status
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, st, back)
}

func TestCheckNil(t *testing.T) {
	assert.Equal(t, StateMissing, Check(nil, "h", time.Now()).State)
	st := CheckPair(nil, Options{Host: "h"})
	assert.Equal(t, StateMissing, st.State)
	assert.True(t, st.NeedsAction)
}

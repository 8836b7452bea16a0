package certgen

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	o := Options{
		Host:          "*",
		FQDN:          "a..b",
		DNSNames:      []string{"ok", "bad name"},
		IPAddresses:   []string{"10.0.0.1", "300.1.1.1"},
		Organization:  "bad\norg",
		KeyType:       "ed25519",
		ValidityYears: 31,
		RenewalWindow: -time.Hour,
	}
	err := o.Validate()
	require.Error(t, err)
	var fields []string
	for _, e := range fielderr.Flatten(err) {
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "%v", e)
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"host", "fqdn", "dns_names[1]", "ip_addresses[1]", "organization", "key_type", "validity_years", "renewal_window"}, fields)
	assert.Contains(t, err.Error(), `key_type: must be one of rsa2048, rsa3072, rsa4096, ecdsa-p256, got "ed25519"`)
	assert.Contains(t, err.Error(), "validity_years: must be 1-30, got 31")

	// sysparams prefixes the paths with its section name.
	var l fielderr.List
	l.Merge("certificate", err)
	assert.Contains(t, l.Err().Error(), "certificate.dns_names[1]: ")
}

func TestValidateValidity(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"years", Options{ValidityYears: 30}, ""},
		{"negative years", Options{ValidityYears: -1}, "validity_years: must be 1-30, got -1"},
		{"both", Options{ValidityYears: 2, Validity: 825 * day}, "validity: set either validity or validity_years, not both"},
		{"825 days", Options{Validity: 825 * day}, ""},
		{"too short", Options{Validity: time.Hour}, "validity: must be between 1d and 10950d, got 1h0m0s"},
		{"window ok", Options{RenewalWindow: 60 * day}, ""},
		{"window as long as lifetime", Options{ValidityYears: 1, RenewalWindow: 365 * day}, "renewal_window: must be shorter than the certificate lifetime (365d), got 365d"},
		{"window vs exact validity", Options{Validity: 30 * day, RenewalWindow: 31 * day}, "renewal_window: must be shorter"},
		{"organization too long", Options{Organization: strings.Repeat("é", 65)}, "organization: must be at most 64 characters, got 65"},
		{"organization utf-8", Options{Organization: "Société Générale"}, ""},
		{"organization invalid utf-8", Options{Organization: "\xff"}, "organization: must be valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Host = "h"
			err := tc.opts.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestKeyType(t *testing.T) {
	for _, s := range []string{"rsa2048", "rsa3072", "rsa4096", "ecdsa-p256"} {
		k, err := ParseKeyType(s)
		require.NoError(t, err)
		assert.Equal(t, s, k.String())
	}
	k, err := ParseKeyType("")
	require.NoError(t, err)
	assert.Equal(t, KeyRSA2048, k)
	assert.Equal(t, "rsa2048", KeyType("").String())
	for _, s := range []string{"RSA2048", "rsa1024", "rsa8192", "ed25519", "ecdsa-p384", " rsa2048"} {
		_, err := ParseKeyType(s)
		assert.Error(t, err, s)
	}
	var o Options
	err = json.Unmarshal([]byte(`{"host":"h","key_type":"ed25519"}`), &o)
	assert.ErrorContains(t, err, `key type must be one of`)
}

func TestOptionsJSON(t *testing.T) {
	o := Options{Host: "IAS01", FQDN: "ias01.example.com", DNSNames: []string{"a"}, IPAddresses: []string{"::1"},
		Organization: "O", KeyType: KeyECDSAP256, Validity: 825 * 24 * time.Hour, RenewalWindow: 36 * time.Hour,
		RegenerateOnRename: true, Now: time.Now}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	assert.JSONEq(t, `{"host":"IAS01","fqdn":"ias01.example.com","dns_names":["a"],"ip_addresses":["::1"],"organization":"O",
		"key_type":"ecdsa-p256","validity":"825d","renewal_window":"36h0m0s","regenerate_on_rename":true}`, string(b))
	var back Options
	require.NoError(t, json.Unmarshal(b, &back))
	o.Now = nil
	assert.Equal(t, o, back)

	b, err = json.Marshal(Options{Host: "h"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"host":"h"}`, string(b))

	for in, want := range map[string]time.Duration{`"60d"`: 60 * 24 * time.Hour, `"1d12h"`: 36 * time.Hour, `"90m"`: 90 * time.Minute, `""`: 0} {
		var o Options
		require.NoError(t, json.Unmarshal([]byte(`{"renewal_window":`+in+`}`), &o), in)
		assert.Equal(t, want, o.RenewalWindow, in)
	}
	for _, in := range []string{`"-1d"`, `"1x"`, `"d"`, `"+3d"`, `"-5h"`, `60`, `"99999d"`} {
		var o Options
		err := json.Unmarshal([]byte(`{"renewal_window":`+in+`}`), &o)
		assert.Error(t, err, in)
	}
	var fe *FieldError
	err = json.Unmarshal([]byte(`{"validity":"abc"}`), &back)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "validity", fe.Field)
	// Both bad durations are named in one error.
	err = json.Unmarshal([]byte(`{"validity":"abc","renewal_window":"-1d"}`), &back)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "validity: must be a duration")
	assert.Contains(t, err.Error(), "renewal_window: must be a duration")
}

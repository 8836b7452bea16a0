package sysparams_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

// holder is a caller's struct that keeps a configuration or store in an
// exported field, printed with every verb below.
type holder struct{ P any }

// printVerbs are the verbs a caller may use, bad ones included: fmt prints
// a pointer under %s, %q, %t or %e without calling any method of the value
// it leads to, unless the pointed-to type has a Format method.
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%t", "%e", "%10.4s"}

// TestSectionsStoresAndKeyringNeverPrintSecrets formats the sections that
// hold secrets, the Keyring and a FileStore (which keeps the keys and the
// decrypted parameters), by value, by pointer and nested in a caller's
// struct, with every verb: neither a secret nor key material appears.
// Before Email, O365, Cloud, Keyring and FileStore had Format methods,
// holder{&p.Cloud} under %s printed the client secret and %d on a Keyring
// printed the key bytes.
func TestSectionsStoresAndKeyringNeverPrintSecrets(t *testing.T) {
	const (
		cloudSecret = "cloud-TOPSECRET-1"
		smtpPass    = "smtp-TOPSECRET-2"
		o365Secret  = "o365-TOPSECRET-3"
	)
	key := []byte("0123456789abcdef0123456789abcdef")
	p := sysparams.Defaults()
	p.Telephony = sysparams.Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
	p.Cloud = sysparams.Cloud{ClientID: "id", ClientSecret: cloudSecret}
	p.Email.Password = smtpPass
	p.Email.O365.ClientSecret = o365Secret

	ctx := context.Background()
	s, err := sysparams.OpenFile(ctx, filepath.Join(t.TempDir(), "params.json"), sysparams.FileOptions{})
	require.NoError(t, err)
	_, err = s.Update(ctx, func(q *sysparams.Params) error { *q = *p; return nil })
	require.NoError(t, err)
	k, err := sysparams.NewKeyring("k1", key)
	require.NoError(t, err)

	leaks := []string{cloudSecret, smtpPass, o365Secret, string(key), fmt.Sprint(key[:8]), fmt.Sprintf("%x", key[:8])}
	for _, sec := range []string{cloudSecret, smtpPass, o365Secret} {
		leaks = append(leaks, fmt.Sprintf("%x", sec), fmt.Sprintf("%X", sec))
	}
	values := map[string]any{
		"Email": p.Email, "*Email": &p.Email,
		"O365": p.Email.O365, "*O365": &p.Email.O365,
		"Cloud": p.Cloud, "*Cloud": &p.Cloud,
		"Params": *p, "*Params": p,
		"*FileStore": s, "*Keyring": k,
	}
	for name, v := range values {
		for _, w := range []any{v, holder{v}, &holder{v}, []any{v}, map[string]any{"k": v}} {
			for _, verb := range printVerbs {
				out := fmt.Sprintf(verb, w)
				for _, l := range leaks {
					if strings.Contains(out, l) {
						t.Errorf("%s in %T printed with %s shows a secret: %s", name, w, verb, out)
					}
				}
			}
		}
	}
}

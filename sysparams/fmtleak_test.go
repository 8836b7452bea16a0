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
// When Secret was a plain string type, holder{&p.Cloud} under %s printed
// the client secret; before Keyring had a Format method, %d printed the key
// bytes.
func TestSectionsStoresAndKeyringNeverPrintSecrets(t *testing.T) {
	const (
		cloudSecret = "cloud-TOPSECRET-1"
		smtpPass    = "smtp-TOPSECRET-2"
		o365Secret  = "o365-TOPSECRET-3"
	)
	key := []byte("0123456789abcdef0123456789abcdef")
	p := sysparams.Defaults()
	p.Telephony = sysparams.Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
	p.Cloud = sysparams.Cloud{ClientID: "id", ClientSecret: sysparams.NewSecret(cloudSecret)}
	p.Email.Password = sysparams.NewSecret(smtpPass)
	p.Email.O365.ClientSecret = sysparams.NewSecret(o365Secret)

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

// hidden is a caller's struct that keeps configurations in unexported
// fields: fmt cannot call any method on them, so only the way Secret
// stores its value keeps it out of the output.
type hidden struct {
	params  sysparams.Params
	email   *sysparams.Email
	cloud   sysparams.Cloud
	secrets []sysparams.Secret
}

// TestSecretsHiddenOnMethodFreePaths covers the fmt paths that call no
// method: unexported fields of a caller's struct, and %p on a struct.
// With Secret as a plain string type, %+v of hidden{} printed every secret.
func TestSecretsHiddenOnMethodFreePaths(t *testing.T) {
	const pass = "smtp-TOPSECRET-9"
	p := sysparams.Defaults()
	p.Email.Password = sysparams.NewSecret(pass)
	p.Cloud.ClientSecret = sysparams.NewSecret(pass)
	h := hidden{params: *p, email: &p.Email, cloud: p.Cloud, secrets: []sysparams.Secret{sysparams.NewSecret(pass)}}
	for _, verb := range append(printVerbs, "%p") {
		for _, w := range []any{h, &h, []any{h}, p.Email.Password, p.Cloud} {
			out := fmt.Sprintf(verb, w)
			require.NotContains(t, out, pass, "%s of %T", verb, w)
			require.NotContains(t, out, fmt.Sprintf("%x", pass), "%s of %T", verb, w)
		}
	}
	require.Equal(t, pass, h.params.Email.Password.Reveal())
}

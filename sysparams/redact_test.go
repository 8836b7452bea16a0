package sysparams_test

import (
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
)

// A mail server may quote what it was sent; every form of the email
// secrets that can travel on the wire is redacted from such text.
func TestRedactEmailSecrets(t *testing.T) {
	const pass, o365 = "p@ss w/rd+1", "o365~client&secret"
	p := sysparams.Defaults()
	p.Email.Username = "fax"
	p.Email.Password = sysparams.NewSecret(pass)
	p.Email.O365.ClientSecret = sysparams.NewSecret(o365)
	for _, quoted := range []string{
		pass,
		url.QueryEscape(pass),
		base64.StdEncoding.EncodeToString([]byte(pass)),
		base64.StdEncoding.EncodeToString([]byte("\x00fax\x00" + pass)),
		base64.StdEncoding.EncodeToString([]byte("fax\x00fax\x00" + pass)),
		o365,
		url.QueryEscape(o365),
	} {
		out := p.RedactEmailSecrets("535 5.7.8 rejected " + quoted + " bye")
		require.NotContains(t, out, quoted)
		require.Equal(t, "535 5.7.8 rejected [REDACTED] bye", out)
	}
	require.Equal(t, "nothing to hide", sysparams.Defaults().RedactEmailSecrets("nothing to hide"))
}

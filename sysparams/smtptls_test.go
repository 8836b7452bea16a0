package sysparams

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/mailqueue"
)

// authServer is an SMTP server that offers STARTTLS and, only after it,
// AUTH PLAIN, and records the credentials it was given.
type authServer struct {
	mu    sync.Mutex
	users []string
	pass  []string
	tls   []bool
}

func (a *authServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &authSession{a: a, c: c}, nil
}

type authSession struct {
	a *authServer
	c *smtp.Conn
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		_, isTLS := s.c.TLSConnectionState()
		s.a.mu.Lock()
		s.a.users, s.a.pass, s.a.tls = append(s.a.users, user), append(s.a.pass, pass), append(s.a.tls, isTLS)
		s.a.mu.Unlock()
		if pass != testSMTPPassword {
			return smtp.ErrAuthFailed
		}
		return nil
	}), nil
}
func (s *authSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *authSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *authSession) Reset()                               {}
func (s *authSession) Logout() error                        { return nil }

// TestMailSenderSTARTTLSAuth sends with the stored password over STARTTLS
// to a server whose certificate is trusted through MailOptions.TLSConfig.
func TestMailSenderSTARTTLSAuth(t *testing.T) {
	ctx := context.Background()
	pair, err := certgen.Generate(certgen.Options{Host: "localhost", IPAddresses: []string{"127.0.0.1"}, KeyType: certgen.KeyECDSAP256})
	require.NoError(t, err)
	a := &authServer{}
	srv := smtp.NewServer(a)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair.TLSCertificate()}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(pair.Certificate())
	p := validParams()
	p.Email.Server = "127.0.0.1"
	p.Email.Port = portOf(ln.Addr().String())
	p.Email.Security = SecurityStartTLS
	opts := MailOptions{TLSConfig: &tls.Config{RootCAs: roots}}

	rep, err := p.TestEmailWith(ctx, opts)
	require.NoError(t, err, "%s", rep)
	require.True(t, rep.OK)
	snd, err := p.MailSender(opts)
	require.NoError(t, err)
	defer snd.Close()
	require.NoError(t, snd.Send(ctx, mailqueue.Envelope{From: "fax-ha@example.com", To: []string{"bob@example.com"}}, []byte(testMsg)))
	require.NotEmpty(t, a.users)
	for i := range a.users {
		require.Equal(t, "fax-admin@example.com", a.users[i])
		require.Equal(t, testSMTPPassword, a.pass[i])
		require.True(t, a.tls[i], "the password went over TLS")
	}

	// Without the private root the certificate is refused: TLS stays
	// verified by default.
	rep, err = p.TestEmail(ctx)
	require.Error(t, err)
	require.Equal(t, "tls", rep.FailedStep)

	// A wrong password is a configuration failure at the auth step, and
	// the password appears nowhere in the report.
	p.Email.Password = NewSecret("wrong-password")
	rep, err = p.TestEmailWith(ctx, opts)
	require.Error(t, err)
	require.Equal(t, "auth", rep.FailedStep)
	require.Equal(t, mailqueue.ClassConfig, mailqueue.ClassOf(err))
	require.NotContains(t, rep.String()+err.Error(), "wrong-password")
}

package smtpsend_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

func TestSendPlainRelayWithoutCredentials(t *testing.T) {
	be := &backend{}
	port := startServer(t, be)
	s := newSender(t, baseConfig(t, port))
	require.NoError(t, s.Send(context.Background(), env("a@example.com", "b@example.com"), []byte(testMsg)))
	msgs := be.messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "vm@example.com", msgs[0].From)
	require.Equal(t, []string{"a@example.com", "b@example.com"}, msgs[0].To)
	require.Equal(t, testMsg, string(msgs[0].Data))
	require.False(t, msgs[0].TLS)
}

func TestAuthOfferedOnlyAfterSTARTTLS(t *testing.T) {
	be := &backend{authOK: func(mech, user, secret string) error {
		if user == "fax@example.com" && secret == "s3cret" {
			return nil
		}
		return smtp.ErrAuthFailed
	}}
	// go-smtp offers AUTH only on TLS connections (AllowInsecureAuth off).
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password = "fax@example.com", smtpsend.NewSecret("s3cret")
	var trace bytes.Buffer
	cfg.DebugWriter = &trace
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	msgs := be.messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
	require.Equal(t, "fax@example.com", msgs[0].User)
	tr := trace.String()
	require.Contains(t, tr, "STARTTLS")
	require.NotContains(t, tr, "s3cret")
	require.NotContains(t, tr, base64.StdEncoding.EncodeToString([]byte("\x00fax@example.com\x00s3cret")))
	require.Contains(t, tr, "[smtpsend: AUTH PLAIN exchange not traced]")
	// Two EHLOs: the clear one and the one after TLS; the greeting once.
	require.Equal(t, 2, strings.Count(tr, "EHLO localhost"))
	require.Equal(t, 1, strings.Count(tr, "220 mail.test"), "trace:\n%s", tr)
	require.Contains(t, tr, "[smtpsend: TLS established: TLS 1.3")
}

func TestMechanisms(t *testing.T) {
	for _, tc := range []struct {
		name, mech, pass string
		tokens           smtpsend.TokenSource
	}{
		{"plain", smtpsend.AuthPlain, "pw", nil},
		{"login", smtpsend.AuthLogin, "pw", nil},
		{"cram-md5", smtpsend.AuthCRAMMD5, "pw-cram", nil},
		{"xoauth2-short-token", smtpsend.AuthXOAUTH2, "", smtpsend.TokenFunc(func(context.Context, bool) (string, error) { return "tok-123", nil })},
		// A real Entra token is ~1.5-2.5 KB: too long for the AUTH line, so
		// it goes as the answer to the server's empty 334.
		{"xoauth2-long-token", smtpsend.AuthXOAUTH2, "", smtpsend.TokenFunc(func(context.Context, bool) (string, error) {
			return strings.Repeat("eyJ0", 250), nil
		})},
		{"auto-picks-plain", "", "pw", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotMech atomic.Value
			be := &backend{authOK: func(mech, user, secret string) error {
				gotMech.Store(mech)
				if user != "u@example.com" {
					return smtp.ErrAuthFailed
				}
				if mech == "XOAUTH2" && (secret == "tok-123" || secret == strings.Repeat("eyJ0", 250)) {
					return nil
				}
				if secret == tc.pass {
					return nil
				}
				return smtp.ErrAuthFailed
			}}
			port := startServer(t, be, withTLS(t))
			cfg := baseConfig(t, port)
			cfg.Username, cfg.Auth, cfg.Tokens = "u@example.com", tc.mech, tc.tokens
			if tc.pass != "" {
				cfg.Password = smtpsend.NewSecret(tc.pass)
			}
			s := newSender(t, cfg)
			require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
			want := tc.mech
			if want == "" {
				want = "PLAIN"
			}
			require.Equal(t, want, gotMech.Load())
			require.Len(t, be.messages(), 1)
		})
	}
}

func TestXOAUTH2RefreshesTokenOnceAfter535(t *testing.T) {
	var calls []bool
	tokens := smtpsend.TokenFunc(func(_ context.Context, refresh bool) (string, error) {
		calls = append(calls, refresh)
		if refresh {
			return "fresh", nil
		}
		return "revoked", nil
	})
	be := &backend{authOK: func(_, _, tok string) error {
		if tok == "fresh" {
			return nil
		}
		return smtp.ErrAuthFailed
	}}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Tokens = "vm@contoso.com", tokens
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, []bool{false, true}, calls)

	// A token that stays refused is a configuration problem.
	calls = nil
	be2 := &backend{authOK: func(string, string, string) error { return smtp.ErrAuthFailed }}
	port2 := startServer(t, be2, withTLS(t))
	cfg2 := baseConfig(t, port2)
	cfg2.Username, cfg2.Tokens = "vm@contoso.com", tokens
	de := deliveryError(t, newSender(t, cfg2).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.Equal(t, smtpsend.StepAuth, de.Step)
	require.Equal(t, 535, de.Code)
	require.Equal(t, []bool{false, true}, calls)
}

func TestNoSTARTTLSWithCredentialsAbortsBeforeAuth(t *testing.T) {
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250-mail.test\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000000\r\n"),
	})
	cfg := baseConfig(t, sc.port())
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("pw-never-sent")
	s := newSender(t, cfg)
	de := deliveryError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.Equal(t, smtpsend.StepSTARTTLS, de.Step)
	require.ErrorIs(t, de, smtpsend.ErrNoSTARTTLS)
	require.NotEmpty(t, de.Hint)
	require.NoError(t, s.Close())
	// Exactly one line was sent: no AUTH byte, no QUIT on the refused
	// connection.
	require.Eventually(t, func() bool { return sc.log(0) == "EHLO localhost\r\n" }, 5*time.Second, 10*time.Millisecond, "client wrote %q", sc.log(0))
}

func TestSecurityStartTLSRequiresOffer(t *testing.T) {
	be := &backend{}
	port := startServer(t, be) // no TLS configured: no STARTTLS offered
	cfg := baseConfig(t, port)
	cfg.Security = smtpsend.SecurityStartTLS
	de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.ErrorIs(t, de, smtpsend.ErrNoSTARTTLS)

	cfg.Security = smtpsend.SecurityAuto
	cfg.RequireTLS = true
	de = deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.Empty(t, be.messages())
}

func TestCredentialsButNoAuthOffered(t *testing.T) {
	be := &backend{mechs: []string{}}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
	de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.Equal(t, smtpsend.StepAuth, de.Step)
	require.ErrorIs(t, de, smtpsend.ErrNoAuth)

	// The configured mechanism is not offered.
	be2 := &backend{mechs: []string{"PLAIN"}}
	port2 := startServer(t, be2, withTLS(t))
	cfg2 := baseConfig(t, port2)
	cfg2.Username, cfg2.Password, cfg2.Auth = "u", smtpsend.NewSecret("p"), "CRAM-MD5"
	de = deliveryError(t, newSender(t, cfg2).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassConfig, de.Class)
	require.ErrorIs(t, de, smtpsend.ErrNoAuth)
}

func TestPort465AutoUsesImplicitTLS(t *testing.T) {
	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startImplicitTLSServer(t, be)
	cfg := baseConfig(t, 465)
	cfg.Dialer = redirectDialer{to: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	msgs := be.messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err)
	require.Equal(t, "tls", rep.Security)
	require.Equal(t, "TLS 1.3", rep.TLSVersion)
	require.Contains(t, rep.Greeting, "mail.test")
}

func TestImplicitTLSHandshakeThenSilent(t *testing.T) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{certs(t).cert}})
	require.NoError(t, err)
	stop := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*tls.Conn).Handshake()
		<-stop // never greet
	}()
	t.Cleanup(func() {
		close(stop)
		_ = ln.Close()
		<-served
	})
	cfg := baseConfig(t, 465)
	cfg.Dialer = redirectDialer{to: ln.Addr().String()}
	cfg.Timeouts.Greeting = 150 * time.Millisecond
	rep, err := newSender(t, cfg).TestConnection(context.Background())
	de := deliveryError(t, err)
	require.Equal(t, smtpsend.StepGreeting, de.Step)
	require.Equal(t, mailqueue.ClassTransport, de.Class)
	require.Equal(t, "greeting", rep.FailedStep)
	require.Equal(t, "TLS 1.3", rep.TLSVersion, "the report keeps what was learnt before the failure")
}

// goroutines waits until the goroutine count is back to at most n.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > n {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutine leak: %d > %d\n%s", g, n, buf[:runtime.Stack(buf, true)])
	}
}

// silentServer accepts connections and never writes.
func silentServer(t *testing.T) (int, func() int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var accepted atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port, func() int { return int(accepted.Load()) }
}

func TestSilentServerFailsAtGreetingTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		port465  bool
		wantStep string
	}{
		{"starttls-port", false, smtpsend.StepGreeting},
		{"implicit-tls-465", true, smtpsend.StepTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, accepted := silentServer(t)
			before := runtime.NumGoroutine()
			cfg := baseConfig(t, port)
			cfg.Timeouts.Greeting = 150 * time.Millisecond
			cfg.Timeouts.TLS = 150 * time.Millisecond
			if tc.port465 {
				cfg.Port = 465
				cfg.Dialer = redirectDialer{to: fmt.Sprintf("127.0.0.1:%d", port)}
			}
			s, err := smtpsend.New(cfg)
			require.NoError(t, err)
			// No ctx deadline: only the stage timeout can end this.
			de := deliveryError(t, s.Send(context.Background(), env(), []byte(testMsg)))
			require.Equal(t, mailqueue.ClassTransport, de.Class)
			require.Equal(t, tc.wantStep, de.Step)
			var ne net.Error
			require.True(t, errors.As(de, &ne) && ne.Timeout(), "want a timeout, got %v", de.Err)
			// The server's accept loop may count the connection after
			// the client gave up on it.
			require.Eventually(t, func() bool { return accepted() == 1 }, 10*time.Second, time.Millisecond)
			// Retried later: a second attempt behaves the same.
			de = deliveryError(t, s.Send(context.Background(), env(), []byte(testMsg)))
			require.Equal(t, mailqueue.ClassTransport, de.Class)
			require.NoError(t, s.Close())
			settleGoroutines(t, before)
		})
	}
}

func TestContextCancelUnblocksSilentServer(t *testing.T) {
	port, accepted := silentServer(t)
	before := runtime.NumGoroutine()
	cfg := baseConfig(t, port)
	cfg.Timeouts.Greeting = time.Hour
	s := newSender(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel while the sender waits for the greeting: once the
		// server has accepted the connection (the dial is over), not
		// after a fixed time that a loaded machine may spend dialling.
		for accepted() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	err := s.Send(ctx, env(), []byte(testMsg))
	de := deliveryError(t, err)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, smtpsend.StepGreeting, de.Step)
	settleGoroutines(t, before)

	// A ctx deadline bounds the call the same way.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	require.ErrorIs(t, s.Send(ctx2, env(), []byte(testMsg)), context.DeadlineExceeded)
}

func TestClassification(t *testing.T) {
	type hooks struct {
		mail, rcpt, data func() error
		auth             error
	}
	smtpErr := func(code int, enh smtp.EnhancedCode, msg string) func() error {
		return func() error { return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg} }
	}
	for _, tc := range []struct {
		name     string
		h        hooks
		class    mailqueue.Class
		step     string
		code     int
		enhanced string
	}{
		{"535 5.7.139 smtp auth disabled", hooks{auth: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."}}, mailqueue.ClassConfig, "auth", 535, "5.7.139"},
		{"535 5.7.8 bad credentials", hooks{auth: smtp.ErrAuthFailed}, mailqueue.ClassConfig, "auth", 535, "5.7.8"},
		{"538 encryption required", hooks{auth: &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required"}}, mailqueue.ClassConfig, "auth", 538, "5.7.11"},
		{"454 temporary auth failure", hooks{auth: &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}}, mailqueue.ClassTemporary, "auth", 454, "4.7.0"},
		{"550 5.7.30 basic auth", hooks{mail: smtpErr(550, smtp.EnhancedCode{5, 7, 30}, "Basic authentication is not supported for Client Submission.")}, mailqueue.ClassConfig, "mail", 550, "5.7.30"},
		{"530 auth required on MAIL", hooks{mail: smtpErr(530, smtp.EnhancedCode{5, 7, 57}, "Client not authenticated to send mail")}, mailqueue.ClassConfig, "mail", 530, "5.7.57"},
		{"SendAsDenied after data", hooks{data: smtpErr(554, smtp.EnhancedCode{5, 2, 0}, "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message")}, mailqueue.ClassConfig, "final", 554, "5.2.0"},
		{"421 on MAIL", hooks{mail: smtpErr(421, smtp.EnhancedCode{4, 3, 2}, "Service not available")}, mailqueue.ClassTransport, "mail", 421, "4.3.2"},
		{"451 on MAIL", hooks{mail: smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "try later")}, mailqueue.ClassTemporary, "mail", 451, "4.3.0"},
		{"452 on RCPT", hooks{rcpt: smtpErr(452, smtp.EnhancedCode{4, 5, 3}, "Too many recipients")}, mailqueue.ClassTemporary, "rcpt", 452, "4.5.3"},
		{"550 on RCPT", hooks{rcpt: smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "User unknown")}, mailqueue.ClassPermanent, "rcpt", 550, "5.1.1"},
		{"451 after data", hooks{data: smtpErr(451, smtp.EnhancedCode{4, 7, 0}, "Temporary server error")}, mailqueue.ClassTemporary, "final", 451, "4.7.0"},
		{"552 after data", hooks{data: smtpErr(552, smtp.EnhancedCode{5, 3, 4}, "Message too big")}, mailqueue.ClassPermanent, "final", 552, "5.3.4"},
		{"554 5.6.11 bare LF", hooks{data: smtpErr(554, smtp.EnhancedCode{5, 6, 11}, "bare LF")}, mailqueue.ClassPermanent, "final", 554, "5.6.11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &backend{
				authOK: func(string, string, string) error { return tc.h.auth },
				onMail: func(string) error {
					if tc.h.mail != nil {
						return tc.h.mail()
					}
					return nil
				},
				onRcpt: func(string) error {
					if tc.h.rcpt != nil {
						return tc.h.rcpt()
					}
					return nil
				},
				onData: func([]byte) error {
					if tc.h.data != nil {
						return tc.h.data()
					}
					return nil
				},
			}
			port := startServer(t, be, withTLS(t))
			cfg := baseConfig(t, port)
			cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
			de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
			require.Equal(t, tc.class, de.Class, "%v", de)
			require.Equal(t, tc.step, de.Step)
			require.Equal(t, tc.code, de.Code)
			require.Equal(t, tc.enhanced, de.Enhanced)
			if tc.class == mailqueue.ClassConfig {
				require.NotEmpty(t, de.Hint)
			}
			require.NotContains(t, de.Error(), "\x00u\x00p")
		})
	}
}

func TestSizeLimitRespected(t *testing.T) {
	be := &backend{}
	port := startServer(t, be, func(s *smtp.Server) { s.MaxMessageBytes = 100 })
	s := newSender(t, baseConfig(t, port))
	de := deliveryError(t, s.Send(context.Background(), env(), bytes.Repeat([]byte("x"), 200)))
	require.Equal(t, mailqueue.ClassPermanent, de.Class)
	require.Equal(t, smtpsend.StepSize, de.Step)
	require.ErrorIs(t, de, smtpsend.ErrTooLarge)
	// The connection stays usable for the next (small) message.
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, 1, be.sessionCount())
}

func TestLostAfterFinalDotIsAmbiguous(t *testing.T) {
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250-mail.test\r\n250 8BITMIME\r\n"),
		C("EHLO localhost"),
		S("250-mail.test\r\n250 8BITMIME\r\n"),
		C("MAIL FROM:<vm@example.com> BODY=8BITMIME"),
		S("250 2.1.0 ok\r\n"),
		C("RCPT TO:<bob@example.com>"),
		S("250 2.1.5 ok\r\n"),
		C("DATA"),
		S("354 go ahead\r\n"),
		dataStep(),
		closeStep(),
	})
	de := deliveryError(t, newSender(t, baseConfig(t, sc.port())).Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassAmbiguous, de.Class)
	require.Equal(t, smtpsend.StepFinal, de.Step)
	require.NoError(t, sc.err(0))
}

func TestLostDuringDataUploadIsTemporary(t *testing.T) {
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
		C("MAIL FROM:<vm@example.com>"),
		S("250 ok\r\n"),
		C("RCPT TO:<bob@example.com>"),
		S("250 ok\r\n"),
		C("DATA"),
		S("354 go ahead\r\n"),
		closeStep(),
	})
	big := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"), 200000)
	de := deliveryError(t, newSender(t, baseConfig(t, sc.port())).Send(context.Background(), env(), big))
	// Either the upload or the wait for the reply notices the reset; the
	// upload of 13 MB cannot complete into a closed socket.
	require.Contains(t, []mailqueue.Class{mailqueue.ClassTemporary, mailqueue.ClassAmbiguous}, de.Class)
	if de.Step == smtpsend.StepData {
		require.Equal(t, mailqueue.ClassTemporary, de.Class)
	}
}

func TestReuseOneConnectionAndRSETAfterAbort(t *testing.T) {
	var refuse atomic.Bool
	be := &backend{onRcpt: func(to string) error {
		if refuse.Load() && to == "gone@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}}
	port := startServer(t, be, withTLS(t))
	var trace bytes.Buffer
	cfg := baseConfig(t, port)
	cfg.DebugWriter = &trace
	s := newSender(t, cfg)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		require.NoError(t, s.Send(ctx, env(), []byte(testMsg)))
	}
	refuse.Store(true)
	de := deliveryError(t, s.Send(ctx, env("gone@example.com"), []byte(testMsg)))
	require.Equal(t, mailqueue.ClassPermanent, de.Class)
	require.NoError(t, s.Send(ctx, env(), []byte(testMsg)))
	require.Equal(t, 1, be.sessionCount(), "one connection for all messages; trace:\n%s", trace.String())
	require.Len(t, be.messages(), 4)
	tr := trace.String()
	require.Equal(t, 3, strings.Count(tr, "NOOP\r\n"), "NOOP before each reuse after a clean transaction")
	require.Equal(t, 1, strings.Count(tr, "RSET\r\n"), "RSET after the aborted transaction")
}

func TestIdle421ReconnectsTransparently(t *testing.T) {
	greet := script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
	}
	tx := script{
		C("MAIL FROM:<vm@example.com>"), S("250 2.1.0 ok\r\n"),
		C("RCPT TO:<bob@example.com>"), S("250 2.1.5 ok\r\n"),
		C("DATA"), S("354 go ahead\r\n"),
		dataStep(), S("250 2.0.0 queued\r\n"),
	}
	first := append(append(append(script{}, greet...), tx...),
		// The server times the idle session out.
		S("421 4.4.2 mail.test idle timeout, closing\r\n"), closeStep())
	second := append(append(script{}, greet...), tx...)
	sc := startScripted(t, first, second)
	s := newSender(t, baseConfig(t, sc.port()))
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, env(), []byte(testMsg)))
	time.Sleep(50 * time.Millisecond) // let the 421 arrive while idle
	require.NoError(t, s.Send(ctx, env(), []byte(testMsg)), "reconnect must be transparent")
	require.NoError(t, sc.err(0))
	require.NoError(t, s.Close())
	require.Eventually(t, func() bool { return strings.Contains(sc.log(1), "QUIT") }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, sc.err(1))
	require.Equal(t, "EHLO localhost\r\nEHLO localhost\r\nMAIL FROM:<vm@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"+
		testMsg+".\r\nQUIT\r\n", sc.log(1))
}

func TestIdleTimeoutDropsKeptConnection(t *testing.T) {
	be := &backend{}
	port := startServer(t, be)
	now := time.Unix(1_700_000_000, 0)
	cfg := baseConfig(t, port)
	cfg.Now = func() time.Time { return now }
	cfg.IdleTimeout = time.Minute
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	now = now.Add(2 * time.Minute)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.Equal(t, 2, be.sessionCount())
}

func TestExactTranscriptXOAUTH2(t *testing.T) {
	token := "ya29.tok"
	ir := base64.StdEncoding.EncodeToString([]byte("user=vm@contoso.com\x01auth=Bearer " + token + "\x01\x01"))
	long := strings.Repeat("A", 700)
	irLong := base64.StdEncoding.EncodeToString([]byte("user=vm@contoso.com\x01auth=Bearer " + long + "\x01\x01"))
	errJSON := base64.StdEncoding.EncodeToString([]byte(`{"status":"401","schemes":"bearer"}`))
	pre := script{
		S("220 smtp.office365.com Microsoft ESMTP MAIL Service ready\r\n"),
		C("EHLO localhost"),
		S("250-smtp.office365.com Hello\r\n250-SIZE 157286400\r\n250 STARTTLS\r\n"),
		C("STARTTLS"),
		S("220 2.0.0 SMTP server ready\r\n"),
		tlsServer(),
		C("EHLO localhost"),
		S("250-smtp.office365.com Hello\r\n250-SIZE 157286400\r\n250-AUTH LOGIN XOAUTH2\r\n250 8BITMIME\r\n"),
	}
	for _, tc := range []struct {
		name   string
		token  string
		auth   script
		result mailqueue.Class
		ok     bool
	}{
		{"initial-response", token, script{C("AUTH XOAUTH2 " + ir), S("235 2.7.0 Authentication successful\r\n")}, 0, true},
		{"334-form-for-long-token", long, script{C("AUTH XOAUTH2"), S("334 \r\n"), C(irLong), S("235 2.7.0 Authentication successful\r\n")}, 0, true},
		{"error-challenge-then-535", token, script{
			C("AUTH XOAUTH2 " + ir), S("334 " + errJSON + "\r\n"), C(""),
			S("535 5.7.3 Authentication unsuccessful\r\n"),
			// go-smtp's client answers a final failure with the "*"
			// cancel line; servers reject it as an unknown command.
			C("*"), S("500 5.3.3 Unrecognized command\r\n"),
			// refresh and retry once
			C("AUTH XOAUTH2 " + ir), S("535 5.7.3 Authentication unsuccessful\r\n"),
			C("*"), S("500 5.3.3 Unrecognized command\r\n"),
		}, mailqueue.ClassConfig, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := append(append(script{}, pre...), tc.auth...)
			if tc.ok {
				sc = append(sc, C("MAIL FROM:<vm@contoso.com> BODY=8BITMIME SIZE=66"), S("250 2.1.0 Sender OK\r\n"),
					C("RCPT TO:<bob@example.com>"), S("250 2.1.5 Recipient OK\r\n"),
					C("DATA"), S("354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
					dataStep(), S("250 2.0.0 OK <id@contoso.com> [Hostname=X]\r\n"))
			}
			srv := startScripted(t, sc)
			cfg := baseConfig(t, srv.port())
			cfg.Username = "vm@contoso.com"
			cfg.Tokens = smtpsend.TokenFunc(func(context.Context, bool) (string, error) { return tc.token, nil })
			s := newSender(t, cfg)
			err := s.Send(context.Background(), mailqueue.Envelope{From: "vm@contoso.com", To: []string{"bob@example.com"}}, []byte(testMsg))
			if tc.ok {
				require.NoError(t, err)
			} else {
				de := deliveryError(t, err)
				require.Equal(t, tc.result, de.Class, "%v\nserver: %v\nclient wrote: %q", de, srv.err(0), srv.log(0))
				require.Equal(t, "5.7.3", de.Enhanced)
				require.NotContains(t, de.Error(), token)
			}
			require.NoError(t, s.Close())
			require.Eventually(t, func() bool { return srv.err(0) != nil || strings.Contains(srv.log(0), "QUIT") || !tc.ok },
				5*time.Second, 10*time.Millisecond)
			require.NoError(t, srv.err(0))
		})
	}
}

func TestSTARTTLSInjectionRefused(t *testing.T) {
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250-mail.test\r\n250 STARTTLS\r\n"),
		C("STARTTLS"),
		S("220 go ahead\r\n250-injected\r\n"),
	})
	de := deliveryError(t, newSender(t, baseConfig(t, sc.port())).Send(context.Background(), env(), []byte(testMsg)))
	require.ErrorIs(t, de, smtpsend.ErrTLSInjection)
	require.Equal(t, mailqueue.ClassTransport, de.Class)
}

func TestTLSFailures(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		port := startServer(t, &backend{}, withTLS(t))
		cfg := baseConfig(t, port)
		cfg.RootCAs = nil // system roots do not know the test CA
		de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
		require.Equal(t, mailqueue.ClassTransport, de.Class)
		require.Equal(t, smtpsend.StepTLS, de.Step)
		require.Contains(t, de.Hint, "ca_file")
	})
	t.Run("wrong name", func(t *testing.T) {
		port := startServer(t, &backend{}, withTLS(t))
		cfg := baseConfig(t, port)
		cfg.TLSServerName = "other.test"
		de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
		require.Equal(t, smtpsend.StepTLS, de.Step)
		require.Contains(t, de.Hint, "tls_server_name")
	})
	t.Run("legacy TLS 1.1 server needs opt-in", func(t *testing.T) {
		be := &backend{}
		port := startServer(t, be, func(s *smtp.Server) {
			s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{certs(t).cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		})
		cfg := baseConfig(t, port)
		de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
		require.Equal(t, smtpsend.StepTLS, de.Step)
		cfg.MinTLS = smtpsend.TLS10
		s := newSender(t, cfg)
		rep, err := s.TestConnection(context.Background())
		require.NoError(t, err)
		require.Equal(t, "TLS 1.1", rep.TLSVersion)
		require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
		require.Len(t, be.messages(), 1)
	})
}

// bufferingDialer imitates a proxy dialer whose CONNECT reply arrived in
// the same packet as the server's greeting: it reads the greeting itself
// and hands back a conn that replays it.
type bufferingDialer struct{ to string }

type preReadConn struct {
	net.Conn
	r io.Reader
}

func (c *preReadConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (d bufferingDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, d.to)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil {
		c.Close()
		return nil, err
	}
	// The whole greeting is now in br's buffer, not in the socket.
	return &preReadConn{Conn: c, r: br}, nil
}

func TestDialerWithBufferedGreeting(t *testing.T) {
	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Host = "mail.test" // resolved by the "proxy"
	cfg.Dialer = bufferingDialer{to: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.Len(t, be.messages(), 1)
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err)
	require.Empty(t, rep.Resolved, "a proxy dialer resolves names itself")
}

func TestTestConnection(t *testing.T) {
	be := &backend{
		authOK: func(_, user, _ string) error {
			if user == "good" {
				return nil
			}
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."}
		},
		onMail: func(from string) error {
			if from == "nobody@example.com" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 60}, Message: "SMTP; Client does not have permissions to send as this sender"}
			}
			return nil
		},
	}
	port := startServer(t, be, withTLS(t))
	cfg := baseConfig(t, port)
	cfg.Username, cfg.Password, cfg.From = "good", smtpsend.NewSecret("p"), "fax@example.com"
	rep, err := newSender(t, cfg).TestConnection(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK())
	require.Equal(t, "starttls", rep.Security)
	require.Equal(t, "TLS 1.3", rep.TLSVersion)
	require.Equal(t, "PLAIN", rep.Auth)
	var names []string
	for _, st := range rep.Steps {
		names = append(names, st.Name)
		require.True(t, st.OK)
	}
	require.Equal(t, []string{"dial", "greeting", "ehlo", "tls", "ehlo", "auth", "mail"}, names)
	require.Empty(t, be.messages(), "no message is sent")

	// A host name is resolved first and reported.
	byName := cfg
	byName.Host, byName.TLSServerName = "localhost", "mail.test"
	rep, err = newSender(t, byName).TestConnection(context.Background())
	require.NoError(t, err)
	require.Equal(t, "dns", rep.Steps[0].Name)
	require.NotEmpty(t, rep.Resolved)

	cfg.Username = "bad"
	rep, err = newSender(t, cfg).TestConnection(context.Background())
	de := deliveryError(t, err)
	require.Equal(t, "auth", rep.FailedStep)
	require.Equal(t, "config", rep.Class)
	require.Equal(t, "TLS 1.3", rep.TLSVersion)
	require.Contains(t, rep.Hint, "SMTP AUTH is disabled")
	require.Equal(t, "5.7.139", de.Enhanced)

	cfg.Username, cfg.From = "good", "nobody@example.com"
	rep, err = newSender(t, cfg).TestConnection(context.Background())
	require.Error(t, err)
	require.Equal(t, "mail", rep.FailedStep)
	require.Equal(t, "config", rep.Class)

	// Nothing listens: the dial step fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	rep, err = newSender(t, baseConfig(t, closedPort)).TestConnection(context.Background())
	require.Error(t, err)
	require.Equal(t, "dial", rep.FailedStep)
	require.Equal(t, "transport", rep.Class)
}

func TestEnvelopeChecks(t *testing.T) {
	s := newSender(t, baseConfig(t, 1))
	for _, e := range []mailqueue.Envelope{
		{From: "a@b", To: nil},
		{From: "a@b\r\nRCPT TO:<x@y>", To: []string{"c@d"}},
		{From: "a@b", To: []string{"no-at-sign"}},
		{From: "a@b", To: []string{"<c@d>"}},
	} {
		de := deliveryError(t, s.Send(context.Background(), e, []byte(testMsg)))
		require.Equal(t, mailqueue.ClassPermanent, de.Class)
		require.ErrorIs(t, de, smtpsend.ErrBadEnvelope)
	}
}

func TestClosedSender(t *testing.T) {
	be := &backend{}
	port := startServer(t, be)
	s := newSender(t, baseConfig(t, port))
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	err := s.Send(context.Background(), env(), []byte(testMsg))
	require.ErrorIs(t, err, smtpsend.ErrClosed)
}

func TestConcurrentSends(t *testing.T) {
	be := &backend{}
	port := startServer(t, be, withTLS(t))
	s := newSender(t, baseConfig(t, port))
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var err error
			for j := 0; j < 5 && err == nil; j++ {
				err = s.Send(context.Background(), env(), []byte(testMsg))
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-errs)
	}
	require.Len(t, be.messages(), 40)
}

func TestCapabilitiesOnlyFromPostTLSEHLO(t *testing.T) {
	// Before TLS the server (or a man in the middle) claims a tiny SIZE and
	// AUTH PLAIN; after TLS it offers LOGIN only and a large SIZE. The
	// client must forget the first list (RFC 3207 §4.2).
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250-mail.test\r\n250-SIZE 10\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
		C("STARTTLS"),
		S("220 ready\r\n"),
		tlsServer(),
		C("EHLO localhost"),
		S("250-mail.test\r\n250-SIZE 100000\r\n250 AUTH LOGIN\r\n"),
		C("AUTH LOGIN"),
		S("334 " + b64("Username:") + "\r\n"),
		C(b64("u@example.com")),
		S("334 " + b64("Password:") + "\r\n"),
		C(b64("pw")),
		S("235 2.7.0 ok\r\n"),
		C("MAIL FROM:<vm@example.com> SIZE=66"),
		S("250 ok\r\n"),
		C("RCPT TO:<bob@example.com>"),
		S("250 ok\r\n"),
		C("DATA"),
		S("354 go\r\n"),
		dataStep(),
		S("250 queued\r\n"),
	})
	cfg := baseConfig(t, sc.port())
	cfg.Username, cfg.Password = "u@example.com", smtpsend.NewSecret("pw")
	s := newSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	require.NoError(t, s.Close())
	require.Eventually(t, func() bool { return strings.Contains(sc.log(0), "QUIT") }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, sc.err(0))
}

func TestBadGreetings(t *testing.T) {
	for _, tc := range []struct {
		name, greeting string
		code           int
	}{
		{"421 busy", "421 4.3.2 mail.test too busy\r\n", 421},
		{"554 no service", "554 5.3.2 mail.test no SMTP service here\r\n", 554},
		{"not smtp", "HTTP/1.1 400 Bad Request\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := startScripted(t, script{S(tc.greeting), closeStep()})
			de := deliveryError(t, newSender(t, baseConfig(t, sc.port())).Send(context.Background(), env(), []byte(testMsg)))
			require.Equal(t, mailqueue.ClassTransport, de.Class)
			require.Equal(t, smtpsend.StepGreeting, de.Step)
			require.Equal(t, tc.code, de.Code)
		})
	}
}

// socks5Server is a minimal SOCKS5 proxy (no auth, CONNECT only) that sends
// its CONNECT reply and the upstream server's first bytes in one write, as a
// proxy on a fast network does.
func socks5Server(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := io.ReadFull(c, buf[:2]); err != nil {
					return
				}
				if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
					return
				}
				_, _ = c.Write([]byte{5, 0})
				if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[3] != 1 {
					return // IPv4 targets only in this test
				}
				if _, err := io.ReadFull(c, buf[:6]); err != nil {
					return
				}
				target := fmt.Sprintf("%d.%d.%d.%d:%d", buf[0], buf[1], buf[2], buf[3], int(buf[4])<<8|int(buf[5]))
				up, err := net.Dial("tcp", target)
				if err != nil {
					_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
					return
				}
				defer up.Close()
				n, _ := up.Read(buf) // the greeting
				_, _ = c.Write(append([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0}, buf[:n]...))
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestThroughSOCKS5Proxy(t *testing.T) {
	be := &backend{authOK: func(string, string, string) error { return nil }}
	port := startServer(t, be, withTLS(t))
	d, err := proxy.SOCKS5("tcp", socks5Server(t), nil, proxy.Direct)
	require.NoError(t, err)
	cfg := baseConfig(t, port)
	cfg.Dialer = d.(proxy.ContextDialer)
	cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
	s := newSender(t, cfg)
	for i := 0; i < 3; i++ {
		require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
	}
	require.Len(t, be.messages(), 3)
	require.True(t, be.messages()[0].TLS)
}

func TestCloseIdleQuitsKeptConnectionAndStaysUsable(t *testing.T) {
	greet := script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
		C("EHLO localhost"),
		S("250 mail.test\r\n"),
	}
	tx := script{
		C("MAIL FROM:<vm@example.com>"), S("250 2.1.0 ok\r\n"),
		C("RCPT TO:<bob@example.com>"), S("250 2.1.5 ok\r\n"),
		C("DATA"), S("354 go ahead\r\n"),
		dataStep(), S("250 2.0.0 queued\r\n"),
	}
	conn := append(append(script{}, greet...), tx...)
	sc := startScripted(t, conn, conn)
	s := newSender(t, baseConfig(t, sc.port()))
	var ic mailqueue.IdleCloser = s
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, env(), []byte(testMsg)))
	require.NoError(t, ic.CloseIdle())
	// CloseIdle waited for the server's 221, which the script sends after
	// recording QUIT.
	wantFirst := "EHLO localhost\r\nEHLO localhost\r\nMAIL FROM:<vm@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" + testMsg + ".\r\nQUIT\r\n"
	require.Equal(t, wantFirst, sc.log(0))
	require.NoError(t, ic.CloseIdle(), "nothing kept: a no-op")

	// Still usable: the next Send dials a new connection (no NOOP on a
	// closed one).
	require.NoError(t, s.Send(ctx, env(), []byte(testMsg)))
	require.NoError(t, s.Close())
	require.Eventually(t, func() bool { return strings.Contains(sc.log(1), "QUIT") }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, sc.err(0))
	require.NoError(t, sc.err(1))
	require.Equal(t, wantFirst, sc.log(1))
}

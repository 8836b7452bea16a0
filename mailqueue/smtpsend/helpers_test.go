package smtpsend_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// testCA is a self-signed certificate for 127.0.0.1 and "mail.test".
type testCA struct {
	cert tls.Certificate
	pool *x509.CertPool
}

var (
	caOnce sync.Once
	caVal  *testCA
)

func certs(t testing.TB) *testCA {
	t.Helper()
	caOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "mail.test"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			DNSNames:              []string{"mail.test"},
			IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		pool := x509.NewCertPool()
		pool.AddCert(leaf)
		caVal = &testCA{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool: pool}
	})
	return caVal
}

// received is one message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	User string // authenticated user, "" without AUTH
	TLS  bool
}

// backend is a scripted go-smtp backend. Hooks return an error to refuse.
type backend struct {
	mu     sync.Mutex
	msgs   []received
	conns  map[*smtp.Conn]bool
	authOK func(mech, user, secret string) error
	onMail func(from string) error
	onRcpt func(to string) error
	onData func(data []byte) error
	mechs  []string
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	if b.conns == nil {
		b.conns = map[*smtp.Conn]bool{}
	}
	b.conns[c] = true
	b.mu.Unlock()
	_, isTLS := c.TLSConnectionState()
	return &sess{b: b, tls: isTLS, conn: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

// sessionCount returns the number of connections seen.
func (b *backend) sessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

type sess struct {
	b    *backend
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *sess) AuthMechanisms() []string {
	if s.b.mechs != nil {
		return s.b.mechs
	}
	return []string{"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}
}

func (s *sess) check(mech, user, secret string) error {
	if s.b.authOK == nil {
		return smtp.ErrAuthFailed
	}
	if err := s.b.authOK(mech, user, secret); err != nil {
		return err
	}
	s.user = user
	return nil
}

func (s *sess) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, user, pass string) error { return s.check(mech, user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: func(u, p string) error { return s.check(mech, u, p) }}, nil
	case "CRAM-MD5":
		return &cramServer{check: func(u, digest, challenge string) error {
			// The test backend knows the plain password "pw-cram".
			m := hmac.New(md5.New, []byte("pw-cram"))
			m.Write([]byte(challenge))
			if hex.EncodeToString(m.Sum(nil)) != digest {
				return smtp.ErrAuthFailed
			}
			return s.check(mech, u, "pw-cram")
		}}, nil
	case "XOAUTH2":
		return &xoauthServer{check: func(u, tok string) error { return s.check(mech, u, tok) }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *sess) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.onMail != nil {
		if err := s.b.onMail(from); err != nil {
			return err
		}
	}
	s.from = from
	return nil
}

func (s *sess) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.onRcpt != nil {
		if err := s.b.onRcpt(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *sess) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.onData != nil {
		if err := s.b.onData(data); err != nil {
			return err
		}
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, received{From: s.from, To: s.to, Data: data, User: s.user, TLS: s.tls})
	s.b.mu.Unlock()
	return nil
}

func (s *sess) Reset()        { s.from, s.to = "", nil }
func (s *sess) Logout() error { return nil }

// loginServer is the server side of LOGIN.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil {
			return nil, false, errors.New("no initial response expected")
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

type cramServer struct {
	check     func(user, digest, challenge string) error
	challenge string
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == "" {
		c.challenge = "<1896.697170952@mail.test>"
		return []byte(c.challenge), false, nil
	}
	user, digest, _ := strings.Cut(string(resp), " ")
	return nil, true, c.check(user, digest, c.challenge)
}

// xoauthServer follows Microsoft's behaviour: on a bad token it sends a
// JSON error challenge, then 535 after the client's empty answer.
type xoauthServer struct {
	check  func(user, tok string) error
	failed bool
}

func (x *xoauthServer) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 3}, Message: "Authentication unsuccessful"}
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	parts := strings.Split(string(resp), "\x01")
	if len(parts) != 4 || !strings.HasPrefix(parts[0], "user=") || !strings.HasPrefix(parts[1], "auth=Bearer ") {
		return nil, true, errors.New("malformed XOAUTH2 response")
	}
	if err := x.check(strings.TrimPrefix(parts[0], "user="), strings.TrimPrefix(parts[1], "auth=Bearer ")); err != nil {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://outlook.office365.com/.default"}`), false, nil
	}
	return nil, true, nil
}

type serverOpt func(*smtp.Server)

func withTLS(t testing.TB) serverOpt {
	ca := certs(t)
	return func(s *smtp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.cert}}
	}
}

// startServer runs a go-smtp server on 127.0.0.1:0 and returns its port.
func startServer(t testing.TB, be *backend, opts ...serverOpt) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "mail.test"
	srv.ErrorLog = quietLogger{}
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	for _, o := range opts {
		o(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// startImplicitTLSServer runs a go-smtp server behind a TLS listener.
func startImplicitTLSServer(t testing.TB, be *backend) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "mail.test"
	srv.ErrorLog = quietLogger{}
	ca := certs(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.cert}})
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...interface{}) {}
func (quietLogger) Println(...interface{})        {}

// script is one server side of a scripted session: each step either sends
// bytes or expects one client line (compared exactly, CRLF stripped).
type script []step

type step struct {
	send   string // bytes to send
	expect string // client line expected; "*" accepts any line
	isExp  bool   // this step expects a client line
	data   bool   // read a DATA body up to the final dot
	close  bool   // close the connection
	tls    bool   // run a TLS server handshake
}

func S(s string) step { return step{send: s} }
func C(s string) step { return step{expect: s, isExp: true} }
func dataStep() step  { return step{data: true} }
func closeStep() step { return step{close: true} }
func tlsServer() step { return step{tls: true} }
func anyLine() step   { return step{expect: "*", isExp: true} }

// scripted serves one script per accepted connection, in order, and
// records everything each client wrote.
type scripted struct {
	t       testing.TB
	ln      net.Listener
	scripts []script
	mu      sync.Mutex
	logs    []*bytes.Buffer
	errs    []error
	done    chan struct{}
}

func startScripted(t testing.TB, scripts ...script) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scripted{t: t, ln: ln, scripts: scripts, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		<-s.done
	})
	return s
}

func (s *scripted) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *scripted) serve() {
	defer close(s.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, sc := range s.scripts {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		buf := &bytes.Buffer{}
		s.mu.Lock()
		s.logs = append(s.logs, buf)
		idx := len(s.logs) - 1
		s.errs = append(s.errs, nil)
		s.mu.Unlock()
		wg.Add(1)
		go func(sc script) {
			defer wg.Done()
			err := runScript(conn, sc, buf, &s.mu)
			s.mu.Lock()
			s.errs[idx] = err
			s.mu.Unlock()
		}(sc)
	}
}

func runScript(conn net.Conn, sc script, log *bytes.Buffer, mu *sync.Mutex) error {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var r *bufio.Reader = bufio.NewReader(conn)
	var w io.Writer = conn
	record := func(b string) {
		mu.Lock()
		log.WriteString(b)
		mu.Unlock()
	}
	for _, st := range sc {
		switch {
		case st.close:
			return nil
		case st.tls:
			tc := tls.Server(&bufConn{Conn: conn, r: r}, &tls.Config{Certificates: []tls.Certificate{caVal.cert}})
			if err := tc.Handshake(); err != nil {
				return err
			}
			r, w = bufio.NewReader(tc), tc
		case st.send != "":
			if _, err := io.WriteString(w, st.send); err != nil {
				return err
			}
		case st.data:
			for {
				line, err := r.ReadString('\n')
				record(line)
				if err != nil {
					return err
				}
				if line == ".\r\n" {
					break
				}
			}
		case st.isExp:
			line, err := r.ReadString('\n')
			record(line)
			if err != nil {
				return err
			}
			if st.expect != "*" && strings.TrimRight(line, "\r\n") != st.expect {
				return errors.New("unexpected client line " + line + " want " + st.expect)
			}
		}
	}
	// Drain until the client closes, so QUIT is recorded.
	for {
		line, err := r.ReadString('\n')
		record(line)
		if err != nil {
			return nil
		}
		if strings.HasPrefix(line, "QUIT") {
			_, _ = io.WriteString(w, "221 2.0.0 bye\r\n")
			return nil
		}
	}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// log returns what the client wrote on connection i.
func (s *scripted) log(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.logs) {
		return ""
	}
	return s.logs[i].String()
}

func (s *scripted) err(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.errs) {
		return nil
	}
	return s.errs[i]
}

// baseConfig is a config for a server on 127.0.0.1:port trusting the test CA.
func baseConfig(t testing.TB, port int) smtpsend.Config {
	return smtpsend.Config{
		Host:     "127.0.0.1",
		Port:     port,
		RootCAs:  certs(t).pool,
		Timeouts: smtpsend.Timeouts{Greeting: 5 * time.Second, Command: 5 * time.Second, Final: 5 * time.Second},
	}
}

func newSender(t testing.TB, cfg smtpsend.Config) *smtpsend.Sender {
	t.Helper()
	s, err := smtpsend.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func env(to ...string) mailqueue.Envelope {
	if len(to) == 0 {
		to = []string{"bob@example.com"}
	}
	return mailqueue.Envelope{From: "vm@example.com", To: to}
}

const testMsg = "From: vm@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nHello.\r\n"

func deliveryError(t testing.TB, err error) *mailqueue.DeliveryError {
	t.Helper()
	require.Error(t, err)
	var de *mailqueue.DeliveryError
	require.True(t, errors.As(err, &de), "not a DeliveryError: %v", err)
	return de
}

// redirectDialer dials to instead of the configured address (lets a test
// use port 465 in the config without binding it).
type redirectDialer struct{ to string }

func (d redirectDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.to)
}

type oauthToken = oauth2.Token

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// pemCert returns the test CA certificate in PEM form.
func pemCert(t testing.TB) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs(t).cert.Certificate[0]})
}

package mailqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// qeSink is an in-process go-smtp server on 127.0.0.1:0 with a scripted
// backend: it records accepted messages and connections, and can refuse
// MAIL with a chosen SMTP error.
type qeSink struct {
	srv   *smtp.Server
	addr  string
	conns atomic.Int32

	mu      sync.Mutex
	msgs    []string // subjects, in acceptance order
	raw     [][]byte
	mailErr error                    // returned by MAIL when set
	onConn  func(c *smtp.Conn) error // called for every new session
}

func qeNewSink(t testing.TB) *qeSink {
	t.Helper()
	s := &qeSink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.conns.Add(1)
		s.mu.Lock()
		hook := s.onConn
		s.mu.Unlock()
		if hook != nil {
			if err := hook(c); err != nil {
				return nil, err
			}
		}
		return &qeSession{s: s}, nil
	}))
	s.srv.Domain = "qeSink.test"
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = qeNopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

type qeNopLogger struct{}

func (qeNopLogger) Printf(string, ...any) {}
func (qeNopLogger) Println(...any)        {}

func (s *qeSink) Subjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func (s *qeSink) setMailErr(err error) {
	s.mu.Lock()
	s.mailErr = err
	s.mu.Unlock()
}

type qeSession struct {
	s *qeSink
}

func (ss *qeSession) Reset()        {}
func (ss *qeSession) Logout() error { return nil }
func (ss *qeSession) Mail(string, *smtp.MailOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.s.mailErr
}
func (ss *qeSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *qeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	subj := ""
	for line := range strings.SplitSeq(string(b), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			subj = v
			break
		}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, subj)
	ss.s.raw = append(ss.s.raw, b)
	ss.s.mu.Unlock()
	return nil
}

func qePlainSender(t testing.TB, addr string, mod func(*smtpsend.Config)) *smtpsend.Sender {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	var p int
	_, _ = fmt.Sscan(port, &p)
	cfg := smtpsend.Config{Host: host, Port: p, Security: smtpsend.SecurityNone,
		Timeouts: smtpsend.Timeouts{Greeting: 300 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := smtpsend.New(cfg)
	require.NoError(t, err)
	return s
}

func qeMessage(subject string) []byte {
	return []byte("From: vm@example.com\r\nTo: bob@example.com\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.com>\r\n\r\nbody of " + subject + "\r\n")
}

var qeEnv = mailqueue.Envelope{From: "vm@example.com", To: []string{"bob@example.com"}}

func qeWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type qeRunning struct {
	q    *mailqueue.Queue
	done chan error
}

func qeStart(t *testing.T, cfg mailqueue.Config) *qeRunning {
	t.Helper()
	if cfg.Store == nil {
		sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = sp.Close() })
		cfg.Store = sp
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	q, err := mailqueue.New(cfg)
	require.NoError(t, err)
	r := &qeRunning{q: q, done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = q.Close()
		<-r.done
	})
	go func() { r.done <- q.Run(context.Background()) }()
	return r
}

func (r *qeRunning) enqueue(t *testing.T, subjects ...string) {
	t.Helper()
	for _, s := range subjects {
		_, err := r.q.Enqueue(context.Background(), qeEnv, qeMessage(s))
		require.NoError(t, err)
	}
}

// Consecutive messages go out in order over one reused connection.
func TestE2EDeliversInOrderOverOneConnection(t *testing.T) {
	sk := qeNewSink(t)
	r := qeStart(t, mailqueue.Config{Sender: qePlainSender(t, sk.addr, nil), IdleClose: time.Hour})
	r.enqueue(t, "1", "2", "3", "4", "5", "6", "7", "8")
	qeWait(t, "8 messages", func() bool { return len(sk.Subjects()) == 8 })
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7", "8"}, sk.Subjects())
	assert.Equal(t, int32(1), sk.conns.Load(), "one connection reused for all messages")
	sk.mu.Lock()
	assert.Equal(t, string(qeMessage("1")), string(sk.raw[0]), "received bytes are the enqueued bytes")
	sk.mu.Unlock()
}

// The case: 535 5.7.139 with 5 queued messages pauses the queue,
// keeps all 5, raises an alarm; after a configuration change all 5 go out
// in order.
func TestE2EAuthDisabledPausesThenResumesInOrder(t *testing.T) {
	sk := qeNewSink(t)
	sk.setMailErr(&smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139},
		Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."})
	alarms := make(chan mailqueue.Alarm, 10)
	sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer sp.Close()
	r := qeStart(t, mailqueue.Config{Store: sp, Sender: qePlainSender(t, sk.addr, nil),
		OnAlarm: func(a mailqueue.Alarm) { alarms <- a }})
	r.enqueue(t, "1", "2", "3", "4", "5")
	a := <-alarms
	assert.Equal(t, mailqueue.AlarmConfig, a.Kind)
	assert.Equal(t, mailqueue.ClassConfig, mailqueue.ClassOf(a.Err))
	list, err := sp.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 5, "all five kept")
	assert.Equal(t, mailqueue.StatusPaused, r.q.Stats().Status)

	sk.setMailErr(nil)
	r.q.SetSender(qePlainSender(t, sk.addr, nil))
	qeWait(t, "all five", func() bool { return len(sk.Subjects()) == 5 })
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, sk.Subjects())
}

// A server that drops the kept connection (421 while idle) costs nothing:
// the next qeMessage reconnects transparently.
func TestE2EReconnectAfterServerDropsIdleConnection(t *testing.T) {
	sk := qeNewSink(t)
	r := qeStart(t, mailqueue.Config{Sender: qePlainSender(t, sk.addr, nil), IdleClose: time.Hour})
	r.enqueue(t, "1")
	qeWait(t, "first", func() bool { return len(sk.Subjects()) == 1 })
	// Closing the server's side of every connection: go-smtp sends 421.
	sk.srv.ErrorLog = qeNopLogger{}
	require.NoError(t, qeRestart(sk))
	r.enqueue(t, "2", "3")
	qeWait(t, "after the drop", func() bool { return len(sk.Subjects()) == 3 })
	assert.Equal(t, []string{"1", "2", "3"}, sk.Subjects())
	qeWait(t, "acknowledged", func() bool { return r.q.Stats().Sent == 3 })
	assert.Equal(t, uint64(0), r.q.Stats().Retries, "a dropped idle connection is not a failure")
}

// qeRestart restarts the qeSink on the same address, which closes
// every open session with a 421 reply.
func qeRestart(sk *qeSink) error {
	if err := sk.srv.Close(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", sk.addr)
	if err != nil {
		return err
	}
	srv := smtp.NewServer(sk.srv.Backend)
	srv.Domain = "qeSink.test"
	srv.ErrorLog = qeNopLogger{}
	sk.srv = srv
	go func() { _ = srv.Serve(l) }()
	return nil
}

// A server that accepts TCP and never greets is "transport down": the
// qeMessage is kept, not aged, and delivered once a server answers.
func TestE2ESilentServerThenRecovery(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var silent sync.WaitGroup
	var held []net.Conn
	var heldMu sync.Mutex
	silent.Add(1)
	go func() {
		defer silent.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c)
			heldMu.Unlock()
		}
	}()
	addr := l.Addr().String()
	sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer sp.Close()
	r := qeStart(t, mailqueue.Config{Store: sp, Sender: qePlainSender(t, addr, nil), ProbeInterval: 50 * time.Millisecond})
	r.enqueue(t, "1", "2")
	qeWait(t, "transport down", func() bool { return r.q.Stats().Status == mailqueue.StatusDown })
	list, err := sp.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, 0, list[0].Attempts)
	assert.Contains(t, list[0].LastError, "greeting")

	// The server comes up on the same address.
	require.NoError(t, l.Close())
	silent.Wait()
	heldMu.Lock()
	for _, c := range held {
		_ = c.Close()
	}
	heldMu.Unlock()
	sk := &qeSink{}
	sk.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &qeSession{s: sk}, nil }))
	sk.srv.ErrorLog = qeNopLogger{}
	l2, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	go func() { _ = sk.srv.Serve(l2) }()
	defer sk.srv.Close()
	qeWait(t, "delivery after recovery", func() bool { return len(sk.Subjects()) == 2 })
	assert.Equal(t, []string{"1", "2"}, sk.Subjects())
}

// A permanent refusal sends the qeMessage to failed/ with the server's words.
func TestE2EPermanentRefusal(t *testing.T) {
	sk := qeNewSink(t)
	sk.setMailErr(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"})
	failed := make(chan error, 1)
	r := qeStart(t, mailqueue.Config{Sender: qePlainSender(t, sk.addr, nil),
		OnFailed: func(_ mailqueue.Meta, err error) { failed <- err }})
	r.enqueue(t, "x")
	err := <-failed
	assert.Equal(t, mailqueue.ClassPermanent, mailqueue.ClassOf(err))
	assert.Contains(t, err.Error(), "relaying denied")
}

// Config, Queue, Stats and Alarm never print the sender's password, in any
// format, even when the Config holds a Sender with credentials.
func TestNoSecretInOutput(t *testing.T) {
	const pw = "hunter2-very-secret"
	snd := qePlainSender(t, "127.0.0.1:2525", func(c *smtpsend.Config) {
		c.Security = smtpsend.SecurityStartTLS
		c.Username = "u"
		c.Password = smtpsend.NewSecret(pw)
	})
	sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer sp.Close()
	cfg := mailqueue.Config{Store: sp, Sender: snd}
	q, err := mailqueue.New(cfg)
	require.NoError(t, err)
	st := q.Stats()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for _, v := range []any{cfg, q, st, mailqueue.Alarm{Kind: mailqueue.AlarmConfig, Err: errors.New("535")}} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.NotContains(t, fmt.Sprintf(f, v), pw, f)
		}
		log.Info("x", "v", v)
		if b, err := json.Marshal(v); err == nil {
			assert.NotContains(t, string(b), pw)
		}
	}
	assert.NotContains(t, buf.String(), pw)
}

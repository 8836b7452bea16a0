package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sinkMsg struct {
	from string
	to   []string
	data string
}

type cliSink struct {
	addr    string
	mu      sync.Mutex
	msgs    []sinkMsg
	mailErr error
}

type cliSession struct {
	s    *cliSink
	from string
	to   []string
}

func (c *cliSession) Reset()        { c.from, c.to = "", nil }
func (c *cliSession) Logout() error { return nil }
func (c *cliSession) Mail(from string, _ *smtp.MailOptions) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.from = from
	return c.s.mailErr
}
func (c *cliSession) Rcpt(to string, _ *smtp.RcptOptions) error { c.to = append(c.to, to); return nil }
func (c *cliSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	c.s.msgs = append(c.s.msgs, sinkMsg{from: c.from, to: c.to, data: string(b)})
	c.s.mu.Unlock()
	return nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}

func newCLISink(t *testing.T) *cliSink {
	s := &cliSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &cliSession{s: s}, nil }))
	srv.ErrorLog = quiet{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type result struct {
	code   int
	stdout string
	stderr string
}

func mailq(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func status(t *testing.T, dir string) statusReport {
	t.Helper()
	r := mailq(t, "", nil, "-spool", dir, "status")
	require.Equal(t, 0, r.code, r.stderr)
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	return rep
}

const eml = "From: Zentrale <vm@example.com>\nTo: bob@example.com\nCc: carol@example.com\nBcc: dave@example.com\nSubject: voicemail\n\nhello\n.hidden\n"

func TestEnqueueStatusDeliver(t *testing.T) {
	sink := newCLISink(t)
	dir := filepath.Join(t.TempDir(), "spool")
	file := filepath.Join(t.TempDir(), "m.eml")
	require.NoError(t, os.WriteFile(file, []byte(eml), 0o600))

	r1 := mailq(t, "", nil, "-spool", dir, "enqueue", file)
	require.Equal(t, 0, r1.code, r1.stderr)
	id1 := strings.TrimSpace(r1.stdout)
	assert.Regexp(t, `^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{8}$`, id1, "prints only the ID")

	r2 := mailq(t, eml, nil, "-spool", dir, "enqueue", "-from", "fax@example.com", "-to", "x@example.com, y@example.com", "-")
	require.Equal(t, 0, r2.code, r2.stderr)
	id2 := strings.TrimSpace(r2.stdout)
	r3 := mailq(t, eml, nil, "-spool", dir, "enqueue", "-", "-to", "z@example.com")
	require.Equal(t, 0, r3.code, r3.stderr)

	rep := status(t, dir)
	assert.Equal(t, statusCounts{Queued: 3, Total: 3}, rep.Counts)
	require.Len(t, rep.Messages, 3)
	assert.Equal(t, id1, rep.Messages[0].ID)
	assert.Equal(t, "vm@example.com", rep.Messages[0].Envelope.From)
	assert.Equal(t, []string{"bob@example.com", "carol@example.com", "dave@example.com"}, rep.Messages[0].Envelope.To)
	assert.Equal(t, id2, rep.Messages[1].ID)
	assert.Equal(t, "fax@example.com", rep.Messages[1].Envelope.From)
	assert.Equal(t, []string{"x@example.com", "y@example.com"}, rep.Messages[1].Envelope.To)
	assert.Equal(t, "vm@example.com", rep.Messages[2].Envelope.From, "-to alone keeps From from the header")

	rd := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-security", "none", "-until-empty", "-retry", "1s")
	require.Equal(t, 0, rd.code, rd.stderr)
	assert.Equal(t, "delivered "+id1+"\ndelivered "+id2+"\ndelivered "+rep.Messages[2].ID+"\n", rd.stdout)
	sink.mu.Lock()
	require.Len(t, sink.msgs, 3)
	m := sink.msgs[0]
	sink.mu.Unlock()
	assert.Equal(t, "vm@example.com", m.from)
	assert.NotContains(t, m.data, "Bcc", "Bcc is stripped before sending")
	assert.NotContains(t, m.data, "dave@")
	assert.Contains(t, m.data, "\r\n.hidden\r\n", "dot lines round-trip, CRLF everywhere")
	assert.Contains(t, m.data, "Message-ID: <")
	assert.NotContains(t, strings.ReplaceAll(m.data, "\r\n", ""), "\n", "no bare LF")

	rep = status(t, dir)
	assert.Equal(t, statusCounts{}, rep.Counts)
	assert.Empty(t, rep.Messages)
}

func TestDeliverPermanentFailureAndConfigPause(t *testing.T) {
	sink := newCLISink(t)
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)

	sink.mailErr = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender rejected"}
	r := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-security", "none", "-until-empty")
	assert.Equal(t, 1, r.code, "a dead-lettered message makes the run fail")
	assert.Regexp(t, `^failed \S+: .*sender rejected`, r.stdout)
	rep := status(t, dir)
	assert.Equal(t, statusCounts{Failed: 1, Total: 1}, rep.Counts)
	assert.Contains(t, rep.Messages[0].Reason, "5.7.1")

	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	sink.mu.Lock()
	sink.mailErr = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."}
	sink.mu.Unlock()
	r = mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-security", "none", "-until-empty")
	assert.Equal(t, 3, r.code, r.stderr)
	assert.Contains(t, r.stderr, "configuration error")
	rep = status(t, dir)
	assert.Equal(t, statusCounts{Queued: 2, Failed: 1, Total: 3}, rep.Counts, "messages kept while paused")
	assert.Equal(t, 0, rep.Messages[1].Attempts)
}

func TestDeliverWaitsForServer(t *testing.T) {
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	done := make(chan result, 1)
	stderr := &watchWriter{want: "connection refused", hit: make(chan struct{})}
	go func() {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code := run(ctx, []string{"-spool", dir, "deliver", "-smtp", addr, "-security", "none", "-until-empty", "-retry", "50ms"},
			strings.NewReader(""), &out, stderr, func(string) string { return "" })
		done <- result{code, out.String(), stderr.String()}
	}()
	// The server comes up on that address once a delivery attempt has
	// been refused (not after a fixed time): the probe then finds it.
	select {
	case <-stderr.hit:
	case r := <-done:
		t.Fatalf("deliver ended before the server came up: %d %s", r.code, r.stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("no refused attempt reported in a minute")
	}
	s := &cliSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &cliSession{s: s}, nil }))
	srv.ErrorLog = quiet{}
	l2, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	go func() { _ = srv.Serve(l2) }()
	defer srv.Close()
	r := <-done
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "connection refused")
	assert.Len(t, s.msgs, 1)
}

// watchWriter is a goroutine-safe buffer that closes hit once what was
// written contains want.
type watchWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	hit  chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.hit) })
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestDeliverPickupFolder(t *testing.T) {
	sink := newCLISink(t)
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, "", nil, "-spool", dir, "status").code)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pickup"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pickup", "a.eml"),
		[]byte("X-Sender: fax@example.com\r\nX-Receiver: bob@example.com\r\nSubject: fax\r\n\r\npages\r\n"), 0o600))
	r := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-security", "none", "-until-empty")
	require.Equal(t, 0, r.code, r.stderr)
	require.Len(t, sink.msgs, 1)
	assert.Equal(t, "fax@example.com", sink.msgs[0].from)
	assert.Equal(t, []string{"bob@example.com"}, sink.msgs[0].to)
	assert.NotContains(t, sink.msgs[0].data, "X-Receiver")
}

func TestDeliverO365Graph(t *testing.T) {
	var got []byte
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/tenant.example/oauth2/v2.0/token":
			require.NoError(t, r.ParseForm())
			if r.PostForm.Get("client_secret") != "s3cret" || r.PostForm.Get("client_id") != "app-id" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}`))
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/users/fax@tenant.example/sendMail":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			b, _ := io.ReadAll(r.Body)
			dec, err := base64.StdEncoding.DecodeString(string(b))
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			got = dec
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-from", "fax@tenant.example", "-").code)
	r := mailq(t, "", map[string]string{"SECRET": "s3cret"}, "-spool", dir, "deliver", "-o365", "graph",
		"-tenant", "tenant.example", "-client-id", "app-id", "-secret-env", "SECRET", "-sender", "fax@tenant.example",
		"-auth-url", srv.URL, "-graph-url", srv.URL, "-until-empty")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "s3cret")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, string(got), "Subject: voicemail\r\n")
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no spool", []string{"status"}, "-spool DIR is required"},
		{"no command", []string{"-spool", dir}, "missing command"},
		{"unknown command", []string{"-spool", dir, "flush"}, "unknown command"},
		{"enqueue without file", []string{"-spool", dir, "enqueue"}, "exactly one FILE"},
		{"deliver without server", []string{"-spool", dir, "deliver"}, "-smtp HOST:PORT or -o365"},
		{"both senders", []string{"-spool", dir, "deliver", "-smtp", "h:25", "-o365", "graph"}, "exclude each other"},
		{"bad security", []string{"-spool", dir, "deliver", "-smtp", "h:25", "-security", "ssl3"}, "-security must be"},
		{"bad port", []string{"-spool", dir, "deliver", "-smtp", "h:99999"}, "port must be 1-65535"},
		{"unset password", []string{"-spool", dir, "deliver", "-smtp", "h:587", "-user", "u", "-password-env", "NOPE"}, "NOPE is empty or unset"},
		{"bad retry", []string{"-spool", dir, "deliver", "-smtp", "h:25", "-retry", "0s"}, "-retry must be positive"},
		{"bad o365 mode", []string{"-spool", dir, "deliver", "-o365", "imap", "-secret-env", "X"}, "-o365 must be graph, smtp or ews"},
		{"bad proxy", []string{"-spool", dir, "deliver", "-smtp", "h:25", "-proxy", "ftp://x"}, "-proxy"},
		{"status args", []string{"-spool", dir, "status", "x"}, "no arguments"},
		{"credentials in clear", []string{"-spool", dir, "deliver", "-smtp", "h:25", "-security", "none", "-user", "u", "-password-env", "X"}, "credentials in clear"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mailq(t, "", map[string]string{"X": "v"}, tc.args...)
			assert.Equal(t, 2, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, r.stdout)
		})
	}
	r := mailq(t, "not a message", nil, "-spool", dir, "enqueue", "-")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "malformed header line")
	// A -ca file that cannot be read is an error, not a usage mistake.
	r = mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", "h:25", "-ca", filepath.Join(dir, "missing.pem"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "ca_file")
}

func TestEnqueueErrorNamesSource(t *testing.T) {
	dir := t.TempDir()
	r := mailq(t, "not a message\n", nil, "-spool", dir, "enqueue", "-")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "mailq enqueue: mailqueue: stdin: malformed header line \"not a message\"\n", r.stderr)
	assert.NotContains(t, r.stderr, "pickup")

	file := filepath.Join(t.TempDir(), "bad.eml")
	require.NoError(t, os.WriteFile(file, []byte("To: bob@example.com\n\nno sender\n"), 0o600))
	r = mailq(t, "", nil, "-spool", dir, "enqueue", file)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "mailq enqueue: mailqueue: "+file+": no sender (X-Sender or From)\n", r.stderr)

	r = mailq(t, "", nil, "-spool", dir, "enqueue", filepath.Join(dir, "missing.eml"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, filepath.Join(dir, "missing.eml"))
	assert.Empty(t, status(t, dir).Messages, "nothing queued")
}

func TestDeliverTimeoutWhileServerUnreachable(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens: connection refused

	// -retry 1h: without -timeout this run would never end.
	r := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", addr, "-security", "none",
		"-until-empty", "-retry", "1h", "-timeout", "2s")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Regexp(t, `(?m)^mailq deliver: timeout after 2s with 2 messages still queued \(kept in the spool\); last error: .*connection refused`, r.stderr)
	rep := status(t, dir)
	assert.Equal(t, statusCounts{Queued: 2, Total: 2}, rep.Counts, "messages kept")
	for _, m := range rep.Messages {
		assert.Equal(t, 0, m.Attempts, "transport failures do not age messages")
	}

	// The next run, with the server up, delivers them within its limit.
	s := &cliSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &cliSession{s: s}, nil }))
	srv.ErrorLog = quiet{}
	l2, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	go func() { _ = srv.Serve(l2) }()
	defer srv.Close()
	r = mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", addr, "-security", "none", "-until-empty", "-timeout", "1m")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "delivered "))
	assert.Equal(t, statusCounts{}, status(t, dir).Counts)
}

func TestDeliverTimeoutWithoutUntilEmptyEndsCleanly(t *testing.T) {
	sink := newCLISink(t)
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	// Without -until-empty the run lasts until the limit; nothing is left
	// then, so the limit is a normal end.
	r := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-security", "none", "-timeout", "500ms")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^delivered \S+\n$`, r.stdout)

	r = mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", sink.addr, "-timeout", "-1s")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "-timeout must be 0 (no limit) or positive")
}

func TestDeliverTimeoutCancelsHangingAttempt(t *testing.T) {
	dir := t.TempDir()
	require.Equal(t, 0, mailq(t, eml, nil, "-spool", dir, "enqueue", "-").code)
	// A server that accepts TCP and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	r := mailq(t, "", nil, "-spool", dir, "deliver", "-smtp", l.Addr().String(), "-security", "none",
		"-until-empty", "-timeout", "500ms")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "mailq deliver: timeout after 500ms with 1 message still queued (kept in the spool); ")
	rep := status(t, dir)
	assert.Equal(t, statusCounts{Queued: 1, Total: 1}, rep.Counts, "the cut-off attempt leaves the message queued")
	assert.Equal(t, 0, rep.Messages[0].Attempts)
	assert.False(t, rep.Messages[0].PossibleDuplicate, "nothing was handed over")
}

package mailqueue_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

const benchDeliverN = 1000

// bench4K is a 4 KiB message.
func bench4K() []byte {
	var b bytes.Buffer
	b.WriteString("From: bench@example.com\r\nTo: rcpt@example.com\r\nSubject: bench\r\nMessage-ID: <bench@example.com>\r\n\r\n")
	for b.Len() < 4096-78 {
		b.WriteString(string(bytes.Repeat([]byte("x"), 76)) + "\r\n")
	}
	return b.Bytes()
}

// countingSink is a go-smtp server that counts accepted messages.
type countingSink struct {
	n    atomic.Int64
	addr string
}

type countingSession struct{ s *countingSink }

func (c countingSession) Reset()                               {}
func (c countingSession) Logout() error                        { return nil }
func (c countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (c countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (c countingSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	c.s.n.Add(1)
	return err
}

func newCountingSink(b *testing.B) *countingSink {
	s := &countingSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return countingSession{s}, nil }))
	srv.ErrorLog = qeNopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return s
}

// deliverFromSpool spools n messages (untimed), then times a Queue with an
// smtpsend.Sender delivering them to addr; it returns messages/s.
func deliverFromSpool(b *testing.B, addr string, n int, msg []byte, delivered func() int64) float64 {
	sp, err := mailqueue.OpenSpool(b.TempDir(), mailqueue.SpoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	for range n {
		if _, err := sp.Put(context.Background(), qeEnv, msg, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	snd, err := smtpsend.New(smtpsend.Config{Host: host, Port: p, Security: smtpsend.SecurityNone})
	if err != nil {
		b.Fatal(err)
	}
	q, err := mailqueue.New(mailqueue.Config{Store: sp, Sender: snd, PollInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	before := delivered()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- q.Run(context.Background()) }()
	for {
		if d, _ := sp.Depth(); d == 0 && delivered()-before >= int64(n) {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	_ = q.Close()
	<-done
	return float64(n) / elapsed.Seconds()
}

// deliverDirect is the in-run baseline: the same messages from memory over
// one go-smtp client connection, no spool, no queue.
func deliverDirect(b *testing.B, addr string, n int, msg []byte, delivered func() int64) float64 {
	c, err := smtp.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	before := delivered()
	start := time.Now()
	for range n {
		if err := c.SendMail(qeEnv.From, qeEnv.To, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	for delivered()-before < int64(n) {
		time.Sleep(200 * time.Microsecond)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkDeliver1000 delivers 1,000 spooled 4 KiB messages to a local
// SMTP sink and reports messages/s against a direct go-smtp client (no
// spool) in the same run. With the Postfix integration environment
// (UCXKIT_POSTFIX_PLAIN_SMTP, UCXKIT_POSTFIX_SINK, UCXKIT_POSTFIX_SINK_DIR,
// set by .ci/integration/postfix.sh with UCXKIT_KEEP=1) it delivers to
// Postfix's own relay target and also measures how fast Postfix relays
// 1,000 queued messages to it (relay held with defer_transports while they
// are submitted, then flushed).
func BenchmarkDeliver1000(b *testing.B) {
	msg := bench4K()
	for range b.N {
		addr, delivered := "", func() int64 { return 0 }
		sinkDir := os.Getenv("UCXKIT_POSTFIX_SINK_DIR")
		if pa := os.Getenv("UCXKIT_POSTFIX_SINK"); pa != "" && sinkDir != "" {
			addr = pa
			delivered = func() int64 { return countFiles(sinkDir) }
		} else {
			s := newCountingSink(b)
			addr, delivered = s.addr, s.n.Load
		}
		direct := deliverDirect(b, addr, benchDeliverN, msg, delivered)
		spool := deliverFromSpool(b, addr, benchDeliverN, msg, delivered)
		b.ReportMetric(spool, "spool-msg/s")
		b.ReportMetric(direct, "direct-msg/s")
		b.ReportMetric(spool/direct, "x-direct")
		if pf := postfixRelayRate(b, benchDeliverN, msg, sinkDir); pf > 0 {
			b.ReportMetric(pf, "postfix-relay-msg/s")
			b.ReportMetric(spool/pf, "x-postfix")
		}
	}
}

func countFiles(dir string) int64 {
	des, _ := os.ReadDir(dir)
	n := int64(0)
	for _, de := range des {
		if filepath.Ext(de.Name()) == ".eml" {
			n++
		}
	}
	return n
}

// postfixRelayRate measures Postfix relaying n queued messages to its sink:
// relay is deferred while the messages are submitted, then the queue is
// flushed and the time until the last one reaches the sink is measured.
// It returns 0 without the Postfix environment.
func postfixRelayRate(b *testing.B, n int, msg []byte, sinkDir string) float64 {
	addr := os.Getenv("UCXKIT_POSTFIX_PLAIN_SMTP")
	if addr == "" || sinkDir == "" {
		return 0
	}
	conf := filepath.Join(filepath.Dir(sinkDir), "etc")
	postconf := func(args ...string) {
		cmd := exec.Command("postconf", append([]string{"-c", conf, "-e"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("postconf: %v: %s", err, out)
		}
		if out, err := exec.Command("postfix", "-c", conf, "reload").CombinedOutput(); err != nil {
			b.Fatalf("postfix reload: %v: %s", err, out)
		}
	}
	postconf("defer_transports=smtp relay")
	defer postconf("defer_transports=")
	time.Sleep(time.Second) // let the reload settle
	// Counted before the submission: a message that Postfix relays
	// before the reload took effect still counts (in Postfix's favour).
	before := countFiles(sinkDir)
	c, err := smtp.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		if err := c.SendMail(qeEnv.From, qeEnv.To, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	_ = c.Quit()
	postconf("defer_transports=")
	start := time.Now()
	if out, err := exec.Command("postqueue", "-c", conf, "-f").CombinedOutput(); err != nil {
		b.Fatalf("postqueue -f: %v: %s", err, out)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for countFiles(sinkDir)-before < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("postfix relayed only %d of %d", countFiles(sinkDir)-before, n)
		}
		time.Sleep(time.Millisecond)
	}
	return float64(n) / time.Since(start).Seconds()
}

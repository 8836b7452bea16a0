package mailqueue_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

var tortureKills = flag.Int("torture.kills", 200, "SIGKILLs in TestCrashTorture (use more for a long run)")

// Environment of the child process of the crash torture.
const (
	envTortureChild = "UCXKIT_TORTURE_CHILD" // run index
	envTortureSpool = "UCXKIT_TORTURE_SPOOL"
	envTortureSink  = "UCXKIT_TORTURE_SINK"
	envTortureAcked = "UCXKIT_TORTURE_ACKED"
)

// tortureBody is the deterministic content of the message with this
// token, 200 B to 40 KiB, so a torn or mixed-up message is detected.
func tortureBody(token string) []byte {
	h := fnv.New32a()
	h.Write([]byte(token))
	size := 200 + int(h.Sum32()%(40<<10))
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: vm@example.com\r\nTo: bob@example.com\r\nSubject: %s\r\nMessage-ID: <%s@torture.test>\r\n\r\n", token, token)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %06d %s\r\n", token, i, strings.Repeat("x", 40))
	}
	return b.Bytes()
}

// TestCrashTortureChild is the producer and runner that the torture kills.
// It only runs as the torture's child process.
func TestCrashTortureChild(t *testing.T) {
	run := os.Getenv(envTortureChild)
	if run == "" {
		t.Skip("helper process of TestCrashTorture")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	sp, err := mailqueue.OpenSpool(os.Getenv(envTortureSpool), mailqueue.SpoolOptions{TmpMaxAge: time.Nanosecond, ScanInterval: -1})
	if err != nil {
		fail(err)
	}
	host, port, _ := net.SplitHostPort(os.Getenv(envTortureSink))
	p, _ := strconv.Atoi(port)
	snd, err := smtpsend.New(smtpsend.Config{Host: host, Port: p, Security: smtpsend.SecurityNone, LocalName: "run-" + run})
	if err != nil {
		fail(err)
	}
	q, err := mailqueue.New(mailqueue.Config{Store: sp, Sender: snd, PollInterval: time.Millisecond,
		Backoff: func(int, error) time.Duration { return time.Millisecond }})
	if err != nil {
		fail(err)
	}
	acked, err := os.OpenFile(os.Getenv(envTortureAcked), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fail(err)
	}
	go func() {
		if err := q.Run(context.Background()); err != nil {
			fail(err)
		}
	}()
	fmt.Println("ready")
	var wg sync.WaitGroup
	for pr := range 4 { // several producers: group commits of several messages
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				token := fmt.Sprintf("r%s-p%d-n%d", run, pr, n)
				if _, err := q.Enqueue(context.Background(), qeEnv, tortureBody(token)); err != nil {
					fail(err)
				}
				// Written only after Enqueue returned: the promise applies.
				if _, err := acked.WriteString(token + "\n"); err != nil {
					fail(err)
				}
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			}
		}()
	}
	time.Sleep(60 * time.Second) // the parent kills us long before
	os.Exit(4)
}

type delivery struct {
	token string
	run   string // EHLO name of the connection that delivered it
	ok    bool   // bytes equal the expected message
}

type tortureSink struct {
	mu         sync.Mutex
	deliveries []delivery
	seen       map[string]bool // tokens refused once with 451
	rejected   atomic.Int32
}

type tortureSession struct {
	s    *tortureSink
	conn *smtp.Conn
}

func (ss *tortureSession) Reset()                               {}
func (ss *tortureSession) Logout() error                        { return nil }
func (ss *tortureSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *tortureSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *tortureSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	token := ""
	if _, rest, ok := bytes.Cut(b, []byte("Subject: ")); ok {
		token, _, _ = strings.Cut(string(rest), "\r\n")
	}
	h := fnv.New32a()
	h.Write([]byte(token))
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	// One message in seven is deferred once, so that Release (metadata
	// rewrite) is also killed at random points.
	if h.Sum32()%7 == 0 && !ss.s.seen[token] {
		ss.s.seen[token] = true
		ss.s.rejected.Add(1)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again"}
	}
	ss.s.deliveries = append(ss.s.deliveries, delivery{token: token, run: ss.conn.Hostname(),
		ok: bytes.Equal(b, tortureBody(token))})
	return nil
}

// TestCrashTorture runs a producer and a runner in a child process, kills
// it with SIGKILL at random points at least 200 times (recovery included),
// drains the spool, and proves the guarantees: every message whose Enqueue
// returned was delivered (or is in failed/), no message is torn, and a
// message is delivered twice only if it was in flight when a run was
// killed.
func TestCrashTorture(t *testing.T) {
	if os.Getenv(envTortureChild) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("crash torture skipped in -short mode")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	work := t.TempDir()
	spoolDir := filepath.Join(work, "spool")
	ackedPath := filepath.Join(work, "acked.log")

	sk := &tortureSink{seen: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &tortureSession{s: sk, conn: c}, nil
	}))
	srv.ErrorLog = qeNopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	start := time.Now()
	for i := range *tortureKills {
		cmd := exec.Command(exe, "-test.run=^TestCrashTortureChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envTortureChild+"="+strconv.Itoa(i), envTortureSpool+"="+spoolDir,
			envTortureSink+"="+l.Addr().String(), envTortureAcked+"="+ackedPath)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		ready := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "ready" {
					close(ready)
					break
				}
			}
			_, _ = io.Copy(io.Discard, out)
		}()
		if i%5 == 0 {
			// Kill during start-up and recovery.
			time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
		} else {
			select {
			case <-ready:
			case <-time.After(20 * time.Second):
				t.Fatalf("run %d never got ready: %s", i, stderr.String())
			}
			time.Sleep(time.Duration(rand.IntN(40000)) * time.Microsecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err = cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %d", i)
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			t.Fatalf("run %d exited by itself (%v): %s", i, err, stderr.String())
		}
	}
	killTime := time.Since(start)

	// Drain: recover once more and deliver everything.
	sp, err := mailqueue.OpenSpool(spoolDir, mailqueue.SpoolOptions{TmpMaxAge: time.Nanosecond})
	require.NoError(t, err)
	defer sp.Close()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	snd, err := smtpsend.New(smtpsend.Config{Host: host, Port: p, Security: smtpsend.SecurityNone, LocalName: "drain"})
	require.NoError(t, err)
	q, err := mailqueue.New(mailqueue.Config{Store: sp, Sender: snd, PollInterval: time.Millisecond,
		Backoff: func(int, error) time.Duration { return time.Millisecond }})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- q.Run(context.Background()) }()
	qeWait(t, "drained spool", func() bool {
		n, _ := sp.Depth()
		return n == 0
	})
	require.NoError(t, q.Close())
	require.NoError(t, <-done)

	raw, err := os.ReadFile(ackedPath)
	require.NoError(t, err)
	acked := strings.Fields(string(raw))
	list, err := sp.List(context.Background())
	require.NoError(t, err)
	failed := map[string]bool{}
	for _, m := range list {
		failed[m.ID] = true
	}
	assert.Empty(t, list, "nothing should end in failed/ with an accepting server")

	sk.mu.Lock()
	defer sk.mu.Unlock()
	count := map[string]int{}
	lastOfRun := map[string]int{} // run -> index of its last delivery
	for i, d := range sk.deliveries {
		count[d.token]++
		lastOfRun[d.run] = i
		assert.True(t, d.ok, "message %s torn or altered", d.token)
	}
	lost := 0
	for _, tok := range acked {
		if count[tok] == 0 {
			lost++
			t.Errorf("message %s: Enqueue returned but it was never delivered", tok)
		}
	}
	dups := 0
	seenTok := map[string]int{}
	for i, d := range sk.deliveries {
		seenTok[d.token]++
		if seenTok[d.token] < count[d.token] {
			dups++
			// An earlier copy of a duplicated message must be the last
			// message its run delivered: it was in flight at the kill.
			assert.Equal(t, i, lastOfRun[d.run], "message %s duplicated but was not in flight when %s was killed", d.token, d.run)
			assert.NotEqual(t, "drain", d.run)
		}
	}
	assert.LessOrEqual(t, dups, *tortureKills)
	corrupt, _ := os.ReadDir(filepath.Join(spoolDir, "corrupt"))
	assert.Empty(t, corrupt, "no torn file was ever committed")
	t.Logf("%d kills in %s; %d messages acknowledged, %d deliveries, %d duplicates (in flight at a kill), %d deferred once, %d lost",
		*tortureKills, killTime.Round(time.Millisecond), len(acked), len(sk.deliveries), dups, sk.rejected.Load(), lost)
	require.GreaterOrEqual(t, len(acked), *tortureKills, "the producers made progress")
}

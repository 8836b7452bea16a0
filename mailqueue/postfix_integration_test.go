package mailqueue_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// TestIntegrationPostfixQueue runs the whole path against Debian's Postfix
// (started by .ci/integration/postfix.sh, which sets UCXKIT_POSTFIX_SMTP,
// UCXKIT_POSTFIX_CA, UCXKIT_POSTFIX_TLS_NAME and UCXKIT_POSTFIX_SINK_DIR):
// spool, queue, smtpsend with STARTTLS, Postfix relaying to a sink. A
// recipient Postfix refuses with 550 ends in failed/ with Postfix's words;
// one it defers with 450 stays queued with its attempt counted.
func TestIntegrationPostfixQueue(t *testing.T) {
	addr, ca, name, sinkDir := os.Getenv("UCXKIT_POSTFIX_SMTP"), os.Getenv("UCXKIT_POSTFIX_CA"),
		os.Getenv("UCXKIT_POSTFIX_TLS_NAME"), os.Getenv("UCXKIT_POSTFIX_SINK_DIR")
	if addr == "" || ca == "" || sinkDir == "" {
		t.Skip("set UCXKIT_POSTFIX_SMTP, UCXKIT_POSTFIX_CA, UCXKIT_POSTFIX_TLS_NAME and UCXKIT_POSTFIX_SINK_DIR (see .ci/integration/postfix.sh)")
	}
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, _ := strconv.Atoi(port)
	snd, err := smtpsend.New(smtpsend.Config{Host: host, Port: p, Security: smtpsend.SecurityStartTLS,
		CAFile: ca, TLSServerName: name})
	require.NoError(t, err)
	sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer sp.Close()
	failed := make(chan mailqueue.Meta, 1)
	r := qeStart(t, mailqueue.Config{Store: sp, Sender: snd, Backoff: func(int, error) time.Duration { return time.Hour },
		OnFailed: func(m mailqueue.Meta, _ error) { failed <- m }})

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	var want []string
	for i := range 5 {
		subj := "it-" + tag + "-" + strconv.Itoa(i)
		want = append(want, subj)
		_, err := r.q.Enqueue(context.Background(), qeEnv, qeMessage(subj))
		require.NoError(t, err)
	}
	rejID, err := r.q.Enqueue(context.Background(), mailqueue.Envelope{From: qeEnv.From, To: []string{"rejected@example.com"}}, qeMessage("rejected-"+tag))
	require.NoError(t, err)
	tmpID, err := r.q.Enqueue(context.Background(), mailqueue.Envelope{From: qeEnv.From, To: []string{"tempfail@example.com"}}, qeMessage("tempfail-"+tag))
	require.NoError(t, err)

	m := <-failed
	assert.Equal(t, rejID, m.ID)
	assert.Contains(t, m.Reason, "5.1.1")
	qeWait(t, "messages at Postfix's relay target", func() bool {
		found := 0
		des, _ := os.ReadDir(sinkDir)
		for _, de := range des {
			b, err := os.ReadFile(filepath.Join(sinkDir, de.Name()))
			if err != nil {
				continue
			}
			for _, w := range want {
				if bytes.Contains(b, []byte("Subject: "+w+"\r\n")) || bytes.Contains(b, []byte("Subject: "+w+"\n")) {
					found++
				}
			}
		}
		return found == len(want)
	})
	qeWait(t, "deferred message recorded", func() bool {
		list, err := sp.List(context.Background())
		if err != nil {
			return false
		}
		for _, m := range list {
			if m.ID == tmpID && m.Attempts == 1 && strings.Contains(m.LastError, "4.2.0") {
				return true
			}
		}
		return false
	})
	st := r.q.Stats()
	assert.GreaterOrEqual(t, st.Sent, uint64(5))
	assert.Equal(t, uint64(1), st.Failed)
}

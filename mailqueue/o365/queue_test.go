package o365

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// runQueue starts a real queue over a spool in t.TempDir() with sender and
// returns it with a stop function.
func runQueue(t *testing.T, sender mailqueue.Sender, cfg mailqueue.Config) (*mailqueue.Queue, func()) {
	t.Helper()
	sp, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { sp.Close() })
	cfg.Store, cfg.Sender = sp, sender
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	q, err := mailqueue.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	stop := func() {
		cancel()
		<-done
		q.Close()
	}
	t.Cleanup(stop)
	return q, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queueMsg(i int) []byte {
	return fmt.Appendf(nil, "From: fax@contoso.example\r\nTo: bob@example.com\r\nSubject: fax %d\r\n\r\nPage %d\r\n", i, i)
}

// All three modes deliver through the real queue and spool; with tokens
// living 4 s and messages spread over 12 s of (fake) time, the token
// endpoint is asked a few times, never per message, and no expired token
// reaches a service.
func TestQueueDeliversInEveryMode(t *testing.T) {
	for _, mode := range []Mode{ModeGraph, ModeSMTP, ModeEWS} {
		t.Run(string(mode), func(t *testing.T) {
			ms := newFakeMS(t, false)
			ms.with(func(f *fakeMS) { f.expiresIn = 4 })
			cfg := ms.config(mode)
			var exo *fakeEXO
			if mode == ModeSMTP {
				exo = newFakeEXO(t, ms)
				cfg = exo.config(mode)
				cfg.SMTPRateLimit = -1 // pacing is tested on its own
			}
			s, err := New(cfg)
			require.NoError(t, err)
			// Each delivery takes 250 ms of the shared clock: 48
			// messages span 12 s.
			paced := mailqueue.SenderFunc(func(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
				err := s.Send(ctx, env, msg)
				ms.clock.Advance(250 * time.Millisecond)
				return err
			})
			q, _ := runQueue(t, paced, mailqueue.Config{})
			t.Cleanup(func() { s.Close() })
			const n = 48
			for i := range n {
				_, err := q.Enqueue(context.Background(), mailqueue.Envelope{From: testSender, To: []string{"bob@example.com"}}, queueMsg(i))
				require.NoError(t, err)
			}
			waitFor(t, "all delivered", func() bool { return q.Stats().Sent == n })
			sn := ms.snap()
			var got [][]byte
			switch mode {
			case ModeGraph:
				got = sn.graphMsgs
			case ModeEWS:
				got = sn.ewsMsgs
			case ModeSMTP:
				_, fails, _, msgs := exo.snap()
				assert.Zero(t, fails, "no AUTH refused")
				got = msgs
			}
			require.Len(t, got, n)
			assert.Equal(t, string(queueMsg(0)), string(got[0]), "FIFO, exact bytes")
			assert.Zero(t, sn.expired, "expired token presented")
			assert.Zero(t, sn.wrongAud, "token of another resource presented")
			assert.GreaterOrEqual(t, sn.tokenCalls, 3)
			assert.LessOrEqual(t, sn.tokenCalls, 6, "tokens are cached, not fetched per message")
		})
	}
}

// Failure classes drive the queue: a too-large message is dead-lettered
// with the Graph reason while the next one is delivered; a 403 pauses the
// queue with the permission hint.
func TestQueueFailureClasses(t *testing.T) {
	t.Run("too large is dead-lettered, others flow", func(t *testing.T) {
		ms := newFakeMS(t, false)
		s, err := New(ms.config(ModeGraph))
		require.NoError(t, err)
		var mu sync.Mutex
		var failed []error
		q, _ := runQueue(t, s, mailqueue.Config{OnFailed: func(_ mailqueue.Meta, err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}})
		big := append(queueMsg(0), make([]byte, 3<<20+4096)...)
		for _, m := range [][]byte{big, queueMsg(1)} {
			_, err := q.Enqueue(context.Background(), testEnv, m)
			require.NoError(t, err)
		}
		waitFor(t, "one sent, one failed", func() bool { st := q.Stats(); return st.Sent == 1 && st.Failed == 1 })
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, failed, 1)
		assert.ErrorIs(t, failed[0], ErrTooLargeForGraph)
		assert.Equal(t, 1, ms.snap().graphCalls, "the big one never went out")
	})
	t.Run("403 pauses with a hint", func(t *testing.T) {
		ms := newFakeMS(t, false)
		ms.scriptGraph(cannedResponse{status: 403, body: graphErrorJSON("ErrorAccessDenied", "Access is denied. Check credentials and try again.")})
		s, err := New(ms.config(ModeGraph))
		require.NoError(t, err)
		alarms := make(chan mailqueue.Alarm, 4)
		q, _ := runQueue(t, s, mailqueue.Config{OnAlarm: func(a mailqueue.Alarm) { alarms <- a }})
		_, err = q.Enqueue(context.Background(), testEnv, queueMsg(0))
		require.NoError(t, err)
		select {
		case a := <-alarms:
			assert.Equal(t, mailqueue.AlarmConfig, a.Kind)
			assert.Contains(t, a.Hint, "Mail.Send")
			assert.NotContains(t, a.Err.Error(), testSecret)
		case <-time.After(20 * time.Second):
			t.Fatal("no alarm")
		}
		waitFor(t, "paused", func() bool { return q.Stats().Status == mailqueue.StatusPaused })
		assert.Zero(t, q.Stats().Failed, "message kept")
	})
}

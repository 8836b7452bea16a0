package mailqueue_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// With Config.Signer the queue signs once, at Enqueue: the stored bytes
// carry the DKIM-Signature and a retry sends exactly the same bytes.
func TestQueueSignsAtEnqueue(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := mailqueue.NewDKIMSigner(mailqueue.DKIMConfig{Domain: "example.com", Selector: "ucx", PrivateKey: key})
	require.NoError(t, err)
	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer spool.Close()

	var mu sync.Mutex
	var attempts [][]byte
	snd := mailqueue.SenderFunc(func(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, bytes.Clone(msg))
		if len(attempts) == 1 {
			return &mailqueue.DeliveryError{Class: mailqueue.ClassTemporary, Step: "rcpt", Code: 451, Err: errors.New("try later")}
		}
		return nil
	})
	delivered := make(chan struct{}, 1)
	q, err := mailqueue.New(mailqueue.Config{
		Store: spool, Sender: snd, Signer: signer, PollInterval: 10 * time.Millisecond,
		Backoff:     func(attempt int, err error) time.Duration { return time.Millisecond },
		OnDelivered: func(mailqueue.Meta) { delivered <- struct{}{} },
	})
	require.NoError(t, err)
	defer q.Close()
	raw := []byte("From: fax@example.com\r\nTo: bob@example.com\r\nSubject: Fax\r\nMessage-ID: <1@example.com>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n")
	_, err = q.Enqueue(context.Background(), mailqueue.Envelope{From: "fax@example.com", To: []string{"bob@example.com"}}, raw)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, attempts, 2)
	require.True(t, bytes.HasPrefix(attempts[0], []byte("DKIM-Signature:")), "signed before storing")
	require.Equal(t, attempts[0], attempts[1], "a retry sends the identical signed bytes")
	require.True(t, bytes.HasSuffix(attempts[0], raw))
}

func TestQueueRefusesSignerExpiringBeforeLifetime(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := mailqueue.NewDKIMSigner(mailqueue.DKIMConfig{Domain: "example.com", Selector: "ucx", PrivateKey: key,
		Expiration: 24 * time.Hour, MaxLifetime: 24 * time.Hour})
	require.NoError(t, err)
	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer spool.Close()
	_, err = mailqueue.New(mailqueue.Config{Store: spool, Signer: signer, MaxLifetime: 120 * time.Hour})
	require.ErrorContains(t, err, "signer: the DKIM expiration 24h0m0s is shorter than max_lifetime 120h0m0s")
}

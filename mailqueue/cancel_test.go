package mailqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

func TestRunReturnsOnCancelWhileTransportDown(t *testing.T) {
	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	snd := mailqueue.SenderFunc(func(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassTransport, Step: "dial", Err: errors.New("down")}
	})
	q, err := mailqueue.New(mailqueue.Config{Store: spool, Sender: snd})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Enqueue(context.Background(), mailqueue.Envelope{From: "a@b.c", To: []string{"d@e.f"}}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = q.Run(ctx); close(done) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/pgstore"
)

// A node runs a mailqueue.Queue over the shared store; every node of the
// cluster does the same. It needs a PostgreSQL server (UCXKIT_PG_DSN), so
// it is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	// A 30 s lease (renewed while an attempt runs): the messages of a node
	// that dies are delivered by the others 30 s later.
	store, err := pgstore.Connect(ctx, os.Getenv("UCXKIT_PG_DSN"), pgstore.Options{Lease: 30 * time.Second})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	sender := mailqueue.SenderFunc(func(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
		return nil // an smtpsend.Sender or o365 sender in a real host
	})
	q, err := mailqueue.New(mailqueue.Config{Store: store, Sender: sender, Owner: "node-a"})
	if err != nil {
		panic(err)
	}
	id, err := q.Enqueue(ctx, mailqueue.Envelope{From: "uc@example.com", To: []string{"ops@example.com"}},
		[]byte("Subject: voicemail\r\n\r\nYou have a new message.\r\n"))
	if err != nil {
		panic(err)
	}
	fmt.Println("queued", id != "")
	counts, _ := store.Counts(ctx)
	fmt.Println(counts[mailqueue.StateQueued], "waiting,", counts[mailqueue.StateFailed], "dead letters")
}

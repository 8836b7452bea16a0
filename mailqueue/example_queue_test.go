package mailqueue_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// A queue on the embedded spool, delivering through a Sender. Real
// applications use smtpsend.New or o365.New as the Sender.
func ExampleQueue() {
	dir, err := os.MkdirTemp("", "spool")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	spool, err := mailqueue.OpenSpool(dir, mailqueue.SpoolOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer spool.Close()

	send := mailqueue.SenderFunc(func(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
		subject, _, _ := bytes.Cut(msg[bytes.Index(msg, []byte("Subject: ")):], []byte("\r\n"))
		fmt.Printf("to %v: %s\n", env.To, subject)
		return nil
	})
	delivered := make(chan struct{}, 2)
	q, err := mailqueue.New(mailqueue.Config{
		Store:       spool,
		Sender:      send,
		OnDelivered: func(mailqueue.Meta) { delivered <- struct{}{} },
	})
	if err != nil {
		log.Fatal(err)
	}
	env := mailqueue.Envelope{From: "voicemail@example.com", To: []string{"bob@example.com"}}
	for i := 1; i <= 2; i++ {
		msg := fmt.Sprintf("From: voicemail@example.com\r\nTo: bob@example.com\r\nSubject: voicemail %d\r\n\r\nYou have a new message.\r\n", i)
		if _, err := q.Enqueue(context.Background(), env, []byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	go func() { _ = q.Run(context.Background()) }()
	<-delivered
	<-delivered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = q.Shutdown(ctx)
	fmt.Println("sent:", q.Stats().Sent)
	// Output:
	// to [bob@example.com]: Subject: voicemail 1
	// to [bob@example.com]: Subject: voicemail 2
	// sent: 2
}

// Without a Sender, outgoing mail is not configured and nothing is queued.
func ExampleQueue_Enqueue_notConfigured() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	spool, _ := mailqueue.OpenSpool(dir, mailqueue.SpoolOptions{})
	defer spool.Close()
	q, _ := mailqueue.New(mailqueue.Config{Store: spool})
	_, err := q.Enqueue(context.Background(), mailqueue.Envelope{To: []string{"bob@example.com"}}, []byte("Subject: x\r\n\r\n"))
	fmt.Println(err)
	// Output:
	// mailqueue: outgoing mail is not configured
}

// A file dropped into the pickup folder by another program.
func ExampleParsePickup() {
	raw := []byte("From: Fax <fax@example.com>\nTo: bob@example.com\nBcc: archive@example.com\nDate: Thu, 03 Dec 2026 10:00:00 +0000\nMessage-ID: <1@example.com>\nSubject: fax\n\n3 pages\n")
	env, msg, err := mailqueue.ParsePickup(raw, time.Now(), "host.example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(env.From, env.To)
	fmt.Printf("%q\n", msg)
	// Output:
	// fax@example.com [bob@example.com archive@example.com]
	// "From: Fax <fax@example.com>\r\nTo: bob@example.com\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\nSubject: fax\r\n\r\n3 pages\r\n"
}

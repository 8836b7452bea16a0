package mailqueue

import (
	"bytes"
	"os"
	"testing"

	"github.com/emersion/go-smtp"
)

// postfixSubmit returns an operation that submits one message to the
// Postfix at UCXKIT_POSTFIX_PLAIN_SMTP (or UCXKIT_POSTFIX_SMTP; host:port
// on loopback, no TLS) over a pool of p connections, one per producer.
// Postfix answers 250 only after its queue file is fsynced, so this is
// durable submission. It returns nil when neither variable is set.
func postfixSubmit(b *testing.B, p int, env Envelope, msg []byte) func(int64) error {
	addr := os.Getenv("UCXKIT_POSTFIX_PLAIN_SMTP")
	if addr == "" {
		addr = os.Getenv("UCXKIT_POSTFIX_SMTP")
	}
	if addr == "" {
		return nil
	}
	pool := make(chan *smtp.Client, p)
	for range p {
		c, err := smtp.Dial(addr)
		if err != nil {
			b.Fatalf("postfix at %s: %v", addr, err)
		}
		if err := c.Hello("bench.localhost"); err != nil {
			b.Fatalf("postfix EHLO: %v", err)
		}
		pool <- c
	}
	b.Cleanup(func() {
		for range p {
			_ = (<-pool).Quit()
		}
	})
	return func(int64) error {
		c := <-pool
		defer func() { pool <- c }()
		return c.SendMail(env.From, env.To, bytes.NewReader(msg))
	}
}

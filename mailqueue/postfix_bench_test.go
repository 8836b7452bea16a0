package mailqueue

import (
	"bytes"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// postfixRate submits total messages to the Postfix at UCXKIT_POSTFIX_SMTP
// (host:port, plain SMTP on loopback) over p connections, one per producer,
// and returns messages/s; Postfix answers 250 only after its queue file is
// fsynced, so this is durable submission. It returns 0 when the variable is
// unset.
func postfixRate(b *testing.B, p, total int, env Envelope, msg []byte) float64 {
	addr := os.Getenv("UCXKIT_POSTFIX_SMTP")
	if addr == "" {
		return 0
	}
	clients := make([]*smtp.Client, p)
	for i := range clients {
		c, err := smtp.Dial(addr)
		if err != nil {
			b.Fatalf("postfix at %s: %v", addr, err)
		}
		if err := c.Hello("bench.localhost"); err != nil {
			b.Fatalf("postfix EHLO: %v", err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			_ = c.Quit()
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if err := c.SendMail(env.From, env.To, bytes.NewReader(msg)); err != nil {
					b.Errorf("postfix submission: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds()
}

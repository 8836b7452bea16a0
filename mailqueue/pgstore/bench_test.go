package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ucxkit/ucxkit/internal/pgtest"
	"github.com/ucxkit/ucxkit/mailqueue"
)

// benchMessage is a 4 KiB message, the size of the spool benchmarks.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: bench@example.com\r\nTo: rcpt@example.com\r\nSubject: bench\r\n\r\n")
	line := bytes.Repeat([]byte("x"), 76)
	for b.Len() < 4096-78 {
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

var benchEnv = mailqueue.Envelope{From: "bench@example.com", To: []string{"rcpt@example.com"}}

// parallel runs total operations over p goroutines and returns ops/s.
func parallel(b *testing.B, p, total int, op func(worker int) (bool, error)) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				more, err := op(w)
				if err != nil {
					b.Error(err)
					return
				}
				if !more {
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds()
}

func benchTotal(b *testing.B) int { return max(b.N, 200) }

// BenchmarkEnqueue measures Put (the durable part of Queue.Enqueue) of the
// PostgreSQL store with 1 and 16 producers (one connection each, as
// producers on several nodes would have) against the file spool
// (mailqueue.OpenSpool) with the same producers, in the same run.
func BenchmarkEnqueue(b *testing.B) {
	msg := benchMessage()
	ctx := context.Background()
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("producers=%d", p), func(b *testing.B) {
			total := benchTotal(b)
			dsn, schema := testSchema(b)
			st, err := Open(ctx, pgtest.Pool(b, dsn, schema, int32(p)), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			sp, err := mailqueue.OpenSpool(b.TempDir(), mailqueue.SpoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			b.ResetTimer()
			pg := parallel(b, p, total, func(int) (bool, error) {
				_, err := st.Put(ctx, benchEnv, msg, time.Now())
				return true, err
			})
			spool := parallel(b, p, total, func(int) (bool, error) {
				_, err := sp.Put(ctx, benchEnv, msg, time.Now())
				return true, err
			})
			b.StopTimer()
			b.ReportMetric(pg, "pg-enqueue/s")
			b.ReportMetric(spool, "spool-enqueue/s")
			b.ReportMetric(pg/spool, "x-spool")
		})
	}
}

// claimAck claims one message and acks it; false when the store is empty.
func claimAck(ctx context.Context, s mailqueue.Store, owner string) (bool, error) {
	items, err := s.Claim(ctx, owner, time.Now(), time.Minute, 1)
	if err != nil || len(items) == 0 {
		return false, err
	}
	return true, s.Ack(ctx, items[0].Meta.ID)
}

// BenchmarkClaimAck measures Claim+Ack (one delivery's store work) with 1
// and 3 runners: for PostgreSQL each runner is a node with its own pool;
// the spool has one owner process, so its runners share it. Both stores
// are filled with the same messages first (not timed).
func BenchmarkClaimAck(b *testing.B) {
	msg := benchMessage()
	ctx := context.Background()
	for _, r := range []int{1, 3} {
		b.Run(fmt.Sprintf("runners=%d", r), func(b *testing.B) {
			total := benchTotal(b)
			dsn, schema := testSchema(b)
			var nodes []*Store
			for range r {
				st, err := Open(ctx, pgtest.Pool(b, dsn, schema, 2), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				nodes = append(nodes, st)
			}
			sp, err := mailqueue.OpenSpool(b.TempDir(), mailqueue.SpoolOptions{ScanInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			fill := pgtest.Pool(b, dsn, schema, 8)
			filler, err := Open(ctx, fill, Options{})
			if err != nil {
				b.Fatal(err)
			}
			parallel(b, 8, total, func(int) (bool, error) {
				_, err := filler.Put(ctx, benchEnv, msg, time.Now())
				return true, err
			})
			parallel(b, 8, total, func(int) (bool, error) {
				_, err := sp.Put(ctx, benchEnv, msg, time.Now())
				return true, err
			})
			b.ResetTimer()
			pg := parallel(b, r, total, func(w int) (bool, error) {
				return claimAck(ctx, nodes[w], fmt.Sprintf("node-%d", w))
			})
			spool := parallel(b, r, total, func(w int) (bool, error) {
				return claimAck(ctx, sp, fmt.Sprintf("runner-%d", w))
			})
			b.StopTimer()
			for name, s := range map[string]mailqueue.Store{"pg": filler, "spool": sp} {
				left, err := s.List(ctx)
				if err != nil || len(left) != 0 {
					b.Fatalf("%s: %d messages left after the run (%v)", name, len(left), err)
				}
			}
			b.ReportMetric(pg, "pg-claim+ack/s")
			b.ReportMetric(spool, "spool-claim+ack/s")
			b.ReportMetric(pg/spool, "x-spool")
		})
	}
}

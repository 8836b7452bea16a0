package mailqueue

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchMessage is a 4 KiB message, the size the Postfix figure uses.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: bench@example.com\r\nTo: rcpt@example.com\r\nSubject: bench\r\nMessage-ID: <bench@example.com>\r\n\r\n")
	line := bytes.Repeat([]byte("x"), 76)
	for b.Len() < 4096-78 {
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// naiveDurableWrite is the baseline the issue names: write, fsync, rename,
// folder fsync, one message at a time per caller, no batching.
func naiveDurableWrite(dir string, n int64, data []byte) error {
	tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d", n))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "queue", fmt.Sprintf("%d", n))); err != nil {
		return err
	}
	return syncDir(filepath.Join(dir, "queue"))
}

// runProducers runs total operations over p goroutines and returns the
// time taken.
func runProducers(b *testing.B, p, total int, op func(n int64) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(total) {
					return
				}
				if err := op(n); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// interleaved measures contenders in alternating chunks, so that the
// disk's varying load (other processes share it) hits all alike, and
// returns their rates in operations/s. Nil contenders are skipped (rate 0).
func interleaved(b *testing.B, p, total int, ops ...func(n int64) error) []float64 {
	const chunks = 10
	per := max(total/chunks, p)
	spent := make([]time.Duration, len(ops))
	counters := make([]atomic.Int64, len(ops))
	for range chunks {
		for i, op := range ops {
			if op == nil {
				continue
			}
			spent[i] += runProducers(b, p, per, func(int64) error { return op(counters[i].Add(1)) })
		}
	}
	rates := make([]float64, len(ops))
	for i := range ops {
		if spent[i] > 0 {
			rates[i] = float64(per*chunks) / spent[i].Seconds()
		}
	}
	return rates
}

// BenchmarkEnqueueDurable measures Spool.Put (the durable part of
// Queue.Enqueue) with 1 and 16 producers against the naive fsync loop with
// the same number of producers, in the same run, and reports both rates,
// their ratio and the messages per group commit (msgs/batch). With UCXKIT_POSTFIX_SMTP set it also measures submission to
// that Postfix over one SMTP connection per producer (see
// postfix_bench_test.go). The contenders run in alternating chunks.
func BenchmarkEnqueueDurable(b *testing.B) {
	msg := benchMessage()
	env := Envelope{From: "bench@example.com", To: []string{"rcpt@example.com"}}
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("producers=%d", p), func(b *testing.B) {
			total := b.N
			if total < 200 {
				total = 200
			}
			naiveDir := b.TempDir()
			for _, d := range []string{"tmp", "queue"} {
				if err := os.Mkdir(filepath.Join(naiveDir, d), 0o700); err != nil {
					b.Fatal(err)
				}
			}
			sp, err := OpenSpool(b.TempDir(), SpoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			ctx := context.Background()
			b.ResetTimer()
			rates := interleaved(b, p, total,
				func(n int64) error { return naiveDurableWrite(naiveDir, n, msg) },
				func(int64) error {
					_, err := sp.Put(ctx, env, msg, time.Now())
					return err
				},
				postfixSubmit(b, p, env, msg))
			b.StopTimer()
			naive, spool, pf := rates[0], rates[1], rates[2]
			sp.commit.mu.Lock()
			groups := sp.commit.groups
			sp.commit.mu.Unlock()
			b.ReportMetric(float64(max(total/10, p)*10)/float64(max(groups, 1)), "msgs/batch")
			b.ReportMetric(spool, "enqueue/s")
			b.ReportMetric(naive, "naive/s")
			b.ReportMetric(spool/naive, "x-naive")
			if pf > 0 {
				b.ReportMetric(pf, "postfix/s")
				b.ReportMetric(spool/pf, "x-postfix")
			}
		})
	}
}

package smtpsend_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// evilServer runs handle on every connection of an implicit-TLS listener
// (the configured port is 465, redirected to it) and returns a config for
// it. handle gets the TLS connection and a reader on it; it returns when
// the client goes away.
func evilServer(t *testing.T, handle func(c net.Conn, r *bufio.Reader)) smtpsend.Config {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{certs(t).cert}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	cfg := baseConfig(t, 465)
	cfg.Dialer = redirectDialer{to: ln.Addr().String()}
	return cfg
}

// ehlo answers the greeting and EHLO with the given extension lines.
func ehlo(c net.Conn, r *bufio.Reader, exts ...string) bool {
	if _, err := io.WriteString(c, "220 evil ESMTP\r\n"); err != nil {
		return false
	}
	if _, err := r.ReadString('\n'); err != nil {
		return false
	}
	reply := "250-evil\r\n"
	for i, e := range exts {
		sep := "-"
		if i == len(exts)-1 {
			sep = " "
		}
		reply += "250" + sep + e + "\r\n"
	}
	_, err := io.WriteString(c, reply)
	return err == nil
}

// TestAuthChallengeLoopEnds: a server that answers every AUTH response with
// another 334 challenge must not keep the client answering forever (each
// answer resets the command timeout); the exchange is cut after a few
// rounds and reported as a configuration problem.
func TestAuthChallengeLoopEnds(t *testing.T) {
	for _, tc := range []struct {
		name, mech, challenge string
	}{
		{"LOGIN username prompt forever", smtpsend.AuthLogin, base64.StdEncoding.EncodeToString([]byte("Username:"))},
		{"LOGIN password prompt forever", smtpsend.AuthLogin, base64.StdEncoding.EncodeToString([]byte("Password:"))},
		{"XOAUTH2 error challenge forever", smtpsend.AuthXOAUTH2, base64.StdEncoding.EncodeToString([]byte(`{"status":"401"}`))},
		{"PLAIN challenge forever", smtpsend.AuthPlain, ""},
		{"CRAM-MD5 challenge forever", smtpsend.AuthCRAMMD5, base64.StdEncoding.EncodeToString([]byte("<1.2@evil>"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rounds atomic.Int32
			cfg := evilServer(t, func(c net.Conn, r *bufio.Reader) {
				if !ehlo(c, r, "AUTH "+tc.mech) {
					return
				}
				for {
					line, err := r.ReadString('\n')
					if err != nil || strings.HasPrefix(line, "QUIT") || line == "*\r\n" {
						return
					}
					if rounds.Add(1) > 10000 {
						return
					}
					if _, err := io.WriteString(c, "334 "+tc.challenge+"\r\n"); err != nil {
						return
					}
				}
			})
			cfg.Username, cfg.Auth = "u@example.com", tc.mech
			if tc.mech == smtpsend.AuthXOAUTH2 {
				cfg.Tokens = smtpsend.TokenFunc(func(context.Context, bool) (string, error) { return "tok", nil })
			} else {
				cfg.Password = smtpsend.NewSecret("pw")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := newSender(t, cfg).Send(ctx, env(), []byte(testMsg))
			de := deliveryError(t, err)
			require.NoError(t, ctx.Err(), "the loop ran until the test's deadline")
			require.Equal(t, smtpsend.StepAuth, de.Step)
			require.Equal(t, mailqueue.ClassConfig, de.Class, "%v", err)
			require.LessOrEqual(t, rounds.Load(), int32(12), "AUTH rounds")
		})
	}
}

// TestGarbageReplies: endless multi-line replies, 10 MB lines and invalid
// UTF-8 fail the attempt quickly with a bounded amount of reading, never
// hang until the (long) command timeout.
func TestGarbageReplies(t *testing.T) {
	endless := func(prefix string) func(c net.Conn) {
		return func(c net.Conn) {
			line := []byte(prefix + strings.Repeat("x", 1000) + "\r\n")
			buf := make([]byte, 0, 64*len(line))
			for i := 0; i < 64; i++ {
				buf = append(buf, line...)
			}
			for i := 0; i < 1<<16; i++ { // at most ~4 GB, cut by the client long before
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}
	}
	huge := func(prefix string) func(c net.Conn) {
		return func(c net.Conn) {
			_, _ = io.WriteString(c, prefix)
			chunk := []byte(strings.Repeat("y", 64<<10))
			for i := 0; i < 160; i++ { // 10 MB
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(c, "\r\n")
		}
	}
	for _, tc := range []struct {
		name string
		// after the greeting and EHLO exchange when ehloFirst
		ehloFirst bool
		send      func(c net.Conn)
		// steps the failure may be reported at: go-smtp's line limit
		// hands the start of an over-long line over as a complete reply
		// (bufio.Reader.ReadLine drops the error of a partial line), so
		// the failure surfaces at the next command.
		steps []string
	}{
		{"endless multi-line greeting", false, endless("220-"), []string{smtpsend.StepGreeting}},
		{"10 MB greeting line", false, huge("220 "), []string{smtpsend.StepGreeting}},
		{"endless multi-line EHLO reply", false, func(c net.Conn) {
			_, _ = io.WriteString(c, "220 evil\r\n")
			endless("250-")(c)
		}, []string{smtpsend.StepEHLO}},
		{"10 MB EHLO line", false, func(c net.Conn) {
			_, _ = io.WriteString(c, "220 evil\r\n")
			huge("250 ")(c)
		}, []string{smtpsend.StepEHLO, smtpsend.StepMail}},
		{"endless multi-line MAIL reply", true, endless("250-"), []string{smtpsend.StepMail}},
		{"10 MB MAIL reply", true, huge("250 "), []string{smtpsend.StepMail, smtpsend.StepRcpt}},
		{"mixed codes in one reply", true, func(c net.Conn) { _, _ = io.WriteString(c, "250-ok\r\n550 no\r\n") }, []string{smtpsend.StepMail}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := evilServer(t, func(c net.Conn, r *bufio.Reader) {
				if tc.ehloFirst {
					if !ehlo(c, r, "SIZE 1000000") {
						return
					}
					if _, err := r.ReadString('\n'); err != nil { // MAIL FROM
						return
					}
				}
				tc.send(c)
				_, _ = io.Copy(io.Discard, r)
			})
			cfg.Timeouts.Command, cfg.Timeouts.Greeting = 20*time.Second, 20*time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			err := newSender(t, cfg).Send(ctx, env(), []byte(testMsg))
			de := deliveryError(t, err)
			require.NoError(t, ctx.Err(), "the client read garbage until the test's deadline: %v", err)
			require.Contains(t, tc.steps, de.Step, "%v", err)
			require.Equal(t, mailqueue.ClassTransport, de.Class, "%v", err)
		})
	}

	t.Run("invalid UTF-8 in replies is only text", func(t *testing.T) {
		cfg := evilServer(t, func(c net.Conn, r *bufio.Reader) {
			_, _ = io.WriteString(c, "220 \xff\xfe evil \xc3\x28\r\n")
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			_, _ = io.WriteString(c, "250-\xff\xfe\r\n250 SIZE 1000\r\n")
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			_, _ = io.WriteString(c, "550 5.1.0 \xff\xfe\xfd refused\r\n")
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "QUIT") {
					_, _ = io.WriteString(c, "221 bye\r\n")
					return
				}
				_, _ = io.WriteString(c, "250 ok\r\n")
			}
		})
		de := deliveryError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
		require.Equal(t, mailqueue.ClassPermanent, de.Class)
		require.Equal(t, 550, de.Code)
	})
}

// TestNoDowngradeAfterSTARTTLSOffer: once STARTTLS is offered, a refusal of
// it (454), a non-TLS answer to the handshake or a TLS version below the
// minimum fails the attempt; the sender never falls back to clear text,
// even with security auto and no credentials.
func TestNoDowngradeAfterSTARTTLSOffer(t *testing.T) {
	offer := []step{S("220 mail.test ESMTP\r\n"), C("EHLO localhost"), S("250-mail.test\r\n250 STARTTLS\r\n"), C("STARTTLS")}
	for _, tc := range []struct {
		name  string
		after []step
	}{
		{"454 to STARTTLS", []step{S("454 4.7.0 TLS not available due to temporary reason\r\n")}},
		{"plain text instead of a handshake", []step{S("220 go ahead\r\n"), anyLine(), S("250 mail.test\r\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := startScripted(t, append(append(script{}, offer...), tc.after...))
			cfg := baseConfig(t, sc.port())
			cfg.Timeouts.TLS = 2 * time.Second
			s := newSender(t, cfg)
			de := deliveryError(t, s.Send(context.Background(), env(), []byte(testMsg)))
			require.Contains(t, []string{smtpsend.StepSTARTTLS, smtpsend.StepTLS}, de.Step, "%v", de)
			require.Equal(t, mailqueue.ClassTransport, de.Class)
			require.NoError(t, s.Close())
			require.NotContains(t, sc.log(0), "MAIL FROM")
		})
	}
}

package smtpsend_test

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// TestQueuePausesOnSmtpAuthDisabled is the case end to end with the
// real spool, queue and sender: Office 365 answers
// "535 5.7.139 ... SmtpClientAuthentication is disabled" with 5 messages
// queued; the queue pauses, keeps all 5 and raises an alarm with the hint;
// after a configuration change all 5 go out in order.
func TestQueuePausesOnSmtpAuthDisabled(t *testing.T) {
	be := &backend{authOK: func(_, user, _ string) error {
		if user == "fixed@example.com" {
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139},
			Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."}
	}}
	port := startServer(t, be, withTLS(t))
	sender := func(user string) *smtpsend.Sender {
		cfg := baseConfig(t, port)
		cfg.Username, cfg.Password = user, smtpsend.NewSecret("pw")
		return newSender(t, cfg)
	}

	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = spool.Close() })
	var mu sync.Mutex
	var alarms []mailqueue.Alarm
	q, err := mailqueue.New(mailqueue.Config{
		Store:         spool,
		Sender:        sender("broken@example.com"),
		ProbeInterval: 50 * time.Millisecond,
		ConfigRetry:   time.Hour,
		PollInterval:  20 * time.Millisecond,
		OnAlarm: func(a mailqueue.Alarm) {
			mu.Lock()
			alarms = append(alarms, a)
			mu.Unlock()
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 1; i <= 5; i++ {
		m := &mailqueue.Message{From: mail.Address{Address: "vm@example.com"}, To: []mail.Address{{Address: "bob@example.com"}},
			Subject: fmt.Sprintf("voicemail %d", i), Text: "x"}
		raw, err := m.Build()
		require.NoError(t, err)
		_, err = q.Enqueue(ctx, m.Envelope(), raw)
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(alarms) > 0
	}, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	a := alarms[0]
	mu.Unlock()
	require.Equal(t, mailqueue.AlarmConfig, a.Kind)
	require.Contains(t, a.Hint, "SMTP AUTH is disabled")
	require.Equal(t, mailqueue.ClassConfig, mailqueue.ClassOf(a.Err))
	require.Equal(t, 5, q.Stats().Depth, "all 5 kept")
	require.Empty(t, be.messages())

	q.SetSender(sender("fixed@example.com"))
	require.Eventually(t, func() bool { return len(be.messages()) == 5 }, 10*time.Second, 10*time.Millisecond)
	for i, m := range be.messages() {
		require.Contains(t, string(m.Data), fmt.Sprintf("Subject: voicemail %d\r\n", i+1), "delivered in order")
	}
	cancel()
	<-done
	require.NoError(t, q.Close())
}

// TestQueueIdleCloseQuitsSMTPConnection: once the queue has been idle for
// Config.IdleClose it closes the Sender's kept connection (QUIT) while it
// keeps running, instead of holding it open until Close.
func TestQueueIdleCloseQuitsSMTPConnection(t *testing.T) {
	sc := startScripted(t, script{
		S("220 mail.test ESMTP\r\n"),
		C("EHLO localhost"), S("250 mail.test\r\n"),
		C("EHLO localhost"), S("250 mail.test\r\n"),
		C("MAIL FROM:<vm@example.com>"), S("250 2.1.0 ok\r\n"),
		C("RCPT TO:<bob@example.com>"), S("250 2.1.5 ok\r\n"),
		C("DATA"), S("354 go ahead\r\n"),
		dataStep(), S("250 2.0.0 queued\r\n"),
	})
	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = spool.Close() })
	q, err := mailqueue.New(mailqueue.Config{Store: spool, Sender: newSender(t, baseConfig(t, sc.port())),
		IdleClose: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = q.Enqueue(ctx, env(), []byte(testMsg))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	require.Eventually(t, func() bool { return q.Stats().Sent == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return strings.HasSuffix(sc.log(0), "QUIT\r\n") }, 10*time.Second, 5*time.Millisecond,
		"the idle queue closes the kept connection")
	require.Equal(t, mailqueue.StatusIdle, q.Stats().Status, "still running")
	require.NoError(t, sc.err(0))
	require.NoError(t, q.Close())
	require.NoError(t, <-done)
}

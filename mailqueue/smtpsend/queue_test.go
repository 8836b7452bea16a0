package smtpsend_test

import (
	"context"
	"fmt"
	"net/mail"
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
		cfg.Username, cfg.Password = user, "pw"
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

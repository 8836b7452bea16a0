package smtpsend_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// Environment of the Postfix integration suite (.ci/integration/postfix.sh).
const (
	envPostfixSMTP  = "UCXKIT_POSTFIX_SMTP"       // host:port, STARTTLS offered (may)
	envPostfixPlain = "UCXKIT_POSTFIX_PLAIN_SMTP" // host:port, no STARTTLS
	envPostfixCA    = "UCXKIT_POSTFIX_CA"         // PEM of the server certificate
	envPostfixName  = "UCXKIT_POSTFIX_TLS_NAME"   // name in the certificate
	envPostfixSink  = "UCXKIT_POSTFIX_SINK_DIR"   // where the relay target stores messages
)

type postfixEnv struct {
	host          string
	port, plain   int
	ca, name, dir string
}

func postfixFromEnv(t *testing.T) postfixEnv {
	addr := os.Getenv(envPostfixSMTP)
	if addr == "" {
		t.Skipf("set %s=127.0.0.1:<port> to run against a real Postfix (see .ci/integration/postfix.sh)", envPostfixSMTP)
	}
	for _, v := range []string{envPostfixPlain, envPostfixCA, envPostfixName, envPostfixSink} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is set but %s is not", envPostfixSMTP, v)
		}
	}
	split := func(a string) (string, int) {
		h, p, err := net.SplitHostPort(a)
		require.NoError(t, err)
		n, err := strconv.Atoi(p)
		require.NoError(t, err)
		return h, n
	}
	var e postfixEnv
	e.host, e.port = split(addr)
	_, e.plain = split(os.Getenv(envPostfixPlain))
	e.ca, e.name, e.dir = os.Getenv(envPostfixCA), os.Getenv(envPostfixName), os.Getenv(envPostfixSink)
	return e
}

// waitForSink returns the stored message containing marker, waiting for
// Postfix to relay it.
func waitForSink(t *testing.T, dir, marker string) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && bytes.Contains(b, []byte(marker)) {
				return b
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("message %s did not reach the sink behind Postfix within 60 s", marker)
	return nil
}

func TestIntegrationPostfix(t *testing.T) {
	pf := postfixFromEnv(t)
	cfg := func() smtpsend.Config {
		return smtpsend.Config{
			Host: pf.host, Port: pf.port, CAFile: pf.ca, TLSServerName: pf.name,
			LocalName: "ucxkit-it.localhost", From: "fax@example.com",
			Timeouts: smtpsend.Timeouts{Greeting: 20 * time.Second, Command: 30 * time.Second},
		}
	}
	ctx := context.Background()

	t.Run("test connection reports STARTTLS and TLS version", func(t *testing.T) {
		s := newSender(t, cfg())
		rep, err := s.TestConnection(ctx)
		require.NoError(t, err)
		require.Equal(t, "starttls", rep.Security)
		require.Contains(t, []string{"TLS 1.2", "TLS 1.3"}, rep.TLSVersion)
		require.Contains(t, rep.Greeting, "ESMTP")
		require.NotEmpty(t, rep.Extensions)
	})

	t.Run("built message relayed intact through STARTTLS", func(t *testing.T) {
		s := newSender(t, cfg())
		m := &mailqueue.Message{
			From:    mail.Address{Name: "Zoë Müller, Zentrale", Address: "fax@example.com"},
			To:      []mail.Address{{Name: "Jürgen", Address: "juergen@example.com"}},
			Subject: "Fax – 3 Seiten – Grüße",
			Text:    "line\n.\n.hidden\n..double\n" + strings.Repeat("long ", 3000),
			HTML:    "<p>" + strings.Repeat("x", 20000) + "</p>",
			Attachments: []mailqueue.Attachment{
				{Filename: "Aufnahme_Grüße.wav", Data: bytes.Repeat([]byte("RIFF\r\n.\r\n"), 3000)},
				{Filename: "fax.pdf", Data: []byte("%PDF-1.4\n")},
			},
		}
		raw, err := m.Build()
		require.NoError(t, err)
		require.NoError(t, s.Send(ctx, m.Envelope(), raw))
		got := waitForSink(t, pf.dir, m.MessageID)
		require.True(t, bytes.HasSuffix(got, raw), "Postfix relayed different bytes than we sent")
		require.Contains(t, string(got), "X-Sink-Envelope: fax@example.com -> juergen@example.com")
		require.Contains(t, string(got), "with ESMTPS", "Postfix records the TLS session in Received")
	})

	t.Run("twenty messages over one kept connection", func(t *testing.T) {
		s := newSender(t, cfg())
		var ids []string
		for i := 0; i < 20; i++ {
			m := &mailqueue.Message{From: mail.Address{Address: "fax@example.com"}, To: []mail.Address{{Address: "bob@example.com"}},
				Subject: fmt.Sprintf("reuse %d", i), Text: "x"}
			raw, err := m.Build()
			require.NoError(t, err)
			require.NoError(t, s.Send(ctx, m.Envelope(), raw))
			ids = append(ids, m.MessageID)
		}
		for _, id := range ids {
			waitForSink(t, pf.dir, id)
		}
	})

	t.Run("recipient refusals are classified", func(t *testing.T) {
		s := newSender(t, cfg())
		de := deliveryError(t, s.Send(ctx, mailqueue.Envelope{From: "fax@example.com", To: []string{"rejected@example.com"}}, []byte(testMsg)))
		require.Equal(t, mailqueue.ClassPermanent, de.Class)
		require.Equal(t, smtpsend.StepRcpt, de.Step)
		require.Equal(t, 550, de.Code)
		de = deliveryError(t, s.Send(ctx, mailqueue.Envelope{From: "fax@example.com", To: []string{"tempfail@example.com"}}, []byte(testMsg)))
		require.Equal(t, mailqueue.ClassTemporary, de.Class)
		require.Equal(t, 450, de.Code)
		// The kept connection still works after the aborted transactions.
		m := &mailqueue.Message{From: mail.Address{Address: "fax@example.com"}, To: []mail.Address{{Address: "bob@example.com"}}, Text: "after rset"}
		raw, err := m.Build()
		require.NoError(t, err)
		require.NoError(t, s.Send(ctx, m.Envelope(), raw))
		waitForSink(t, pf.dir, m.MessageID)
	})

	t.Run("larger than SIZE is permanent and not sent", func(t *testing.T) {
		s := newSender(t, cfg())
		big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789012345678901234567890123456789012345678901234567890123456789\r\n"), 20000)...)
		de := deliveryError(t, s.Send(ctx, env(), big))
		require.Equal(t, mailqueue.ClassPermanent, de.Class)
		require.ErrorIs(t, de, smtpsend.ErrTooLarge)
	})

	t.Run("credentials but Postfix offers no AUTH", func(t *testing.T) {
		c := cfg()
		c.Username, c.Password = "fax@example.com", smtpsend.NewSecret("never-sent")
		de := deliveryError(t, newSender(t, c).Send(ctx, env(), []byte(testMsg)))
		require.Equal(t, mailqueue.ClassConfig, de.Class)
		require.True(t, errors.Is(de, smtpsend.ErrNoAuth))
	})

	t.Run("listener without STARTTLS", func(t *testing.T) {
		c := cfg()
		c.Port = pf.plain
		c.Username, c.Password = "fax@example.com", smtpsend.NewSecret("never-sent")
		de := deliveryError(t, newSender(t, c).Send(ctx, env(), []byte(testMsg)))
		require.Equal(t, mailqueue.ClassConfig, de.Class)
		require.ErrorIs(t, de, smtpsend.ErrNoSTARTTLS)

		c.Username, c.Password = "", smtpsend.NewSecret("")
		c.Security = smtpsend.SecurityStartTLS
		de = deliveryError(t, newSender(t, c).Send(ctx, env(), []byte(testMsg)))
		require.ErrorIs(t, de, smtpsend.ErrNoSTARTTLS)

		// auto without credentials: clear text is allowed.
		c.Security = smtpsend.SecurityAuto
		s := newSender(t, c)
		rep, err := s.TestConnection(ctx)
		require.NoError(t, err)
		require.Equal(t, "none", rep.Security)
		m := &mailqueue.Message{From: mail.Address{Address: "fax@example.com"}, To: []mail.Address{{Address: "bob@example.com"}}, Text: "clear"}
		raw, err := m.Build()
		require.NoError(t, err)
		require.NoError(t, s.Send(ctx, m.Envelope(), raw))
		waitForSink(t, pf.dir, m.MessageID)
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		c := cfg()
		c.CAFile = ""
		de := deliveryError(t, newSender(t, c).Send(ctx, env(), []byte(testMsg)))
		require.Equal(t, smtpsend.StepTLS, de.Step)
		require.Equal(t, mailqueue.ClassTransport, de.Class)
	})
}

package sysparams

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

// proxyAuthCases are mail proxies that refuse to authenticate this server.
type proxyAuthCase struct {
	name     string
	kind     proxytest.Kind
	choice   ProxyChoice
	user, pw string // configured; the proxy wants "ucx" / testProxyPassword
	hint     string
	sentinel error
}

var proxyAuthCases = []proxyAuthCase{
	{"http wrong password", proxytest.HTTP, ProxyHTTP, "ucx", "wrong-pw", "check proxy.http.username and proxy.http.password", proxycfg.ErrProxyAuthFailed},
	{"http no credentials", proxytest.HTTP, ProxyHTTP, "", "", "requires authentication: set proxy.http.username", proxycfg.ErrProxyAuthRequired},
	{"socks5 wrong password", proxytest.SOCKS5, ProxySOCKS, "ucx", "wrong-pw", "check proxy.socks.username and proxy.socks.password", proxycfg.ErrProxyAuthFailed},
	{"socks5 no credentials", proxytest.SOCKS5, ProxySOCKS, "", "", "requires authentication: set proxy.socks.username", proxycfg.ErrProxyAuthRequired},
}

func (c proxyAuthCase) start(t *testing.T) *proxytest.Server {
	t.Helper()
	srv, err := proxytest.NewServer(c.kind, proxytest.Options{Username: "ucx", Password: testProxyPassword})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func (c proxyAuthCase) apply(p *Params, srv *proxytest.Server) {
	switch c.choice {
	case ProxyHTTP:
		p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "127.0.0.1", Port: portOf(srv.Addr), Username: c.user, Password: NewSecret(c.pw)}
	case ProxySOCKS:
		p.Proxy.SOCKS = proxycfg.SOCKSProxy{Version: 5, Address: "127.0.0.1", Port: portOf(srv.Addr), Username: c.user, Password: NewSecret(c.pw)}
	}
	p.Email.Proxy = c.choice
}

func checkProxyAuthErr(t *testing.T, c proxyAuthCase, err error) {
	t.Helper()
	var de *mailqueue.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, mailqueue.ClassConfig, de.Class, "%v", err)
	require.Equal(t, StepProxy, de.Step)
	require.Contains(t, de.Hint, c.hint)
	require.ErrorIs(t, err, c.sentinel)
	require.NotContains(t, err.Error(), "wrong-pw")
	require.NotContains(t, err.Error(), testProxyPassword)
	require.Equal(t, 1, strings.Count(err.Error(), "mailqueue:"), "one package prefix: %v", err)
}

func TestMailSenderProxyAuthRefusalIsConfigError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newSink(t)
	for _, c := range proxyAuthCases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.start(t)
			p := sinkParams(s)
			c.apply(p, srv)
			require.NoError(t, p.Validate())

			snd, err := p.MailSender(MailOptions{})
			require.NoError(t, err)
			defer snd.Close()
			err = snd.Send(ctx, mailqueue.Envelope{From: "fax-ha@example.com", To: []string{"bob@example.com"}}, []byte(testMsg))
			checkProxyAuthErr(t, c, err)
			require.Empty(t, s.Messages())
			t.Log(err)

			rep, err := p.TestEmail(ctx)
			checkProxyAuthErr(t, c, err)
			require.False(t, rep.OK)
			require.Equal(t, StepProxy, rep.FailedStep)
			require.Contains(t, rep.Hint, c.hint)
			require.Contains(t, rep.String(), "result: failed at proxy\nhint: ")
		})
	}
}

func TestMailSenderO365ProxyAuthRefusalIsConfigError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sent atomic.Int32
	ms := fakeMicrosoft(t, &sent)
	for _, c := range proxyAuthCases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.start(t)
			p := validParams()
			p.Email.Protocol = ProtocolO365
			p.Email.O365 = O365{
				ClientID: "1cb8b5d2-8724-4f32-8152-a16a230b682b", TenantID: "tenant-1", ClientSecret: NewSecret(testO365Secret),
				Address: "fax@example.onmicrosoft.com", Mode: o365.ModeGraph, Cloud: o365.CloudGlobal,
				AuthURL: ms.URL, GraphURL: ms.URL,
			}
			c.apply(p, srv)
			require.NoError(t, p.Validate())
			// The HTTP client email.proxy selects: the token request goes
			// through the proxy, which refuses before reaching Microsoft.
			snd, err := p.MailSender(MailOptions{})
			require.NoError(t, err)
			defer snd.Close()
			err = snd.Send(ctx, mailqueue.Envelope{From: "fax@example.onmicrosoft.com", To: []string{"bob@example.com"}}, []byte(testMsg))
			checkProxyAuthErr(t, c, err)

			rep, err := p.TestEmail(ctx)
			checkProxyAuthErr(t, c, err)
			require.Equal(t, StepProxy, rep.FailedStep)
		})
	}
	require.Zero(t, sent.Load())
}

// The queue pauses with a configuration alarm instead of probing an
// "unreachable" server every 30 s.
func TestQueuePausesOnProxyAuthRefusal(t *testing.T) {
	c := proxyAuthCases[0]
	srv := c.start(t)
	s := newSink(t)
	p := sinkParams(s)
	c.apply(p, srv)
	snd, err := p.MailSender(MailOptions{})
	require.NoError(t, err)
	defer snd.Close()

	spool, err := mailqueue.OpenSpool(t.TempDir(), mailqueue.SpoolOptions{})
	require.NoError(t, err)
	defer spool.Close()
	alarms := make(chan mailqueue.Alarm, 4)
	q, err := mailqueue.New(mailqueue.Config{Store: spool, Sender: snd, OnAlarm: func(a mailqueue.Alarm) {
		select {
		case alarms <- a:
		default: // never block the queue from a test hook
		}
	}})
	require.NoError(t, err)
	defer q.Close()
	_, err = q.Enqueue(context.Background(), mailqueue.Envelope{From: "fax-ha@example.com", To: []string{"bob@example.com"}}, []byte(testMsg))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var a mailqueue.Alarm
	select {
	case a = <-alarms:
	case <-time.After(15 * time.Second):
		t.Fatalf("no alarm; queue status %s", q.Stats().Status)
	}
	require.Equal(t, mailqueue.AlarmConfig, a.Kind)
	require.ErrorIs(t, a.Err, proxycfg.ErrProxyAuthFailed)
	require.Equal(t, mailqueue.StatusPaused, q.Stats().Status)
	require.Empty(t, s.Messages())
}

package o365

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

const testMsg = "From: Fax <fax@contoso.example>\r\nTo: bob@example.com\r\nSubject: Fax received\r\nMessage-ID: <1@contoso.example>\r\n\r\nYou have a fax.\r\n"

var testEnv = mailqueue.Envelope{From: testSender, To: []string{"bob@example.com"}}

func newTestSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func requireClass(t *testing.T, err error, class mailqueue.Class) *mailqueue.DeliveryError {
	t.Helper()
	require.Error(t, err)
	var de *mailqueue.DeliveryError
	require.True(t, errors.As(err, &de), "not a DeliveryError: %v", err)
	require.Equal(t, class, de.Class, "error: %v", err)
	return de
}

func TestGraphSendDeliversExactBytes(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeGraph))
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	require.Len(t, f.snap().graphMsgs, 1)
	assert.Equal(t, testMsg, string(f.snap().graphMsgs[0]))
	assert.Equal(t, "text/plain", f.snap().lastGraphHdr.Get("Content-Type"))
	assert.Equal(t, []string{"https://graph.microsoft.com/.default"}, f.snap().tokenScopes)
}

func TestGraphAddsEnvelopeOnlyRecipientsAsBcc(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeGraph))
	env := mailqueue.Envelope{To: []string{"bob@example.com", "Hidden@Example.com", "hidden@example.com"}}
	require.NoError(t, s.Send(context.Background(), env, []byte(testMsg)))
	require.Len(t, f.snap().graphMsgs, 1)
	assert.Equal(t, "Bcc: <Hidden@Example.com>\r\n"+testMsg, string(f.snap().graphMsgs[0]))
}

func TestGraphFailureClasses(t *testing.T) {
	cases := []struct {
		name      string
		script    []cannedResponse
		class     mailqueue.Class
		code      int
		retry     time.Duration
		hint      string
		sentinel  error
		wantCalls int
	}{
		{name: "429 retry-after", script: []cannedResponse{{status: 429, header: map[string]string{"Retry-After": "17"},
			body: graphErrorJSON("ApplicationThrottled", "Application is over its MailboxConcurrency limit.")}},
			class: mailqueue.ClassTemporary, code: 429, retry: 17 * time.Second, wantCalls: 1},
		{name: "503 retry-after", script: []cannedResponse{{status: 503, header: map[string]string{"Retry-After": "5"}}},
			class: mailqueue.ClassTemporary, code: 503, retry: 5 * time.Second, wantCalls: 1},
		{name: "504", script: []cannedResponse{{status: 504}}, class: mailqueue.ClassTemporary, code: 504, wantCalls: 1},
		{name: "403 access denied", script: []cannedResponse{{status: 403,
			body: graphErrorJSON("ErrorAccessDenied", "Access is denied. Check credentials and try again.")}},
			class: mailqueue.ClassConfig, code: 403, hint: "Mail.Send", wantCalls: 1},
		{name: "404 mailbox", script: []cannedResponse{{status: 404,
			body: graphErrorJSON("ErrorInvalidUser", "The requested user 'fax@contoso.example' is invalid.")}},
			class: mailqueue.ClassConfig, code: 404, hint: "mailbox", wantCalls: 1},
		{name: "400 bad mime", script: []cannedResponse{{status: 400,
			body: graphErrorJSON("ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")}},
			class: mailqueue.ClassPermanent, code: 400, wantCalls: 1},
		{name: "413", script: []cannedResponse{{status: 413}}, class: mailqueue.ClassPermanent, code: 413,
			sentinel: ErrTooLargeForGraph, wantCalls: 1},
		{name: "401 twice", script: []cannedResponse{
			{status: 401, body: graphErrorJSON("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")},
			{status: 401, body: graphErrorJSON("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")}},
			class: mailqueue.ClassConfig, code: 401, hint: "Mail.Send", sentinel: ErrTokenRejected, wantCalls: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMS(t, false)
			f.scriptGraph(tc.script...)
			s := newTestSender(t, f.config(ModeGraph))
			err := s.Send(context.Background(), testEnv, []byte(testMsg))
			de := requireClass(t, err, tc.class)
			assert.Equal(t, "graph", de.Step)
			assert.Equal(t, tc.code, de.Code)
			assert.Equal(t, tc.retry, de.RetryAfter)
			if tc.hint != "" {
				assert.Contains(t, de.Hint, tc.hint)
			}
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			assert.Equal(t, tc.wantCalls, f.snap().graphCalls)
		})
	}
}

func TestGraph401RefreshesOnceThenSucceeds(t *testing.T) {
	f := newFakeMS(t, false)
	f.scriptGraph(cannedResponse{status: 401, body: graphErrorJSON("InvalidAuthenticationToken", "token revoked")})
	s := newTestSender(t, f.config(ModeGraph))
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	assert.Equal(t, 2, f.snap().tokenCalls, "one forced refresh")
	assert.Len(t, f.snap().graphMsgs, 1)
}

func TestGraphRefusesTooLargeBeforeSending(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeGraph))
	// 3 MiB + a bit becomes more than 4 MiB of base64.
	big := append([]byte(testMsg), bytes.Repeat([]byte("A"), 3<<20+1024)...)
	err := s.Send(context.Background(), testEnv, big)
	de := requireClass(t, err, mailqueue.ClassPermanent)
	assert.ErrorIs(t, err, ErrTooLargeForGraph)
	assert.Contains(t, err.Error(), "too large for Graph")
	assert.Contains(t, de.Hint, "smtp")
	assert.Equal(t, 0, f.snap().graphCalls, "nothing sent")
	assert.Equal(t, 0, f.snap().tokenCalls, "no token fetched for a message that cannot go")
}

func TestGraphTimeoutAfterBodyIsAmbiguous(t *testing.T) {
	f := newFakeMS(t, false)
	f.scriptGraph(cannedResponse{hang: true})
	s := newTestSender(t, f.config(ModeGraph))
	// Fetch the token first so the deadline only covers the send.
	_, err := s.tokens.Token(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = s.Send(ctx, testEnv, []byte(testMsg))
	requireClass(t, err, mailqueue.ClassAmbiguous)
}

func TestGraphUnreachableIsTransport(t *testing.T) {
	f := newFakeMS(t, false)
	cfg := f.config(ModeGraph)
	cfg.GraphURL = "http://127.0.0.1:1" // nothing listens on port 1
	s := newTestSender(t, cfg)
	err := s.Send(context.Background(), testEnv, []byte(testMsg))
	de := requireClass(t, err, mailqueue.ClassTransport)
	assert.Equal(t, "graph", de.Step)
}

func TestGraphTestConnection(t *testing.T) {
	f := newFakeMS(t, false)
	f.with(func(f *fakeMS) { f.roles["https://graph.microsoft.com"] = []string{"Mail.Send"} })
	s := newTestSender(t, f.config(ModeGraph))
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK)
	require.Len(t, rep.Steps, 3)
	for i, want := range []struct {
		name string
		st   StepStatus
	}{{"token", StepOK}, {"permission", StepOK}, {"mailbox", StepOK}} {
		assert.Equal(t, want.name, rep.Steps[i].Name)
		assert.Equal(t, want.st, rep.Steps[i].Status, rep.Steps[i].Detail)
	}
	assert.Contains(t, rep.String(), "result: ok")
	assert.NotContains(t, rep.String(), testSecret)

	t.Run("missing role warns, 403 on user read is skipped", func(t *testing.T) {
		f := newFakeMS(t, false)
		f.scriptGraph(cannedResponse{status: 403, body: graphErrorJSON("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")})
		s := newTestSender(t, f.config(ModeGraph))
		rep, err := s.TestConnection(context.Background())
		require.NoError(t, err)
		assert.Equal(t, StepWarning, rep.Steps[1].Status)
		assert.Equal(t, StepSkipped, rep.Steps[2].Status)
	})
	t.Run("unknown mailbox fails at mailbox", func(t *testing.T) {
		f := newFakeMS(t, false)
		f.scriptGraph(cannedResponse{status: 404, body: graphErrorJSON("Request_ResourceNotFound", "Resource 'fax@contoso.example' does not exist.")})
		s := newTestSender(t, f.config(ModeGraph))
		rep, err := s.TestConnection(context.Background())
		requireClass(t, err, mailqueue.ClassConfig)
		assert.False(t, rep.OK)
		assert.Equal(t, StepFailed, rep.Steps[len(rep.Steps)-1].Status)
		assert.Equal(t, "mailbox", rep.Steps[len(rep.Steps)-1].Name)
	})
	t.Run("bad secret fails at token", func(t *testing.T) {
		f := newFakeMS(t, false)
		cfg := f.config(ModeGraph)
		cfg.ClientSecret = NewSecret("wrong")
		s := newTestSender(t, cfg)
		rep, err := s.TestConnection(context.Background())
		requireClass(t, err, mailqueue.ClassConfig)
		require.Len(t, rep.Steps, 1)
		assert.Equal(t, "token", rep.Steps[0].Name)
		assert.Contains(t, rep.Steps[0].Detail, "AADSTS7000215")
	})
}

func TestParseGraphErrorUnknownBody(t *testing.T) {
	se := parseGraphError(502, http.Header{}, []byte("<html>bad gateway</html>"))
	assert.Equal(t, "Bad Gateway", se.Message)
	assert.True(t, strings.HasPrefix(se.Error(), "o365: graph answered HTTP 502"))
}

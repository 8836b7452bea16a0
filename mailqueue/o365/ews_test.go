package o365

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

func TestEWSSendCreateItem(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeEWS))
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	sn := f.snap()
	require.Len(t, sn.ewsMsgs, 1)
	assert.Equal(t, testMsg, string(sn.ewsMsgs[0]))
	assert.Equal(t, []string{f.srv.URL + "/.default"}, sn.tokenScopes, "Exchange scope from the server URL origin")
	assert.Contains(t, sn.lastEWSBody, `MessageDisposition="SendOnly"`)
	assert.NotContains(t, sn.lastEWSBody, "https://schemas.microsoft.com")
	// The request is well-formed XML.
	require.NoError(t, xml.Unmarshal([]byte(sn.lastEWSBody), new(ewsRequest)))
}

func TestEWSSenderIsEscaped(t *testing.T) {
	body := string(ewsEnvelope(`a&b<c>@x.example`, getFolderBody))
	assert.Contains(t, body, "a&amp;b&lt;c&gt;@x.example")
	require.NoError(t, xml.Unmarshal([]byte(body), new(ewsRequest)))
}

func TestEWSFailureClasses(t *testing.T) {
	xmlCT := map[string]string{"Content-Type": "text/xml; charset=utf-8"}
	cases := []struct {
		name  string
		resp  []cannedResponse
		class mailqueue.Class
		code  string
		retry time.Duration
		hint  string
	}{
		{name: "server busy fault with backoff", resp: []cannedResponse{{status: 500, header: xmlCT,
			body: ewsFault("ErrorServerBusy", "The server cannot service this request right now. Try again later.", 297749)}},
			class: mailqueue.ClassTemporary, code: "ErrorServerBusy", retry: 297749 * time.Millisecond},
		{name: "impersonation denied fault", resp: []cannedResponse{{status: 500, header: xmlCT,
			body: ewsFault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", 0)}},
			class: mailqueue.ClassConfig, code: "ErrorImpersonateUserDenied", hint: "full_access_as_app"},
		{name: "access denied item error", resp: []cannedResponse{{status: 200, header: xmlCT,
			body: ewsItemError("CreateItem", "ErrorAccessDenied", "Access is denied. Check credentials and try again.")}},
			class: mailqueue.ClassConfig, code: "ErrorAccessDenied", hint: "full_access_as_app"},
		{name: "mailbox missing", resp: []cannedResponse{{status: 200, header: xmlCT,
			body: ewsItemError("CreateItem", "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")}},
			class: mailqueue.ClassConfig, code: "ErrorNonExistentMailbox", hint: "mailbox"},
		{name: "too big", resp: []cannedResponse{{status: 200, header: xmlCT,
			body: ewsItemError("CreateItem", "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")}},
			class: mailqueue.ClassPermanent, code: "ErrorMessageSizeExceeded"},
		{name: "503 retry-after", resp: []cannedResponse{{status: 503, header: map[string]string{"Retry-After": "30"}}},
			class: mailqueue.ClassTemporary, retry: 30 * time.Second},
		{name: "403 ews disabled", resp: []cannedResponse{{status: 403}}, class: mailqueue.ClassConfig, hint: "graph"},
		{name: "200 unreadable", resp: []cannedResponse{{status: 200, body: "<html>proxy login</html>"}}, class: mailqueue.ClassAmbiguous},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMS(t, false)
			f.scriptEWS(tc.resp...)
			s := newTestSender(t, f.config(ModeEWS))
			err := s.Send(context.Background(), testEnv, []byte(testMsg))
			de := requireClass(t, err, tc.class)
			assert.Equal(t, "ews", de.Step)
			assert.Equal(t, tc.retry, de.RetryAfter)
			if tc.hint != "" {
				assert.Contains(t, de.Hint, tc.hint)
			}
			if tc.code != "" {
				var se *ServiceError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tc.code, se.Code)
			}
		})
	}
}

func TestEWSExpiredTokenRefreshedOnce(t *testing.T) {
	f := newFakeMS(t, false)
	s := newTestSender(t, f.config(ModeEWS))
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	// The service revokes every token it issued: the cached one is
	// rejected, one refresh follows and the send succeeds.
	f.with(func(f *fakeMS) {
		for k := range f.tokens {
			delete(f.tokens, k)
		}
	})
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	sn := f.snap()
	assert.Equal(t, 2, sn.tokenCalls)
	assert.Len(t, sn.ewsMsgs, 2)
}

func TestEWSTestConnection(t *testing.T) {
	f := newFakeMS(t, false)
	f.with(func(f *fakeMS) { f.roles[f.srv.URL] = []string{"full_access_as_app"} })
	s := newTestSender(t, f.config(ModeEWS))
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK, rep.String())
	require.Len(t, rep.Steps, 3)
	assert.Equal(t, StepOK, rep.Steps[1].Status)
	assert.Equal(t, "mailbox", rep.Steps[2].Name)
	assert.Contains(t, f.snap().lastEWSBody, `Id="sentitems"`)

	f.scriptEWS(cannedResponse{status: 500, body: ewsFault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", 0)})
	rep, err = s.TestConnection(context.Background())
	requireClass(t, err, mailqueue.ClassConfig)
	assert.False(t, rep.OK)
	assert.Contains(t, rep.String(), "ErrorImpersonateUserDenied")
}

func TestParseEWSResponse(t *testing.T) {
	cases := []struct {
		name string
		body string
		want EWSResult
		err  bool
	}{
		{name: "success", body: ewsSuccess("CreateItem"), want: EWSResult{ResponseClass: "Success", ResponseCode: "NoError"}},
		{name: "item error", body: ewsItemError("CreateItem", "ErrorSendAsDenied", "no send as"),
			want: EWSResult{ResponseClass: "Error", ResponseCode: "ErrorSendAsDenied", Message: "no send as"}},
		{name: "fault", body: ewsFault("ErrorServerBusy", "busy", 1500),
			want: EWSResult{Fault: true, ResponseCode: "ErrorServerBusy", Message: "busy", BackOff: 1500 * time.Millisecond}},
		{name: "faultcode only", body: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>a:ErrorInvalidServerVersion</faultcode><faultstring>bad version</faultstring></s:Fault></s:Body></s:Envelope>`,
			want: EWSResult{Fault: true, ResponseCode: "ErrorInvalidServerVersion", Message: "bad version"}},
		{name: "huge backoff capped", body: ewsFault("ErrorServerBusy", "busy", 9000000000000000000),
			want: EWSResult{Fault: true, ResponseCode: "ErrorServerBusy", Message: "busy", BackOff: 24 * time.Hour}},
		{name: "not xml", body: "Service Unavailable", err: true},
		{name: "no body", body: `<a><b/></a>`, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEWSResponse([]byte(tc.body))
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseEWSResponse(f *testing.F) {
	f.Add([]byte(ewsSuccess("CreateItem")))
	f.Add([]byte(ewsFault("ErrorServerBusy", "busy", 1500)))
	f.Add([]byte(ewsItemError("CreateItem", "ErrorAccessDenied", "denied")))
	f.Add([]byte("<s:Body><Value Name=\"BackOffMilliseconds\">-5</Value></s:Body>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseEWSResponse(b)
		if err != nil {
			return
		}
		if r.BackOff < 0 || r.BackOff > 24*time.Hour {
			t.Fatalf("backoff out of range: %v", r.BackOff)
		}
		if len(r.ResponseCode) > 110 || len(r.Message) > 310 || strings.ContainsAny(r.Message, "\r\n") {
			t.Fatalf("unbounded text: %q %q", r.ResponseCode, r.Message)
		}
	})
}

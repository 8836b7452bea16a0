package o365

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// EWS namespaces: http, not https (some localized doc copies are wrong and
// Exchange rejects them).
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
)

// ewsServerVersion is the schema version requested. Exchange2010_SP2 has
// everything used here (CreateItem with MimeContent, ExchangeImpersonation)
// and is accepted by Exchange Online and by on-premises Exchange 2010 SP2
// and later, which a newer version string would lock out.
const ewsServerVersion = "Exchange2010_SP2"

// ewsEnvelope builds a SOAP request with impersonation of the sender.
func ewsEnvelope(sender, body string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<soap:Envelope xmlns:soap="` + nsSOAP + `" xmlns:t="` + nsTypes + `" xmlns:m="` + nsMessages + `">`)
	b.WriteString(`<soap:Header><t:RequestServerVersion Version="` + ewsServerVersion + `"/>`)
	b.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>`)
	xml.EscapeText(&b, []byte(sender))
	b.WriteString(`</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>`)
	b.WriteString(`<soap:Body>`)
	b.WriteString(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// createItemBody is CreateItem with the whole message as MimeContent,
// sent without keeping a copy (MessageDisposition="SendOnly").
func createItemBody(msg []byte) string {
	var b strings.Builder
	b.Grow(base64.StdEncoding.EncodedLen(len(msg)) + 200)
	b.WriteString(`<m:CreateItem MessageDisposition="SendOnly"><m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">`)
	b.WriteString(base64.StdEncoding.EncodeToString(msg))
	b.WriteString(`</t:MimeContent></t:Message></m:Items></m:CreateItem>`)
	return b.String()
}

// getFolderBody asks for the id of the sender's Sent Items folder: a
// harmless call that proves the mailbox exists and may be impersonated.
const getFolderBody = `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>` +
	`<m:FolderIds><t:DistinguishedFolderId Id="sentitems"/></m:FolderIds></m:GetFolder>`

func (s *Sender) ewsHeader(action string) http.Header {
	return http.Header{
		"Content-Type": {"text/xml; charset=utf-8"},
		"Soapaction":   {`"` + nsMessages + `/` + action + `"`},
		// Required with impersonation: routes the request to the
		// impersonated mailbox's server.
		"X-Anchormailbox": {s.cfg.Sender},
	}
}

// sendEWS submits the message with EWS CreateItem.
func (s *Sender) sendEWS(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	msg = withEnvelopeRecipients(msg, env.To)
	body := ewsEnvelope(s.cfg.Sender, createItemBody(msg))
	return s.ewsCall(ctx, "CreateItem", body)
}

// ewsCall posts one SOAP request and classifies the answer.
func (s *Sender) ewsCall(ctx context.Context, action string, body []byte) error {
	header := s.ewsHeader(action)
	return s.withToken(ctx, s.tokens, func(tok string) (bool, error) {
		resp, err := s.do(ctx, "ews", http.MethodPost, s.cfg.ewsURL, tok, body, header)
		if err != nil {
			return false, err
		}
		if resp.status == http.StatusUnauthorized {
			se := &ServiceError{Service: "ews", Status: resp.status, Message: shorten(resp.header.Get("WWW-Authenticate"), 200)}
			return true, deliveryErr(mailqueue.ClassConfig, "ews", resp.status,
				hintEWS+" (a 401 for every request also means EWS is disabled for the tenant)", 0,
				fmt.Errorf("%w: %w", ErrTokenRejected, se))
		}
		return false, s.ewsResult(resp)
	})
}

// EWSResult is what ParseEWSResponse found in a SOAP answer.
type EWSResult struct {
	// Fault is true for a SOAP fault (soap:Fault).
	Fault bool
	// ResponseClass is Success, Warning or Error from the first
	// *ResponseMessage element; "" for faults.
	ResponseClass string
	// ResponseCode is the EWS code (NoError, ErrorServerBusy, ...), from the
	// response message or the fault detail, else from faultcode.
	ResponseCode string
	// Message is MessageText or the fault string.
	Message string
	// BackOff is the BackOffMilliseconds value of a throttling fault.
	BackOff time.Duration
}

// ParseEWSResponse reads the parts of an EWS SOAP answer that decide its
// outcome. It reads any namespace prefix and returns an error only when
// the document is not XML or has no SOAP Body.
func ParseEWSResponse(body []byte) (EWSResult, error) {
	var r EWSResult
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	var stack []string
	var textFor string
	var text strings.Builder
	sawBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			if sawBody && errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, io.EOF) {
				return r, fmt.Errorf("o365: ews answer has no SOAP Body")
			}
			return r, fmt.Errorf("o365: ews answer is not XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			stack = append(stack, name)
			if len(stack) > 64 {
				return r, fmt.Errorf("o365: ews answer nests too deep")
			}
			switch {
			case name == "Body":
				sawBody = true
			case name == "Fault":
				r.Fault = true
			case strings.HasSuffix(name, "ResponseMessage") && r.ResponseClass == "":
				for _, a := range t.Attr {
					if a.Name.Local == "ResponseClass" {
						r.ResponseClass = a.Value
					}
				}
			case name == "Value":
				for _, a := range t.Attr {
					if a.Name.Local == "Name" && a.Value == "BackOffMilliseconds" {
						textFor = "backoff"
					}
				}
			}
			switch name {
			case "ResponseCode", "faultcode", "MessageText", "faultstring", "Message":
				textFor = name
			}
			text.Reset()
		case xml.CharData:
			if textFor != "" && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			v := strings.TrimSpace(text.String())
			switch textFor {
			case "ResponseCode":
				if r.ResponseCode == "" || r.ResponseCode == "NoError" {
					r.ResponseCode = v
				}
			case "faultcode":
				if r.ResponseCode == "" {
					if i := strings.LastIndexByte(v, ':'); i >= 0 {
						v = v[i+1:]
					}
					r.ResponseCode = v
				}
			case "MessageText", "faultstring", "Message":
				if r.Message == "" {
					r.Message = v
				}
			case "backoff":
				if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
					// Capped before the multiplication, which would
					// overflow for a huge value.
					r.BackOff = time.Duration(min(ms, int64(24*time.Hour/time.Millisecond))) * time.Millisecond
				}
			}
			textFor = ""
			text.Reset()
		}
	}
	r.ResponseCode = shorten(r.ResponseCode, 100)
	r.Message = shorten(r.Message, 300)
	return r, nil
}

// ewsResult classifies an EWS answer other than 401.
func (s *Sender) ewsResult(resp *response) error {
	ra := retryAfter(resp.header, s.cfg.Now())
	res, perr := ParseEWSResponse(resp.body)
	se := &ServiceError{Service: "ews", Status: resp.status, RequestID: resp.header.Get("request-id")}
	if perr == nil {
		se.Code, se.Message = res.ResponseCode, res.Message
		if res.BackOff > 0 {
			ra = res.BackOff
		}
	}
	if resp.status == http.StatusOK && perr == nil && !res.Fault &&
		(res.ResponseClass == "Success" || res.ResponseClass == "Warning") {
		return nil
	}
	if se.Code != "" && se.Code != "NoError" {
		class, hint := ewsClass(se.Code)
		return deliveryErr(class, "ews", resp.status, hint, ra, se)
	}
	if se.Message == "" {
		se.Message = http.StatusText(resp.status)
	}
	switch st := resp.status; {
	case st == http.StatusOK:
		// 200 without a readable outcome: the message may have gone out.
		if perr != nil {
			se.Message = perr.Error()
		}
		return deliveryErr(mailqueue.ClassAmbiguous, "ews", st, "the answer did not say whether the message was sent", 0, se)
	case st == http.StatusForbidden:
		return deliveryErr(mailqueue.ClassConfig, "ews", st, hintEWS+" (403 also means EWS is blocked for this application or tenant)", 0, se)
	case st == http.StatusNotFound:
		return deliveryErr(mailqueue.ClassConfig, "ews", st, "no EWS endpoint at the server URL: check the server URL", 0, se)
	case st == http.StatusTooManyRequests, st >= 500:
		return deliveryErr(mailqueue.ClassTemporary, "ews", st, "", ra, se)
	case st >= 400:
		return deliveryErr(mailqueue.ClassPermanent, "ews", st, "", 0, se)
	default:
		return deliveryErr(mailqueue.ClassTemporary, "ews", st, "", ra, se)
	}
}

// ewsClass maps an EWS ResponseCode to a failure class and hint.
func ewsClass(code string) (mailqueue.Class, string) {
	switch code {
	case "ErrorServerBusy", "ErrorTimeoutExpired", "ErrorInternalServerTransientError",
		"ErrorMailboxStoreUnavailable", "ErrorMailboxMoveInProgress", "ErrorExceededConnectionCount",
		"ErrorTooManyObjectsOpened", "ErrorADUnavailable", "ErrorConnectionFailed", "ErrorBatchProcessingStopped",
		"ErrorInternalServerError":
		return mailqueue.ClassTemporary, ""
	case "ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorImpersonationDenied",
		"ErrorImpersonationFailed", "ErrorInvalidExchangeImpersonationHeaderData", "ErrorAccountDisabled",
		"ErrorInvalidLicense", "ErrorNoApplicableProxyCASServersAvailable":
		return mailqueue.ClassConfig, hintEWS
	case "ErrorNonExistentMailbox", "ErrorMailRecipientNotFound", "ErrorInvalidSmtpAddress":
		return mailqueue.ClassConfig, hintMbox
	case "ErrorSendAsDenied":
		return mailqueue.ClassConfig, "the From header is not the sender mailbox and the mailbox has no Send As right on it"
	case "ErrorQuotaExceeded":
		return mailqueue.ClassConfig, "the sender mailbox is full: free space or raise its quota"
	case "ErrorInvalidServerVersion":
		return mailqueue.ClassConfig, "the server does not accept EWS schema " + ewsServerVersion + ": it is older than Exchange 2010 SP2"
	case "ErrorMessageSizeExceeded", "ErrorInvalidRecipients", "ErrorMimeContentConversionFailed",
		"ErrorMimeContentInvalid", "ErrorMimeContentInvalidBase64String", "ErrorSchemaValidation",
		"ErrorInvalidRequest", "ErrorCorruptData":
		return mailqueue.ClassPermanent, ""
	}
	// Unknown codes count as temporary (the queue's rule for unknown
	// errors); the message lifetime bounds the retries.
	return mailqueue.ClassTemporary, ""
}

package o365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// sendGraph posts the MIME message to Microsoft Graph:
//
//	POST {graph}/v1.0/users/{sender}/sendMail
//	Authorization: Bearer <token for https://graph.microsoft.com/.default>
//	Content-Type: text/plain
//
//	<standard base64 of the RFC 5322 bytes, no line breaks>
//
// 202 Accepted is success. Graph takes the recipients from the MIME
// header; envelope-only recipients are added as Bcc first.
func (s *Sender) sendGraph(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	msg = withEnvelopeRecipients(msg, env.To)
	if n := base64.StdEncoding.EncodedLen(len(msg)); n > GraphMaxRequest {
		return deliveryErr(mailqueue.ClassPermanent, "graph", 0,
			"Graph accepts requests up to 4 MB (about 3 MB of MIME); send large messages with mode smtp",
			0, fmt.Errorf("%w: %d bytes of MIME become a %d-byte request", ErrTooLargeForGraph, len(msg), n))
	}
	body := make([]byte, base64.StdEncoding.EncodedLen(len(msg)))
	base64.StdEncoding.Encode(body, msg)
	header := http.Header{"Content-Type": {"text/plain"}}
	return s.withToken(ctx, s.tokens, func(tok string) (bool, error) {
		resp, err := s.do(ctx, "graph", http.MethodPost, s.cfg.sendMailURL, tok, body, header)
		if err != nil {
			return false, err
		}
		if resp.status/100 == 2 {
			return false, nil
		}
		if resp.status == http.StatusUnauthorized {
			return true, s.graphError(resp)
		}
		return false, s.graphError(resp)
	})
}

// withToken runs call with a cached token; when call reports the token
// rejected (first result true), the token is dropped and call runs once
// more with a fresh one. A second rejection is a configuration error.
func (s *Sender) withToken(ctx context.Context, ts *tokenSource, call func(tok string) (rejected bool, err error)) error {
	for attempt := 0; ; attempt++ {
		tok, err := ts.Token(ctx)
		if err != nil {
			return err
		}
		rejected, err := call(tok)
		if !rejected {
			return err
		}
		if attempt > 0 {
			return err
		}
		ts.Invalidate(ctx, tok)
	}
}

// graphErrorBody is Graph's error envelope:
// {"error":{"code":"ErrorAccessDenied","message":"...","innerError":{"request-id":"..."}}}
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// parseGraphError reads a Graph error answer; unknown bodies give an error
// with the status only.
func parseGraphError(status int, header http.Header, body []byte) *ServiceError {
	se := &ServiceError{Service: "graph", Status: status, RequestID: header.Get("request-id")}
	var g graphErrorBody
	if json.Unmarshal(body, &g) == nil {
		se.Code = shorten(g.Error.Code, 100)
		se.Message = shorten(g.Error.Message, 300)
		if se.RequestID == "" {
			se.RequestID = shorten(g.Error.InnerError.RequestID, 100)
		}
	}
	if se.Message == "" && se.Code == "" {
		se.Message = http.StatusText(status)
	}
	return se
}

// graphError classifies a non-2xx Graph answer.
func (s *Sender) graphError(resp *response) error {
	se := parseGraphError(resp.status, resp.header, resp.body)
	ra := retryAfter(resp.header, s.cfg.Now())
	switch se.Code {
	case "ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorNonExistentMailbox":
		return deliveryErr(mailqueue.ClassConfig, "graph", se.Status, hintMbox, 0, se)
	case "ErrorSendAsDenied":
		return deliveryErr(mailqueue.ClassConfig, "graph", se.Status,
			"the From header is not the sender mailbox and the mailbox has no Send As right on it", 0, se)
	case "ErrorMessageSizeExceeded":
		return deliveryErr(mailqueue.ClassPermanent, "graph", se.Status, "the message exceeds the mailbox's send size limit", 0, se)
	}
	switch st := resp.status; {
	case st == http.StatusUnauthorized:
		return deliveryErr(mailqueue.ClassConfig, "graph", st, hintGraph, 0, fmt.Errorf("%w: %w", ErrTokenRejected, se))
	case st == http.StatusForbidden:
		return deliveryErr(mailqueue.ClassConfig, "graph", st, hintGraph, 0, se)
	case st == http.StatusNotFound:
		return deliveryErr(mailqueue.ClassConfig, "graph", st, hintMbox+" (or check the Graph URL)", 0, se)
	case st == http.StatusRequestEntityTooLarge:
		return deliveryErr(mailqueue.ClassPermanent, "graph", st,
			"Graph refused the request size; send large messages with mode smtp", 0, fmt.Errorf("%w: %w", ErrTooLargeForGraph, se))
	case st == http.StatusTooManyRequests, st == http.StatusServiceUnavailable, st == http.StatusGatewayTimeout,
		st == http.StatusRequestTimeout:
		return deliveryErr(mailqueue.ClassTemporary, "graph", st, "", ra, se)
	case st >= 500:
		return deliveryErr(mailqueue.ClassTemporary, "graph", st, "", ra, se)
	case st >= 400:
		// 400 "Invalid base64 string for MIME content." and other refusals
		// of this one request: retrying the same bytes cannot help.
		return deliveryErr(mailqueue.ClassPermanent, "graph", st, "", 0, se)
	default:
		// 1xx/3xx: redirects are followed by the client, so this is a
		// misbehaving gateway; try again later.
		return deliveryErr(mailqueue.ClassTemporary, "graph", st, "", ra, se)
	}
}

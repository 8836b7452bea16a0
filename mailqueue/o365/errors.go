package o365

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Sentinel errors, found with errors.Is in the chain of a
// *mailqueue.DeliveryError.
var (
	// ErrTooLargeForGraph: the base64 request body would exceed Graph's
	// 4 MB payload limit. The message is refused before sending
	// (ClassPermanent); SMTP mode accepts up to the mailbox's size limit.
	ErrTooLargeForGraph = errors.New("o365: message too large for Graph (request over 4 MB)")
	// ErrTokenRejected: the service refused a token twice in a row, the
	// second one freshly fetched (ClassConfig).
	ErrTokenRejected = errors.New("o365: access token rejected by the service")
	// ErrClosed: Send or TestConnection was called after Close.
	ErrClosed = errors.New("o365: sender closed")
	// ErrNoRecipients: the envelope has no recipient (ClassPermanent).
	ErrNoRecipients = errors.New("o365: envelope has no recipients")
	// ErrBadRecipient: an envelope recipient is not a plain mailbox
	// address (ClassPermanent).
	ErrBadRecipient = errors.New("o365: bad envelope recipient")
)

// TokenError is a refusal from the token endpoint, with the OAuth error
// code ("invalid_client") and the Azure AD error codes (AADSTS7000215).
type TokenError struct {
	// Scope is the scope that was requested.
	Scope string
	// Status is the HTTP status of the token response.
	Status int
	// Code is the OAuth 2.0 error code (RFC 6749 §5.2).
	Code string
	// AADCodes are the Azure AD error numbers ("error_codes"), e.g.
	// 7000215 for a wrong secret; the message shows them as AADSTS<n>.
	AADCodes []int
	// Description is the error_description, shortened and scrubbed of the
	// client secret.
	Description string
}

// Error names the scope, status, codes and description.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "o365: token request for %s refused (HTTP %d", e.Scope, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	for _, c := range e.AADCodes {
		fmt.Fprintf(&b, " AADSTS%d", c)
	}
	b.WriteString(")")
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// ServiceError is an error answer of Graph or EWS, with its status and the
// service's own error code.
type ServiceError struct {
	// Service is "graph" or "ews".
	Service string
	// Status is the HTTP status.
	Status int
	// Code is the Graph error code ("ErrorAccessDenied") or the EWS
	// ResponseCode ("ErrorServerBusy"); "" when the body had none.
	Code string
	// Message is the service's explanation, shortened.
	Message string
	// RequestID is Graph's request-id header or EWS's request id, for
	// Microsoft support; "" when absent.
	RequestID string
}

// Error names the service, status, code and message.
func (e *ServiceError) Error() string {
	s := fmt.Sprintf("o365: %s answered HTTP %d", e.Service, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// Hints shown with configuration alarms.
const (
	hintToken = "check the tenant ID, application ID and client secret of the app registration (secrets expire; create a new one in Entra ID > App registrations > Certificates & secrets)"
	hintGraph = "grant the application permission Mail.Send (Microsoft Graph, type Application) with admin consent, and make sure the RBAC for Applications scope or application access policy includes the sender mailbox"
	hintSMTP  = "grant the application permission SMTP.SendAsApp (Office 365 Exchange Online) with admin consent, register the service principal in Exchange Online (New-ServicePrincipal with the enterprise application's object ID), give it FullAccess on the sender mailbox (Add-MailboxPermission), and allow SMTP AUTH for the mailbox"
	hintEWS   = "grant the application permission full_access_as_app (Office 365 Exchange Online) with admin consent and allow impersonation of the sender mailbox; Exchange Online disables EWS from October 2026: switch to mode graph"
	hintMbox  = "the sender mailbox was not found: check the address and that it is a licensed Exchange Online mailbox"
)

func deliveryErr(class mailqueue.Class, step string, code int, hint string, retryAfter time.Duration, err error) *mailqueue.DeliveryError {
	return &mailqueue.DeliveryError{Class: class, Step: step, Code: code, Hint: hint, RetryAfter: retryAfter, Err: err}
}

// shorten trims service text to one readable line of at most n bytes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

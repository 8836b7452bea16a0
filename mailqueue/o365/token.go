package o365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Token cache timing.
const (
	// maxSkew is how long before expiry a cached token is replaced;
	// Microsoft tokens live ~60-90 min, so 5 min leaves room for a long
	// upload without ever presenting a token that is about to expire.
	maxSkew = 5 * time.Minute
	// fallbackLifetime is assumed when a token response omits expires_in
	// (Microsoft always sends it; other authorities may not).
	fallbackLifetime = 10 * time.Minute
	// maxLifetime caps the lifetime a token response claims (Microsoft
	// tokens live at most about a day), so an absurd expires_in neither
	// overflows nor keeps a token cached forever.
	maxLifetime = 24 * time.Hour
)

// tokenSource fetches client-credentials tokens for one scope and caches
// them. It is safe for concurrent use: one fetch at a time, waiters honour
// their context.
type tokenSource struct {
	cc     clientcredentials.Config
	scope  string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	secret string

	lock      chan struct{} // one holder at a time; guards tok, expiry, refreshAt
	tok       string
	expiry    time.Time
	refreshAt time.Time
}

func newTokenSource(r resolved, scope string) *tokenSource {
	return &tokenSource{
		cc: clientcredentials.Config{
			ClientID:     r.ClientID,
			ClientSecret: r.ClientSecret.Reveal(),
			TokenURL:     r.tokenURL,
			Scopes:       []string{scope},
			// Entra ID accepts both; auto-detection would send every
			// failing request twice (Basic first, then the form).
			AuthStyle: oauth2.AuthStyleInParams,
		},
		scope:  scope,
		client: r.HTTPClient,
		now:    r.Now,
		log:    r.Logger,
		secret: r.ClientSecret.Reveal(),
		lock:   make(chan struct{}, 1),
	}
}

func (s *tokenSource) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *tokenSource) release() { <-s.lock }

// Token returns a cached token that is valid for at least the skew, or
// fetches a new one. Errors are *mailqueue.DeliveryError at step "token".
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", deliveryErr(mailqueue.ClassTransport, "token", 0, "", 0, fmt.Errorf("o365: waiting for the token: %w", err))
	}
	defer s.release()
	now := s.now()
	if s.tok != "" && now.Before(s.refreshAt) {
		return s.tok, nil
	}
	// The HTTP client travels in the context only for this call, as
	// x/oauth2 requires; callers never have to put it there.
	t, err := s.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, s.client))
	if err != nil {
		de := s.classify(err)
		s.log.LogAttrs(ctx, slog.LevelDebug, "o365: token request failed",
			slog.String("scope", s.scope), slog.String("class", de.Class.String()), slog.String("error", de.Error()))
		return "", de
	}
	lifetime := tokenLifetime(t)
	skew := min(maxSkew, lifetime/4)
	// The lifetime counts from when the service issued the token, which
	// is after now: expiry is judged early by the round trip, never late.
	s.tok = t.AccessToken
	s.expiry = now.Add(lifetime)
	s.refreshAt = s.expiry.Add(-skew)
	s.log.LogAttrs(ctx, slog.LevelDebug, "o365: token fetched",
		slog.String("scope", s.scope), slog.Duration("lifetime", lifetime), slog.Time("refresh_at", s.refreshAt))
	return s.tok, nil
}

// Invalidate drops tok from the cache if it is still the cached token, so
// the next Token call fetches a new one (used once when a service rejects
// a token the cache thought valid). It waits for a fetch in progress no
// longer than ctx allows; when ctx ends first the token stays, and the
// caller, whose context has ended, gives up anyway.
func (s *tokenSource) Invalidate(ctx context.Context, tok string) {
	if s.acquire(ctx) != nil {
		return
	}
	defer s.release()
	if s.tok == tok {
		s.tok = ""
		s.log.Info("o365: service rejected a cached token; fetching a new one", slog.String("scope", s.scope))
	}
}

// dropCurrent forgets the cached token whatever it is (the SMTP sender
// reports a rejection without saying which token it used). Like
// Invalidate, it waits no longer than ctx allows.
func (s *tokenSource) dropCurrent(ctx context.Context) {
	if s.acquire(ctx) != nil {
		return
	}
	defer s.release()
	if s.tok != "" {
		s.tok = ""
		s.log.Info("o365: service rejected the cached token; fetching a new one", slog.String("scope", s.scope))
	}
}

// tokenLifetime reads expires_in from the raw response (so the injected
// clock decides expiry), falling back to the library's computed expiry.
func tokenLifetime(t *oauth2.Token) time.Duration {
	var secs float64
	switch v := t.Extra("expires_in").(type) {
	case float64:
		secs = v
	case json.Number:
		secs, _ = v.Float64()
	case string:
		secs, _ = strconv.ParseFloat(v, 64)
	}
	if secs > 0 {
		// Beyond maxLifetime the conversion would overflow (an expires_in of 1e11 s became
		// a negative Duration: a token judged stale at once, fetched
		// again for every message).
		if secs >= maxLifetime.Seconds() {
			return maxLifetime
		}
		return time.Duration(secs * float64(time.Second))
	}
	if !t.Expiry.IsZero() {
		if d := time.Until(t.Expiry); d > 0 {
			return min(d, maxLifetime)
		}
		return time.Second
	}
	return fallbackLifetime
}

var aadCodeRE = regexp.MustCompile(`AADSTS(\d+)`)

// classify turns a token fetch failure into a delivery error: refusals
// (4xx) are configuration errors carrying the AAD codes, endpoint trouble
// (network, 5xx, 429) is a transport error.
func (s *tokenSource) classify(err error) *mailqueue.DeliveryError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		te := &TokenError{
			Scope:       s.scope,
			Status:      re.Response.StatusCode,
			Code:        re.ErrorCode,
			Description: s.scrub(shorten(firstLine(re.ErrorDescription), 300)),
		}
		var body struct {
			Error      string `json:"error"`
			ErrorCodes []int  `json:"error_codes"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			te.AADCodes = body.ErrorCodes
			if te.Code == "" {
				te.Code = body.Error
			}
		}
		if len(te.AADCodes) == 0 {
			for _, m := range aadCodeRE.FindAllStringSubmatch(re.ErrorDescription, 3) {
				if n, err := strconv.Atoi(m[1]); err == nil {
					te.AADCodes = append(te.AADCodes, n)
				}
			}
		}
		status := te.Status
		switch {
		case status == http.StatusTooManyRequests || status >= 500:
			return deliveryErr(mailqueue.ClassTransport, "token", status, "", retryAfter(re.Response.Header, s.now()), te)
		default:
			return deliveryErr(mailqueue.ClassConfig, "token", status, tokenHint(te), 0, te)
		}
	}
	// Network failures, a cancelled context or an unreadable answer: the
	// endpoint is not usable right now.
	return deliveryErr(mailqueue.ClassTransport, "token", 0, "", 0, &scrubbedError{msg: s.scrub(err.Error()), err: err})
}

func tokenHint(te *TokenError) string {
	for _, c := range te.AADCodes {
		switch c {
		case 90002, 90023:
			return "tenant not found: check the directory (tenant) ID and the authentication URL of the cloud"
		case 7000222:
			return "the client secret has expired: create a new one in Entra ID > App registrations > Certificates & secrets"
		case 700016:
			return "application not found in the tenant: check the application (client) ID and the tenant ID"
		case 500011, 70011, 1002012:
			return "the token scope is not valid for this tenant: check the server URL (or scope override) and the cloud"
		}
	}
	if te.Code == "invalid_scope" {
		return "the token scope is not valid for this tenant: check the server URL (or scope override) and the cloud"
	}
	return hintToken
}

func (s *tokenSource) scrub(msg string) string {
	if s.secret == "" {
		return msg
	}
	for _, form := range []string{s.secret, url.QueryEscape(s.secret), url.PathEscape(s.secret)} {
		msg = strings.ReplaceAll(msg, form, "[REDACTED]")
	}
	return msg
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// scrubbedError shows a cleaned message while keeping the cause for
// errors.Is/As (context.Canceled, *url.Error).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return "o365: token request failed: " + e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Claims are the parts of an access token that TestConnection reports.
// Microsoft access tokens are JWTs (RFC 7519); the signature is the
// service's business, so it is not checked here.
type Claims struct {
	// Audience is the resource the token is for ("aud").
	Audience string `json:"aud"`
	// Roles are the application permissions granted with admin consent.
	Roles []string `json:"roles"`
	// TenantID is the issuing tenant ("tid").
	TenantID string `json:"tid"`
	// AppID is the application ("appid" in v1 tokens, "azp" in v2).
	AppID string `json:"appid"`
	// AZP is the authorized party of v2 tokens.
	AZP string `json:"azp"`
}

// ParseClaims decodes the payload of a JWT access token without verifying
// it. ok is false for opaque tokens.
func ParseClaims(token string) (c Claims, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return Claims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, false
	}
	// "aud" may be a string or an array (RFC 7519 §4.1.3); the outer
	// field shadows Claims.Audience while decoding.
	var aux struct {
		Claims
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(raw, &aux) != nil {
		return Claims{}, false
	}
	c = aux.Claims
	var one string
	var many []string
	if json.Unmarshal(aux.Aud, &one) == nil {
		c.Audience = one
	} else if json.Unmarshal(aux.Aud, &many) == nil && len(many) > 0 {
		c.Audience = many[0]
	}
	if c.AppID == "" {
		c.AppID = c.AZP
	}
	return c, true
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date
// (RFC 9110 §10.2.3). 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

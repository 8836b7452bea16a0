package adminui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection is a signed double-submit cookie (OWASP CSRF cheat
// sheet): the browser holds a random nonce in an HttpOnly, SameSite=Strict
// cookie, every form carries HMAC-SHA256(key, nonce), and a state-changing
// request is accepted only when the form token equals the HMAC of the
// cookie it came with (constant-time compare). An attacker who can plant a
// cookie (a sibling subdomain) still cannot compute the matching token
// without the key. http.CrossOriginProtection (Sec-Fetch-Site / Origin)
// is layered in front of it.

// csrfField is the name of the hidden form field that carries the token.
const csrfField = "csrf_token"

// csrfNonceLen is the cookie nonce length: 256 bits.
const csrfNonceLen = 32

// csrfCookieName returns the cookie name: "__Host-" prefixed when the
// cookie is Secure (the browser then refuses it from a sibling domain or
// with a Domain attribute).
func (h *handler) csrfCookieName(secure bool) string {
	if secure {
		return "__Host-ucx_csrf"
	}
	return "ucx_csrf"
}

func (h *handler) secure(r *http.Request) bool { return h.opts.SecureCookie || r.TLS != nil }

// csrfNonce returns the request's nonce, setting a new cookie on w when
// the request has none. The nonce is never shown; the page gets its HMAC.
func (h *handler) csrfNonce(w http.ResponseWriter, r *http.Request) string {
	secure := h.secure(r)
	if c, err := r.Cookie(h.csrfCookieName(secure)); err == nil && validNonce(c.Value) {
		return c.Value
	}
	b := make([]byte, csrfNonceLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	nonce := base64.RawURLEncoding.EncodeToString(b)
	path := h.base
	if path == "" || secure {
		// __Host- cookies must have Path=/.
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.csrfCookieName(secure),
		Value:    nonce,
		Path:     path,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	})
	return nonce
}

// csrfToken is the form token for nonce.
func (h *handler) csrfToken(nonce string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte("adminui-csrf-v1\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether r carries a cookie nonce and a form token
// that matches it. The form must already be parsed.
func (h *handler) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.csrfCookieName(h.secure(r)))
	if err != nil || !validNonce(c.Value) {
		return false
	}
	got := r.PostFormValue(csrfField)
	if got == "" {
		return false
	}
	want := h.csrfToken(c.Value)
	return hmac.Equal([]byte(got), []byte(want))
}

func validNonce(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == csrfNonceLen
}

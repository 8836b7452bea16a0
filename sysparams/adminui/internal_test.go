package adminui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// csrfRequest is a parsed POST with the CSRF cookie and form token.
func csrfRequest(cookie, token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(url.Values{csrfField: {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" && !strings.ContainsAny(cookie, ";\" \t\r\n,\\") {
		r.AddCookie(&http.Cookie{Name: "ucx_csrf", Value: cookie})
	}
	_ = r.ParseForm()
	return r
}

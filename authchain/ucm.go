package authchain

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// UCM defaults.
const (
	// DefaultAXLVersion is the AXL schema version used when none is given.
	DefaultAXLVersion = "12.5"
	// DefaultUCMTimeout bounds one AXL request.
	DefaultUCMTimeout = 10 * time.Second
	// maxAXLResponse caps the response body read (a doAuthenticateUser
	// answer is a few hundred bytes).
	maxAXLResponse = 1 << 20
)

// UCMConfig configures a UCMAuthenticator (Cisco Unified CM AXL
// doAuthenticateUser, SOAP 1.1 over HTTPS).
type UCMConfig struct {
	// URL is the AXL endpoint, "https://cucm.example.com:8443/axl/". A
	// bare host ("cucm.example.com") means that form. Required; https only.
	URL string `json:"url"`
	// Version is the AXL schema version ("12.5", "14.0"), used in the
	// namespace and the SOAPAction header. Empty means 12.5.
	Version string `json:"version,omitempty"`
	// AXLUser is the AXL application user (HTTP Basic), not the end user.
	AXLUser string `json:"axl_user"`
	// AXLPassword is AXLUser's password.
	AXLPassword Secret `json:"axl_password"`
	// CAFile is a PEM file of trust anchors for CUCM's Tomcat certificate
	// (usually self-signed). Empty means RootCAs or the system pool.
	CAFile string `json:"ca_file,omitempty"`
	// RootCAs are trust anchors given in code; they take precedence over
	// CAFile.
	RootCAs *x509.CertPool `json:"-"`
	// ServerName is the name verified in the certificate. Empty means the
	// URL's host.
	ServerName string `json:"server_name,omitempty"`
	// InsecureSkipVerify disables certificate verification; only for
	// tests and emergencies.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// Timeout bounds one request within the caller's deadline. Zero means
	// 10 s; at most 5 minutes.
	Timeout Duration `json:"timeout,omitempty"`
	// Transport carries the requests (a proxy-aware transport, for
	// example). Nil means a clone of http.DefaultTransport with the TLS
	// settings above; a non-nil Transport is used as is.
	Transport http.RoundTripper `json:"-"`
	// Logger receives password-expiry notices. Nil means silent.
	Logger *slog.Logger `json:"-"`
}

var axlVersionRE = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]$`)

// endpoint returns the effective AXL URL.
func (c UCMConfig) endpoint() (*url.URL, error) {
	raw := c.URL
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw + ":8443/axl/"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Path == "" {
		u.Path = "/axl/"
	}
	return u, nil
}

// Validate reports every problem, naming the JSON fields.
func (c UCMConfig) Validate() error {
	var l fielderr.List
	if c.URL == "" {
		l.Add("url", "is required")
	} else if u, err := c.endpoint(); err != nil || u.Hostname() == "" {
		l.Add("url", "must be https://host[:port]/axl/ or a host name, got %q", c.URL)
	} else if u.Scheme != "https" {
		l.Add("url", "must use https (the AXL password would cross the network in clear), got %q", u.Scheme)
	} else if u.User != nil {
		l.Add("url", "must not carry credentials; use axl_user and axl_password")
	}
	if c.Version != "" && !axlVersionRE.MatchString(c.Version) {
		l.Add("version", "must look like \"12.5\", got %q", c.Version)
	}
	if c.AXLUser == "" {
		l.Add("axl_user", "is required")
	} else if strings.ContainsAny(c.AXLUser, ":\r\n") {
		l.Add("axl_user", "must not contain ':' or line breaks")
	}
	if !c.AXLPassword.IsSet() {
		l.Add("axl_password", "is required")
	}
	if c.Timeout < 0 || c.Timeout.D() > 5*time.Minute {
		l.Add("timeout", "must be 0 (default 10s) or up to 5m, got %s", c.Timeout)
	}
	return l.Err()
}

// AXLFault is a SOAP fault returned by AXL. It is the Cause of an
// ErrUnavailable *AuthError: a fault is never a verdict on the password.
type AXLFault struct {
	// HTTPStatus is the response status (usually 500).
	HTTPStatus int
	// Code and String are faultcode and faultstring.
	Code, String string
	// AXLCode and AXLMessage come from detail/axlError when present.
	AXLCode    int
	AXLMessage string
}

// Error describes the fault.
func (f *AXLFault) Error() string {
	s := fmt.Sprintf("authchain: axl fault (http %d) %s: %s", f.HTTPStatus, f.Code, f.String)
	if f.AXLMessage != "" {
		s += fmt.Sprintf(" [axlcode %d: %s]", f.AXLCode, f.AXLMessage)
	}
	return s
}

// UCMAuthenticator checks end-user passwords with AXL doAuthenticateUser.
// It is safe for concurrent use.
type UCMAuthenticator struct {
	cfg UCMConfig // AXLPassword cleared: see axlPassword
	// axlPassword is behind a pointer to a string, which fmt never
	// dereferences (see LDAPAuthenticator.bindPassword).
	axlPassword *Secret
	url         string
	ns          string
	action      string
	client      *http.Client
	timeout     time.Duration
}

var _ Authenticator = (*UCMAuthenticator)(nil)

// NewUCMAuthenticator validates cfg and returns an authenticator. It does
// not contact CUCM.
func NewUCMAuthenticator(cfg UCMConfig) (*UCMAuthenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := cfg.endpoint()
	v := cfg.Version
	if v == "" {
		v = DefaultAXLVersion
	}
	pw := cfg.AXLPassword
	cfg.AXLPassword = NewSecret("")
	a := &UCMAuthenticator{
		cfg:         cfg,
		axlPassword: &pw,
		url:         u.String(),
		ns:          "http://www.cisco.com/AXL/API/" + v,
		action:      `"CUCM:DB ver=` + v + ` doAuthenticateUser"`,
		timeout:     cfg.Timeout.D(),
	}
	if a.timeout == 0 {
		a.timeout = DefaultUCMTimeout
	}
	rt := cfg.Transport
	if rt == nil {
		roots := cfg.RootCAs
		if roots == nil && cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, &FieldError{Field: "ca_file", Problem: fmt.Sprintf("cannot read: %v", err)}
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, &FieldError{Field: "ca_file", Problem: "holds no PEM certificate"}
			}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: cfg.ServerName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // explicit option
		rt = tr
	}
	a.client = &http.Client{
		Transport: rt,
		// AXL does not redirect; following one could send the Basic
		// credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return a, nil
}

// axlRequest is the doAuthenticateUser envelope; encoding/xml escapes the
// user id and password, so "<", "&" and "]]>" travel as text.
type axlRequest struct {
	XMLName xml.Name `xml:"soapenv:Envelope"`
	SoapNS  string   `xml:"xmlns:soapenv,attr"`
	AXLNS   string   `xml:"xmlns:ns,attr"`
	Header  struct{} `xml:"soapenv:Header"`
	Body    struct {
		Op struct {
			UserID   string `xml:"userid"`
			Password string `xml:"password"`
		} `xml:"ns:doAuthenticateUser"`
	} `xml:"soapenv:Body"`
}

// axlResponse matches by local names, whatever the prefixes.
type axlResponse struct {
	Body struct {
		Response *struct {
			Return struct {
				UserAuthenticated *string `xml:"userAuthenticated"`
				Code              string  `xml:"code"`
				DaysToExpiry      *string `xml:"daysToExpiry"`
			} `xml:"return"`
		} `xml:"doAuthenticateUserResponse"`
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				AXLError struct {
					Code    string `xml:"axlcode"`
					Message string `xml:"axlmessage"`
				} `xml:"axlError"`
			} `xml:"detail"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

// UCMAnswer is a parsed doAuthenticateUser response.
type UCMAnswer struct {
	// Authenticated is userAuthenticated, read from any of its six forms
	// t, f, true, false, 1, 0.
	Authenticated bool
	// Code is the IMS result code (informational).
	Code int
	// DaysToExpiry is the password's remaining validity, when reported.
	DaysToExpiry *int
}

// ParseAXLBoolean reads axlapi:boolean: t, f, true, false, 1 or 0
// (surrounding white space ignored).
func ParseAXLBoolean(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "t", "true", "1":
		return true, nil
	case "f", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("authchain: axl boolean %q is not one of t f true false 0 1", s)
}

// ParseUCMResponse parses a doAuthenticateUser response body. A SOAP
// fault is returned as *AXLFault.
func ParseUCMResponse(status int, body []byte) (UCMAnswer, error) {
	var r axlResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return UCMAnswer{}, fmt.Errorf("authchain: axl response (http %d) is not SOAP: %w", status, err)
	}
	if f := r.Body.Fault; f != nil {
		code, _ := strconv.Atoi(strings.TrimSpace(f.Detail.AXLError.Code))
		return UCMAnswer{}, &AXLFault{HTTPStatus: status, Code: strings.TrimSpace(f.Code), String: strings.TrimSpace(f.String),
			AXLCode: code, AXLMessage: strings.TrimSpace(f.Detail.AXLError.Message)}
	}
	if r.Body.Response == nil || r.Body.Response.Return.UserAuthenticated == nil {
		return UCMAnswer{}, fmt.Errorf("authchain: axl response (http %d) has no doAuthenticateUserResponse/return/userAuthenticated", status)
	}
	ret := r.Body.Response.Return
	ok, err := ParseAXLBoolean(*ret.UserAuthenticated)
	if err != nil {
		return UCMAnswer{}, err
	}
	ans := UCMAnswer{Authenticated: ok}
	if c := strings.TrimSpace(ret.Code); c != "" {
		if ans.Code, err = strconv.Atoi(c); err != nil {
			return UCMAnswer{}, fmt.Errorf("authchain: axl code %q is not an integer", c)
		}
	}
	if ret.DaysToExpiry != nil && strings.TrimSpace(*ret.DaysToExpiry) != "" {
		d, err := strconv.Atoi(strings.TrimSpace(*ret.DaysToExpiry))
		if err != nil {
			return UCMAnswer{}, fmt.Errorf("authchain: axl daysToExpiry %q is not an integer", *ret.DaysToExpiry)
		}
		ans.DaysToExpiry = &d
	}
	return ans, nil
}

// Authenticate implements Authenticator for user.PBXUsername. The password
// is never logged; an empty one is refused without a request.
func (a *UCMAuthenticator) Authenticate(ctx context.Context, user User, password string) error {
	if password == "" {
		return denied(MethodUCM, ReasonEmptyPassword, nil)
	}
	if user.PBXUsername == "" {
		return denied(MethodUCM, ReasonInvalidCredentials, errors.New("user has no pbx username"))
	}
	ans, err := a.Check(ctx, user.PBXUsername, password)
	if err != nil {
		return err
	}
	if !ans.Authenticated {
		return denied(MethodUCM, ReasonInvalidCredentials, nil)
	}
	if ans.DaysToExpiry != nil && a.cfg.Logger != nil {
		a.cfg.Logger.InfoContext(ctx, "authchain: ucm password expiry", "pbx_user", user.PBXUsername, "days", *ans.DaysToExpiry)
	}
	return nil
}

// Check sends doAuthenticateUser for userid and returns CUCM's answer.
// Failures are *AuthError values matching ErrUnavailable.
func (a *UCMAuthenticator) Check(ctx context.Context, userid, password string) (UCMAnswer, error) {
	var req axlRequest
	req.SoapNS = "http://schemas.xmlsoap.org/soap/envelope/"
	req.AXLNS = a.ns
	req.Body.Op.UserID = userid
	req.Body.Op.Password = password
	body, err := xml.Marshal(req)
	if err != nil {
		return UCMAnswer{}, unavailable(MethodUCM, ReasonServerError, err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(append([]byte(xml.Header), body...)))
	if err != nil {
		return UCMAnswer{}, unavailable(MethodUCM, ReasonConfig, err)
	}
	hr.SetBasicAuth(a.cfg.AXLUser, a.axlPassword.Reveal())
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hr.Header.Set("SOAPAction", a.action)
	resp, err := a.client.Do(hr)
	if err != nil {
		return UCMAnswer{}, classifyHTTP(ctx, MethodUCM, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAXLResponse))
	if err != nil {
		return UCMAnswer{}, classifyHTTP(ctx, MethodUCM, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return UCMAnswer{}, unavailable(MethodUCM, ReasonConfig, fmt.Errorf("axl user %q rejected (http %d)", a.cfg.AXLUser, resp.StatusCode))
	case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusInternalServerError:
		ans, err := ParseUCMResponse(resp.StatusCode, raw)
		if err != nil {
			return UCMAnswer{}, unavailable(MethodUCM, ReasonServerError, err)
		}
		if resp.StatusCode != http.StatusOK {
			return UCMAnswer{}, unavailable(MethodUCM, ReasonServerError, fmt.Errorf("axl http %d without a fault", resp.StatusCode))
		}
		return ans, nil
	default:
		return UCMAnswer{}, unavailable(MethodUCM, ReasonServerError, fmt.Errorf("axl http %d", resp.StatusCode))
	}
}

// classifyHTTP maps a transport error of an HTTP-based method.
func classifyHTTP(ctx context.Context, m Method, err error) error {
	var (
		ne  net.Error
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie), errors.As(err, &rhe):
		return unavailable(m, ReasonTLS, err)
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return unavailable(m, ReasonTimeout, err)
	default:
		return unavailable(m, ReasonUnreachable, err)
	}
}

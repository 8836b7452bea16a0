package smtpsend

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
)

// TokenSource supplies OAuth 2.0 access tokens for AUTH XOAUTH2.
//
// Token is called immediately before each AUTH. refresh is true when the
// server has just rejected the previous token (535): the source must then
// fetch a new token instead of serving a cached one. The Sender retries
// AUTH once with the refreshed token before reporting a configuration error.
type TokenSource interface {
	Token(ctx context.Context, refresh bool) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context, refresh bool) (string, error)

// Token calls f(ctx, refresh).
func (f TokenFunc) Token(ctx context.Context, refresh bool) (string, error) { return f(ctx, refresh) }

var _ TokenSource = TokenFunc(nil)

// TokenCache is a TokenSource that caches the token returned by Fetch until
// shortly before it expires, and fetches a new one on refresh. It is safe for
// concurrent use.
//
// Use it with golang.org/x/oauth2/clientcredentials, whose Config.Token(ctx)
// fetches a new token on every call:
//
//	cc := &clientcredentials.Config{...}
//	cfg.Tokens = &smtpsend.TokenCache{Fetch: cc.Token}
type TokenCache struct {
	// Fetch obtains a new token from the authorization server.
	Fetch func(ctx context.Context) (*oauth2.Token, error)
	// EarlyExpiry renews a token this long before its expiry; 0 means
	// 5 minutes (a long fax upload must not start with a token about to
	// expire).
	EarlyExpiry time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu  sync.Mutex    // guards tok
	tok *oauth2.Token // guarded by mu
}

// Token returns the cached token while it is valid and refresh is false,
// otherwise a newly fetched one.
func (c *TokenCache) Token(ctx context.Context, refresh bool) (string, error) {
	if c.Fetch == nil {
		return "", errors.New("smtpsend: TokenCache.Fetch is nil")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	early := c.EarlyExpiry
	if early == 0 {
		early = 5 * time.Minute
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !refresh && c.tok != nil && c.tok.AccessToken != "" &&
		(c.tok.Expiry.IsZero() || now().Add(early).Before(c.tok.Expiry)) {
		return c.tok.AccessToken, nil
	}
	tok, err := c.Fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok == nil || tok.AccessToken == "" {
		return "", errors.New("smtpsend: token endpoint returned an empty access token")
	}
	c.tok = tok
	return tok.AccessToken, nil
}

// xoauth2Client implements the XOAUTH2 SASL mechanism (Google and Microsoft
// documentation; go-sasl dropped it). The initial client response is
// "user=" user ^A "auth=Bearer " token ^A ^A. On failure the server sends a
// 334 challenge holding a JSON error; the client answers with an empty line
// and the server then replies 535.
type xoauth2Client struct {
	user, token string
	// initial sends the response on the AUTH line; otherwise it is sent in
	// reply to the server's empty 334 challenge.
	initial bool
	sent    bool
	// serverErr is the JSON error the server sent, if any.
	serverErr string
}

func (a *xoauth2Client) response() []byte {
	return []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01")
}

// Start implements sasl.Client.
func (a *xoauth2Client) Start() (string, []byte, error) {
	if a.initial {
		a.sent = true
		return AuthXOAUTH2, a.response(), nil
	}
	return AuthXOAUTH2, nil, nil
}

// Next implements sasl.Client.
func (a *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	if !a.sent {
		a.sent = true
		return a.response(), nil
	}
	if a.serverErr != "" {
		// The error report was acknowledged; a server that keeps
		// challenging would keep the exchange going forever.
		return nil, sasl.ErrUnexpectedServerChallenge
	}
	// An error report: acknowledge it with an empty response so the server
	// finishes with its final status.
	a.serverErr = string(challenge)
	if a.serverErr == "" {
		a.serverErr = "(empty)"
	}
	return []byte{}, nil
}

// loginClient implements LOGIN without an initial response, answering the
// "Username:" and "Password:" prompts (in either order of detection: servers
// vary in the exact prompt text, so the first prompt is the user name).
type loginClient struct {
	user, pass string
	step       int
}

// Start implements sasl.Client.
func (a *loginClient) Start() (string, []byte, error) { return AuthLogin, nil, nil }

// Next implements sasl.Client.
func (a *loginClient) Next(challenge []byte) ([]byte, error) {
	c := strings.ToLower(string(challenge))
	a.step++
	switch {
	case a.step > 2:
		// Both prompts were answered; a server that keeps prompting
		// would keep the exchange going forever.
		return nil, sasl.ErrUnexpectedServerChallenge
	case strings.HasPrefix(c, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(c, "pass"):
		return []byte(a.pass), nil
	case a.step == 1:
		return []byte(a.user), nil
	case a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, sasl.ErrUnexpectedServerChallenge
}

// cramMD5Client implements CRAM-MD5 (RFC 2195).
type cramMD5Client struct {
	user, pass string
	done       bool
}

// Start implements sasl.Client.
func (a *cramMD5Client) Start() (string, []byte, error) { return AuthCRAMMD5, nil, nil }

// Next implements sasl.Client.
func (a *cramMD5Client) Next(challenge []byte) ([]byte, error) {
	if a.done {
		return nil, sasl.ErrUnexpectedServerChallenge
	}
	a.done = true
	m := hmac.New(md5.New, []byte(a.pass))
	m.Write(challenge)
	return []byte(a.user + " " + hex.EncodeToString(m.Sum(nil))), nil
}

// maxAuthRounds bounds the challenges of one AUTH exchange, whatever the
// mechanism: none of ours needs more than two.
const maxAuthRounds = 4

// roundLimit fails an exchange after maxAuthRounds challenges.
type roundLimit struct {
	sasl.Client
	rounds int
}

// Next implements sasl.Client.
func (r *roundLimit) Next(challenge []byte) ([]byte, error) {
	r.rounds++
	if r.rounds > maxAuthRounds {
		return nil, sasl.ErrUnexpectedServerChallenge
	}
	return r.Client.Next(challenge)
}

// plainClient is go-sasl's PLAIN client.
func plainClient(user, pass string) sasl.Client { return sasl.NewPlainClient("", user, pass) }

// chooseMechanism picks the mechanism to use given the configured one and
// the server's AUTH list (from the EHLO reply).
func chooseMechanism(configured string, offered []string) (string, error) {
	has := func(m string) bool {
		for _, o := range offered {
			if strings.EqualFold(o, m) {
				return true
			}
		}
		return false
	}
	if configured != "" {
		if !has(configured) {
			return "", fmt.Errorf("smtpsend: server does not offer AUTH %s (offers %s)", configured, strings.Join(offered, " "))
		}
		return configured, nil
	}
	for _, m := range []string{AuthPlain, AuthLogin, AuthCRAMMD5} {
		if has(m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("smtpsend: server offers no supported AUTH mechanism (offers %s)", strings.Join(offered, " "))
}

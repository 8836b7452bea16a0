package authchain

import (
	"context"
	"net/http"
)

// Authenticator checks one user's password with one method. It returns nil
// when the password is right, and otherwise an error matching ErrDenied
// (wrong credentials, account state) or ErrUnavailable (the method could
// not decide), preferably an *AuthError with a Reason. It must honour ctx
// and be safe for concurrent use.
type Authenticator interface {
	Authenticate(ctx context.Context, user User, password string) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, user User, password string) error

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, user User, password string) error {
	return f(ctx, user, password)
}

// SSOProvider is a redirect-based single sign-on method (OpenID Connect
// now; SAML fits the same shape). Begin answers the login request with a
// redirect to the identity provider; Finish validates the provider's
// callback request and returns the authenticated identity (the value the
// chain matches against User.SSOIdentity) and the local path to return to.
// Finish returns an error matching ErrDenied for a forged, replayed or
// expired callback and ErrUnavailable when the provider cannot be reached.
type SSOProvider interface {
	Begin(w http.ResponseWriter, r *http.Request, returnTo string) error
	Finish(w http.ResponseWriter, r *http.Request) (identity, returnTo string, err error)
}

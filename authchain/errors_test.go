package authchain

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthError(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:636: connect: connection refused")
	err := error(unavailable(MethodLDAP, ReasonUnreachable, cause))
	require.EqualError(t, err, "authchain: ldap: authentication method unavailable (unreachable): dial tcp 10.0.0.1:636: connect: connection refused")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, cause)
	require.NotErrorIs(t, err, ErrDenied)
	wrapped := fmt.Errorf("portal: %w", err)
	require.Equal(t, ReasonUnreachable, ReasonOf(wrapped))
	require.Equal(t, Reason(""), ReasonOf(cause))
	require.EqualError(t, denied(MethodLocal, ReasonInvalidCredentials, nil), "authchain: local: access denied (invalid_credentials)")
	// No method decided (empty password, directory failure): no empty
	// "authchain: : " segment.
	require.EqualError(t, denied(MethodNone, ReasonEmptyPassword, nil), "authchain: access denied (empty_password)")
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		err    error
		kind   error
		reason Reason
	}{
		"plain error":        {errors.New("boom"), ErrUnavailable, ReasonServerError},
		"wrapped denial":     {fmt.Errorf("x: %w", ErrDenied), ErrDenied, ReasonInvalidCredentials},
		"not configured":     {ErrNotConfigured, ErrNotConfigured, ReasonConfig},
		"deadline":           {context.DeadlineExceeded, ErrUnavailable, ReasonTimeout},
		"auth error kept":    {denied(MethodUCM, ReasonAccountLocked, nil), ErrDenied, ReasonAccountLocked},
		"auth error no kind": {&AuthError{Reason: ReasonTLS}, ErrUnavailable, ReasonTLS},
	} {
		t.Run(name, func(t *testing.T) {
			got := classify(ctx, MethodUCM, c.err)
			require.ErrorIs(t, got, c.kind)
			require.Equal(t, c.reason, ReasonOf(got))
			var ae *AuthError
			require.ErrorAs(t, got, &ae)
			require.Equal(t, MethodUCM, ae.Method)
		})
	}
}

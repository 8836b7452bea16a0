package authchain

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoryDirectory(t *testing.T) {
	ctx := context.Background()
	_, err := NewMemoryDirectory(User{Login: "a"}, User{Login: " A "})
	require.ErrorContains(t, err, `users[1]: login "a" appears twice`)
	_, err = NewMemoryDirectory(User{Login: ""})
	require.ErrorContains(t, err, "users[0]: login is empty")
	_, err = NewMemoryDirectory(User{Login: "a", SSOIdentity: "x@y"}, User{Login: "b", SSOIdentity: "X@Y"})
	require.ErrorContains(t, err, `sso identity "x@y" is also used by "a"`)

	d, err := NewMemoryDirectory(User{Login: "Alice", SSOIdentity: "Alice@Example.com", Roles: []string{"r"}})
	require.NoError(t, err)
	u, err := d.Lookup(ctx, "ALICE")
	require.NoError(t, err)
	require.Equal(t, "alice", u.Login)
	u.Roles[0] = "changed"
	u2, _ := d.Lookup(ctx, "alice")
	require.Equal(t, []string{"r"}, u2.Roles, "callers get copies")

	_, err = d.Lookup(ctx, "bob")
	require.ErrorIs(t, err, ErrUserNotFound)
	u, err = d.LookupSSO(ctx, "alice@example.COM")
	require.NoError(t, err)
	require.Equal(t, "alice", u.Login)

	// Put replaces the record and its SSO index entry.
	require.NoError(t, d.Put(User{Login: "alice", SSOIdentity: "new@example.com"}))
	_, err = d.LookupSSO(ctx, "alice@example.com")
	require.ErrorIs(t, err, ErrUserNotFound)
	_, err = d.LookupSSO(ctx, "new@example.com")
	require.NoError(t, err)

	require.NoError(t, d.UpdatePasswordHash(ctx, "ALICE", "h"))
	u, _ = d.Lookup(ctx, "alice")
	require.Equal(t, "h", u.PasswordHash)
	require.ErrorIs(t, d.UpdatePasswordHash(ctx, "nobody", "h"), ErrUserNotFound)
}

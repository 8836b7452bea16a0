package authchain

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
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

// TestMemoryDirectoryChecksHashes: a hash VerifyPassword cannot use is
// refused when the users are loaded, naming the user and the field; it
// used to surface only as a denied login.
func TestMemoryDirectoryChecksHashes(t *testing.T) {
	good, err := HashPassword("pw", Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1})
	require.NoError(t, err)
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	_, err = NewMemoryDirectory(User{Login: "a", PasswordHash: good}, User{Login: "b", PasswordHash: string(bc)}, User{Login: "c"})
	require.NoError(t, err)
	for hash, want := range map[string]string{
		"plain":          "unsupported password hash",
		"$argon2id$junk": "argon2id hash",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5": "memory",
		"$2b$04$tooshort": "bcrypt hash",
	} {
		_, err := NewMemoryDirectory(User{Login: "ok", PasswordHash: good}, User{Login: "bad", PasswordHash: hash})
		require.Error(t, err, hash)
		require.Contains(t, err.Error(), "users[1]: password_hash: ", hash)
		require.Contains(t, err.Error(), want, hash)
		require.NotContains(t, err.Error(), hash, "the hash itself is not echoed")
	}
	d, err := NewMemoryDirectory()
	require.NoError(t, err)
	require.Error(t, d.Put(User{Login: "x", PasswordHash: "md5:abc"}))
}

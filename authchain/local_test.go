package authchain

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("pässwörd", Argon2Params{})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	p, err := ParsePHC(h)
	require.NoError(t, err)
	require.Len(t, p.Salt, 16)
	require.Len(t, p.Key, 32)
	require.Equal(t, h, p.String())

	ok, rehash, err := VerifyPassword(h, "pässwörd", Argon2Params{})
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, err = VerifyPassword(h, "passwörd", Argon2Params{})
	require.NoError(t, err)
	require.False(t, ok)
	ok, rehash, err = VerifyPassword(h, "pässwörd", cheap)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash, "other parameters ask for a rehash")

	bh, err := bcrypt.GenerateFromPassword([]byte("old"), bcrypt.MinCost)
	require.NoError(t, err)
	ok, rehash, err = VerifyPassword(string(bh), "old", cheap)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash)
	ok, _, err = VerifyPassword(string(bh), "new", cheap)
	require.NoError(t, err)
	require.False(t, ok)

	_, _, err = VerifyPassword("plaintext", "plaintext", cheap)
	require.Error(t, err, "unknown hash formats are never compared as plain text")
}

func TestParsePHCRejects(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)
	_, err := ParsePHC(good)
	require.NoError(t, err)
	for name, in := range map[string]string{
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"version":       strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64", "m=4194304", 1),
		"huge t":        strings.Replace(good, "t=1", "t=1000", 1),
		"p zero":        strings.Replace(good, "p=1", "p=0", 1),
		"missing p":     strings.Replace(good, ",p=1", "", 1),
		"dup":           strings.Replace(good, "t=1", "m=1", 1),
		"short salt":    "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + strings.Repeat("A", 43),
		"padded":        strings.Replace(good, "c2FsdHNhbHRzYWx0", "c2FsdHNhbHRzYWx0==", 1),
		"leading zero":  strings.Replace(good, "m=64", "m=064", 1),
		"extra field":   good + "$x",
		"unknown param": strings.Replace(good, "p=1", "p=1,x=2", 1),
	} {
		_, err := ParsePHC(in)
		require.Error(t, err, name)
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43))
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePHC(s)
		if err != nil {
			return
		}
		again, err := ParsePHC(p.String())
		require.NoError(t, err)
		require.Equal(t, p, again)
	})
}

func TestLocalAuthenticator(t *testing.T) {
	l, err := NewLocalAuthenticator(LocalConfig{Params: cheap})
	require.NoError(t, err)
	h, err := l.Hash("pw")
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, l.Authenticate(ctx, User{Login: "a", PasswordHash: h}, "pw"))
	for name, c := range map[string]struct {
		u      User
		pw     string
		reason Reason
	}{
		"wrong":       {User{Login: "a", PasswordHash: h}, "PW", ReasonInvalidCredentials},
		"empty":       {User{Login: "a", PasswordHash: h}, "", ReasonEmptyPassword},
		"no hash":     {User{Login: "a"}, "pw", ReasonInvalidCredentials},
		"broken hash": {User{Login: "a", PasswordHash: "$argon2id$junk"}, "pw", ReasonInvalidCredentials},
	} {
		t.Run(name, func(t *testing.T) {
			err := l.Authenticate(ctx, c.u, c.pw)
			require.ErrorIs(t, err, ErrDenied)
			require.Equal(t, c.reason, ReasonOf(err))
		})
	}
	_, err = NewLocalAuthenticator(LocalConfig{Params: Argon2Params{Memory: 1, Iterations: 0, SaltLen: 2}})
	require.ErrorContains(t, err, "memory")
	require.ErrorContains(t, err, "iterations")
	require.ErrorContains(t, err, "salt_len")
}

func TestNormalizeLogin(t *testing.T) {
	for in, want := range map[string]string{
		"alice":             "alice",
		"  Alice\t":         "alice",
		"ALICE@EXAMPLE.COM": "alice@example.com",
		"Jos\u00e9":         "jos\u00e9",
		"JOSE\u0301":        "jos\u00e9", // decomposed é composes to the same login
		"Straße":            "strasse",   // full case folding
		"ΣΊΣΥΦΟΣ":           "σίσυφοσ",
		"":                  "",
		"\u13d3":            "\uaba3", // Cherokee: folding and lower-casing agree on one form
		"\uaba3":            "\uaba3",
	} {
		require.Equal(t, want, NormalizeLogin(in), in)
	}
}

func FuzzNormalizeLogin(f *testing.F) {
	for _, s := range []string{"Alice", "JOSE\u0301", "Straße", " x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeLogin(s)
		require.Equal(t, n, NormalizeLogin(n), "idempotent")
	})
}

package certgen

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if e.Name() != LockFile {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSaveFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "a", "certs")
	p := pairOf(t, KeyRSA2048)
	require.NoError(t, Save(dir, p))
	assert.Equal(t, os.FileMode(0o700), mode(t, dir))
	assert.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(dir, CertFile)))
	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, KeyFile)))
	assert.Equal(t, p.CertPEM(), readFile(t, filepath.Join(dir, CertFile)))
	assert.Equal(t, p.KeyPEM(), readFile(t, filepath.Join(dir, KeyFile)))
	assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir))

	// Replacing a pair whose files had loose modes sets them again.
	require.NoError(t, os.Chmod(filepath.Join(dir, KeyFile), 0o666))
	require.NoError(t, os.Chmod(filepath.Join(dir, CertFile), 0o600))
	q := pairOf(t, KeyECDSAP256)
	require.NoError(t, Save(dir, q))
	assert.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(dir, CertFile)))
	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, KeyFile)))
	assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir), "no backup or temp left")
	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, q.Serial(), got.Serial())

	assert.Error(t, Save(dir, nil))
}

func TestEnsureLifecycle(t *testing.T) {
	dir := t.TempDir()
	var logBuf bytes.Buffer
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	opts := Options{Host: "IAS01", KeyType: KeyECDSAP256, Now: fixedNow(now), Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}

	p, st, err := Ensure(dir, opts)
	require.NoError(t, err)
	assert.Equal(t, ActionCreated, st.Action)
	assert.Equal(t, StateValid, st.State)
	assert.Equal(t, p.Serial(), st.Serial)

	p2, st, err := Ensure(dir, opts)
	require.NoError(t, err)
	assert.Equal(t, ActionLoaded, st.Action)
	assert.Equal(t, p.Serial(), p2.Serial(), "loaded, not regenerated")

	// Options for new pairs do not change an existing one.
	o := opts
	o.KeyType = KeyRSA2048
	p2, _, err = Ensure(dir, o)
	require.NoError(t, err)
	assert.Equal(t, KeyECDSAP256, p2.KeyType())

	// Expiry is reported, not acted upon.
	o = opts
	o.Now = fixedNow(now.AddDate(6, 0, 0))
	p2, st, err = Ensure(dir, o)
	require.NoError(t, err)
	assert.Equal(t, StateExpired, st.State)
	assert.Equal(t, p.Serial(), p2.Serial())

	// Renamed computer: reported by default ...
	o = opts
	o.Host = "IAS02"
	p2, st, err = Ensure(dir, o)
	require.NoError(t, err)
	assert.Equal(t, StateHostnameMismatch, st.State)
	assert.Equal(t, ActionLoaded, st.Action)
	assert.Equal(t, []string{"IAS02"}, st.MissingNames)
	assert.Equal(t, p.Serial(), p2.Serial())

	// ... regenerated on request, with the same key type.
	o.RegenerateOnRename = true
	p3, st, err := Ensure(dir, o)
	require.NoError(t, err)
	assert.Equal(t, ActionRegenerated, st.Action)
	assert.Equal(t, StateValid, st.State)
	assert.Equal(t, "IAS02", p3.Certificate().Subject.CommonName)
	assert.NotEqual(t, p.Serial(), p3.Serial())
	assert.Equal(t, KeyECDSAP256, p3.KeyType())
	loaded, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, p3.Serial(), loaded.Serial())
	assert.Contains(t, logBuf.String(), "regenerated")
	assert.NotContains(t, logBuf.String(), "PRIVATE KEY")

	_, _, err = Ensure(dir, Options{})
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "host", fe.Field)
}

func TestEnsureRefusesMismatchedKey(t *testing.T) {
	dir := t.TempDir()
	a, b := pairOf(t, KeyECDSAP256), pairOf(t, KeyRSA2048)
	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), a.CertPEM(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFile), b.KeyPEM(), 0o600))

	p, st, err := Ensure(dir, Options{Host: "IAS_SRV01"})
	require.ErrorIs(t, err, ErrKeyMismatch)
	var fileErr *FileError
	require.ErrorAs(t, err, &fileErr)
	assert.Equal(t, filepath.Join(dir, KeyFile), fileErr.Path)
	assert.Nil(t, p)
	assert.Equal(t, StateKeyMismatch, st.State)
	assert.True(t, st.NeedsAction)
	assert.Equal(t, a.Serial(), st.Serial)
	assert.Equal(t, a.CertPEM(), readFile(t, filepath.Join(dir, CertFile)), "left as it was")
	assert.Equal(t, b.KeyPEM(), readFile(t, filepath.Join(dir, KeyFile)), "key not replaced")

	_, err = Load(dir)
	assert.ErrorIs(t, err, ErrKeyMismatch)
	st, err = Inspect(dir, Options{Host: "IAS_SRV01"})
	require.NoError(t, err)
	assert.Equal(t, StateKeyMismatch, st.State)

	// RenewDir is the explicit way out; it keeps the certificate's names.
	p, st, err = RenewDir(dir, Options{})
	require.NoError(t, err)
	assert.Equal(t, ActionRenewed, st.Action)
	assert.Equal(t, StateValid, st.State)
	assert.Equal(t, "IAS_SRV01", p.Certificate().Subject.CommonName)
	assert.Equal(t, a.Certificate().DNSNames, p.Certificate().DNSNames)
	_, err = Load(dir)
	assert.NoError(t, err)
}

func TestEnsureIncompleteDirs(t *testing.T) {
	p := pairOf(t, KeyECDSAP256)
	t.Run("key without certificate is refused", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFile), p.KeyPEM(), 0o600))
		_, st, err := Ensure(dir, Options{Host: "h"})
		require.ErrorIs(t, err, ErrIncomplete)
		assert.Equal(t, StateMissing, st.State)
		assert.Equal(t, p.KeyPEM(), readFile(t, filepath.Join(dir, KeyFile)))
		st, err = Inspect(dir, Options{Host: "h"})
		require.NoError(t, err)
		assert.Equal(t, StateMissing, st.State)
	})
	t.Run("certificate without key is replaced", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), p.CertPEM(), 0o644))
		q, st, err := Ensure(dir, Options{Host: "h", KeyType: KeyECDSAP256})
		require.NoError(t, err)
		assert.Equal(t, ActionCreated, st.Action)
		assert.NotEqual(t, p.Serial(), q.Serial())
	})
	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Load(dir)
		require.ErrorIs(t, err, ErrNotFound)
		st, err := Inspect(dir, Options{Host: "h"})
		require.NoError(t, err)
		assert.Equal(t, StateMissing, st.State)
		assert.True(t, st.NeedsAction)
		_, _, err = RenewDir(dir, Options{})
		assert.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("corrupt certificate", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFile), p.KeyPEM(), 0o600))
		_, _, err := Ensure(dir, Options{Host: "h"})
		require.ErrorIs(t, err, ErrBadPEM)
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, filepath.Join(dir, CertFile), fe.Path)
		_, err = Inspect(dir, Options{Host: "h"})
		assert.ErrorIs(t, err, ErrBadPEM)
	})
}

// TestSaveCrash simulates a crash after each durable step of Save: the
// directory must always yield a usable pair, the old one until the new key
// is in place, and Ensure must leave it clean.
func TestSaveCrash(t *testing.T) {
	oldP := pairOf(t, KeyECDSAP256)
	newP, err := Renew(oldP, Options{})
	require.NoError(t, err)
	cases := []struct {
		step    saveStep
		want    *Pair
		rawCert *Pair // what cert.pem holds right after the crash
	}{
		{stepTempsWritten, oldP, oldP},
		{stepBackedUp, oldP, oldP},
		{stepCertRenamed, oldP, newP},
		{stepKeyRenamed, newP, newP},
	}
	for _, tc := range cases {
		t.Run(map[saveStep]string{1: "temps written", 2: "backed up", 3: "cert renamed", 4: "key renamed"}[tc.step], func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, Save(dir, oldP))
			err := save(dir, newP, func(s saveStep) bool { return s == tc.step })
			require.ErrorIs(t, err, errCrash)
			assert.Equal(t, tc.rawCert.CertPEM(), readFile(t, filepath.Join(dir, CertFile)))

			got, err := Load(dir)
			require.NoError(t, err)
			assert.Equal(t, tc.want.Serial(), got.Serial())
			assert.Equal(t, tc.want.KeyDER(), got.KeyDER())

			var logBuf bytes.Buffer
			p, st, err := Ensure(dir, Options{Host: "IAS_SRV01", Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
			require.NoError(t, err)
			assert.Equal(t, ActionLoaded, st.Action)
			assert.Equal(t, tc.want.Serial(), p.Serial())
			assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir), "repaired and tidied")
			q, err := ParsePair(readFile(t, filepath.Join(dir, CertFile)), readFile(t, filepath.Join(dir, KeyFile)))
			require.NoError(t, err)
			assert.Equal(t, tc.want.Serial(), q.Serial())
			if tc.step == stepCertRenamed {
				assert.Contains(t, logBuf.String(), "rolled back")
			}
			// A later Save works normally.
			require.NoError(t, Save(dir, newP))
		})
	}
	t.Run("first save crashes between renames", func(t *testing.T) {
		dir := t.TempDir()
		err := save(dir, newP, func(s saveStep) bool { return s == stepCertRenamed })
		require.ErrorIs(t, err, errCrash)
		_, err = Load(dir)
		require.ErrorIs(t, err, ErrIncomplete)
		p, st, err := Ensure(dir, Options{Host: "h", KeyType: KeyECDSAP256})
		require.NoError(t, err)
		assert.Equal(t, ActionCreated, st.Action)
		assert.Equal(t, []string{CertFile, KeyFile}, dirNames(t, dir))
		assert.NotNil(t, p)
	})
}

func TestEnsureTightensKeyMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes")
	}
	dir := t.TempDir()
	_, _, err := Ensure(dir, Options{Host: "h", KeyType: KeyECDSAP256})
	require.NoError(t, err)
	require.NoError(t, os.Chmod(filepath.Join(dir, KeyFile), 0o644))
	var logBuf bytes.Buffer
	_, _, err = Ensure(dir, Options{Host: "h", Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, KeyFile)))
	assert.Contains(t, logBuf.String(), "0600")
}

func TestRenewDir(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, _, err := Ensure(dir, Options{Host: "IAS01", IPAddresses: []string{"10.0.0.1"}, KeyType: KeyECDSAP256, Now: fixedNow(now)})
	require.NoError(t, err)
	later := now.AddDate(4, 6, 0)
	p, st, err := RenewDir(dir, Options{Now: fixedNow(later)})
	require.NoError(t, err)
	assert.Equal(t, ActionRenewed, st.Action)
	assert.Equal(t, StateValid, st.State)
	assert.Equal(t, "IAS01", st.Host)
	assert.NotEqual(t, old.Serial(), p.Serial())
	assert.Equal(t, []string{"10.0.0.1"}, st.IPAddresses)
	assert.Equal(t, later.Add(-ClockSkew).AddDate(5, 0, 0), p.Certificate().NotAfter)
	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, p.Serial(), got.Serial())

	// New names on request.
	p, _, err = RenewDir(dir, Options{Host: "IAS02", KeyType: KeyRSA2048})
	require.NoError(t, err)
	assert.Equal(t, "IAS02", p.Certificate().Subject.CommonName)
	assert.Equal(t, KeyRSA2048, p.KeyType())

	_, _, err = RenewDir(dir, Options{Host: "bad name"})
	var fe *FieldError
	assert.ErrorAs(t, err, &fe)
	got, err = Load(dir)
	require.NoError(t, err)
	assert.Equal(t, p.Serial(), got.Serial(), "a failed renewal keeps the pair")
}

func TestFileErrorMessage(t *testing.T) {
	err := &FileError{Path: "/x/key.pem", Err: ErrKeyMismatch}
	assert.Equal(t, "certgen: /x/key.pem: private key does not match certificate", err.Error())
	assert.True(t, errors.Is(err, ErrKeyMismatch))
}

func TestLoadRefusesHugeFile(t *testing.T) {
	dir := t.TempDir()
	p := pairOf(t, KeyECDSAP256)
	require.NoError(t, Save(dir, p))
	big := append(bytes.Repeat([]byte("#"), maxPEMFile), p.CertPEM()...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), big, 0o644))
	_, err := Load(dir)
	require.ErrorIs(t, err, ErrBadPEM)
	assert.Contains(t, err.Error(), "cert.pem")
	_, _, err = Ensure(dir, Options{Host: "IAS_SRV01"})
	require.ErrorIs(t, err, ErrBadPEM)
}

func TestRenewDirReplacesHugeFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, CertFile), bytes.Repeat([]byte("#"), maxPEMFile+1), 0o644))
	p, _, err := RenewDir(dir, Options{Host: "h", KeyType: KeyECDSAP256})
	require.NoError(t, err)
	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, p.Serial(), got.Serial())
}

func TestInspectPEM(t *testing.T) {
	a, b := pairOf(t, KeyECDSAP256), pairOf(t, KeyRSA2048)
	st, err := InspectPEM(a.CertPEM(), a.KeyPEM(), Options{Host: "ias_srv01"})
	require.NoError(t, err)
	assert.Equal(t, StateValid, st.State)
	st, err = InspectPEM(a.CertPEM(), b.KeyPEM(), Options{Host: "ias_srv01"})
	require.NoError(t, err)
	assert.Equal(t, StateKeyMismatch, st.State)
	assert.Equal(t, a.Serial(), st.Serial)
	_, err = InspectPEM([]byte("x"), a.KeyPEM(), Options{})
	assert.ErrorIs(t, err, ErrBadPEM)
	_, err = InspectPEM(a.CertPEM(), []byte("x"), Options{})
	assert.ErrorIs(t, err, ErrBadPEM)
}

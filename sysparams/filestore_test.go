package sysparams

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	testSMTPPassword = "smtp-Pa55:w/o@rd"
	testO365Secret   = "uJO9k3_x03-d-7cf~TptM9YDAEV84QJNv6"
	testCloudSecret  = "cloud-s3cret-value"
)

// validParams returns a set that validates, with every kind of secret set.
func validParams() *Params {
	p := Defaults()
	p.Telephony = Telephony{SystemName: "HQ", PBXAddress: "192.168.4.6"}
	p.Email.Enabled = true
	p.Email.From = "fax-ha@example.com"
	p.Email.Server = "mail.example.com"
	p.Email.UseAuth = true
	p.Email.Username = "fax-admin@example.com"
	p.Email.Password = NewSecret(testSMTPPassword)
	p.Email.O365.ClientSecret = NewSecret(testO365Secret)
	p.Cloud = Cloud{ClientID: "clientId", ClientSecret: NewSecret(testCloudSecret)}
	return p
}

func openTemp(t *testing.T) (*FileStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "params.json")
	s, err := OpenFile(context.Background(), path, FileOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, path
}

func setAll(src *Params) func(*Params) error {
	return func(p *Params) error {
		c, err := src.Clone()
		if err != nil {
			return err
		}
		*p = *c
		return nil
	}
}

func TestFileStoreRoundTripSecretsEncrypted(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)

	p, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, Defaults(), p, "a missing file reads as the defaults")
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "opening and loading write nothing")

	want := validParams()
	setTestHTTPProxy(want)
	c, err := s.Update(ctx, setAll(want))
	require.NoError(t, err)
	require.EqualValues(t, 1, c.Revision)
	require.Contains(t, c.Fields, "email.password")
	require.Contains(t, c.Fields, "cloud.client_secret")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, v := range []string{testSMTPPassword, testO365Secret, testCloudSecret, testProxyPassword} {
		require.NotContains(t, string(raw), v)
		require.NotContains(t, string(raw), strings.Trim(strconv.Quote(v), `"`))
	}
	var d Document
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Len(t, d.Secrets, 4)
	require.Contains(t, d.Secrets, "proxy.http.password")
	require.True(t, strings.HasPrefix(d.Secrets["email.password"], "v1:"))

	for _, f := range []string{path, s.KeyPath()} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}

	// A second store over the same files reads the secrets back.
	s2, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	got, err := s2.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, testSMTPPassword, got.Email.Password.Reveal())
	require.Equal(t, testO365Secret, got.Email.O365.ClientSecret.Reveal())
	require.Equal(t, testCloudSecret, got.Cloud.ClientSecret.Reveal())
	require.Equal(t, testProxyPassword, got.Proxy.HTTP.Password.Reveal())
	require.Equal(t, want, got)
}

func TestFileStoreRejectedUpdateLeavesFileUntouched(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	var notified int
	defer s.Subscribe(func(Change) { notified++ })()

	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 70000; return nil })
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "email.port: must be 1-65535, got 70000")

	boom := errors.New("boom")
	_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 587; return boom })
	require.ErrorIs(t, err, boom)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
	require.Zero(t, notified)
}

func TestFileStoreCorruptAndForeignNeverOverwritten(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		content string
		want    error
	}{
		{"truncated", `{"schema":"ucxkit.sysparams","schema_ver`, ErrCorrupt},
		{"not json", "hello\n", ErrCorrupt},
		{"empty", "", ErrCorrupt},
		{"foreign", `{"name":"another program"}`, ErrForeign},
		{"newer schema", `{"schema":"ucxkit.sysparams","schema_version":99,"params":{}}`, ErrForeign},
		{"unknown field", `{"schema":"ucxkit.sysparams","schema_version":1,"params":{"telephony":{"sytem_name":"x"}}}`, ErrCorrupt},
		{"secrets without key", `{"schema":"ucxkit.sysparams","schema_version":1,"params":{"cloud":{"client_id":"a","client_secret":"[REDACTED]"}},"secrets":{"cloud.client_secret":"v1:k1:AAAA"}}`, ErrKeyMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "params.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			_, err := OpenFile(ctx, path, FileOptions{})
			require.ErrorIs(t, err, tc.want)
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			got, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, tc.content, string(got))
			_, kerr := os.Stat(path + ".key")
			require.ErrorIs(t, kerr, os.ErrNotExist, "no key is created for a file that does not open")
		})
	}
}

func TestFileStoreConcurrentUpdatesNotifyInOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	var mu sync.Mutex
	var revs []int64
	defer s.Subscribe(func(c Change) { mu.Lock(); revs = append(revs, c.Revision); mu.Unlock() })()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Update(ctx, func(p *Params) error { p.Email.Port = 2000 + i; return nil })
			require.NoError(t, err)
		}(i)
	}
	wg.Wait()
	require.Len(t, revs, 8)
	for i := range revs {
		require.EqualValues(t, int64(i+2), revs[i])
	}
}

// TestFileStoreUpdatesFromTwoStoresAreSerialized runs read-modify-write
// updates from two stores on the same file (as two processes would): none
// is lost.
func TestFileStoreUpdatesFromTwoStoresAreSerialized(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	_, err := a.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	b, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	const n = 20
	var wg sync.WaitGroup
	for _, s := range []*FileStore{a, b} {
		wg.Add(1)
		go func(s *FileStore) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				_, err := s.Update(ctx, func(p *Params) error { p.Email.Port++; return nil })
				require.NoError(t, err)
			}
		}(s)
	}
	wg.Wait()
	p, err := a.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, 25+2*n, p.Email.Port)
	rev, err := b.Revision(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1+2*n, rev)
}

// TestFileStoreOpenDoesNotRemoveTempOfSaveInProgress opens stores on a file
// while another store saves it over and over, as `ucxparams set` run twice
// at once does: opening used to delete the other save's temp file as an
// orphan, and that save failed at its rename.
func TestFileStoreOpenDoesNotRemoveTempOfSaveInProgress(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	_, err := a.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	const n = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			b, err := OpenFile(ctx, path, FileOptions{})
			if err == nil {
				b.Close()
			}
		}
	}()
	for i := 0; i < n; i++ {
		_, err := a.Update(ctx, func(p *Params) error { p.Email.Port++; return nil })
		require.NoError(t, err, "update %d", i)
	}
	<-done
	p, err := a.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, 25+n, p.Email.Port)
}

// TestFileStoreSealsWithTheKeyFileOfNow: a store that loaded the keys, then
// another process forgets every secret and rotates the key (retiring the
// old one); a secret saved by the first store must be sealed with a key the
// key file holds, or it can never be opened again.
func TestFileStoreSealsWithTheKeyFileOfNow(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	_, err := a.Update(ctx, setAll(validParams()))
	require.NoError(t, err)

	b, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = b.Update(ctx, func(p *Params) error {
		p.Cloud.Forget()
		p.Email.UseAuth, p.Email.Password = false, NewSecret("")
		p.Email.O365.ClientSecret = NewSecret("")
		return nil
	})
	require.NoError(t, err)
	_, err = b.RotateKey(ctx)
	require.NoError(t, err)

	_, err = a.Update(ctx, func(p *Params) error {
		p.Cloud = Cloud{ClientID: "again", ClientSecret: NewSecret(testCloudSecret)}
		return nil
	})
	require.NoError(t, err)

	c, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err, "a fresh store opens what the first one saved")
	p, err := c.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, testCloudSecret, p.Cloud.ClientSecret.Reveal())
}

// TestFileStoreReadingWritesNothing: opening and loading a file without
// temp files beside it creates nothing (no lock file either).
func TestFileStoreReadingWritesNothing(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	_, err := a.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	require.NoError(t, os.Remove(path+".lock"))
	b, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = b.Load(ctx)
	require.NoError(t, err)
	_, err = os.Stat(path + ".lock")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestFileStoreKeyFileMustDiffer: a key file that is the parameter file
// (or its lock) is refused at open. The first save used to write the key,
// then the parameters over it, sealing every secret with a key that no
// longer existed.
func TestFileStoreKeyFileMustDiffer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "params.json")
	for _, key := range []string{path, filepath.Join(dir, ".", "params.json"), path + ".lock"} {
		_, err := OpenFile(ctx, path, FileOptions{KeyFile: key})
		require.ErrorContains(t, err, "key file must differ", key)
	}
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing written")

	// A hard link to the parameter file is the same file too.
	s, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	link := filepath.Join(dir, "link.key")
	require.NoError(t, os.Link(path, link))
	_, err = OpenFile(ctx, path, FileOptions{KeyFile: link})
	require.ErrorContains(t, err, "key file must differ")
}

// TestFileStoreCreatesFolders: the first Update creates a parameter file
// (and a key file) in folders that do not exist yet, mode 0700. It used to
// fail at the lock file.
func TestFileStoreCreatesFolders(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	path := filepath.Join(base, "etc", "ucx", "params.json")
	key := filepath.Join(base, "keys", "params.key")
	s, err := OpenFile(ctx, path, FileOptions{KeyFile: key})
	require.NoError(t, err)
	_, err = s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	for _, p := range []string{path, key} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(filepath.Dir(p))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	}
	p, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, testCloudSecret, p.Cloud.ClientSecret.Reveal())
}

// TestFileStoreRefusesAFileItCouldNotRead: parameters too large for the
// reader's size limit are not saved (they would brick the file).
func TestFileStoreRefusesAFileItCouldNotRead(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	_, err := s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = s.Update(ctx, func(p *Params) error {
		p.Certificate.Organization = strings.Repeat("x", maxDocumentSize)
		return nil
	})
	require.ErrorContains(t, err, "more than the")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
	_, err = s.Load(ctx)
	require.NoError(t, err)
}

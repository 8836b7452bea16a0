package sysparams

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var errCrash = errors.New("simulated crash")

// TestAtomicWriteSimulatedCrash stops a save after each step of the atomic
// write, as a crash would, and checks that the file holds the old or the
// new revision, whole, and that the next open removes the orphan.
func TestAtomicWriteSimulatedCrash(t *testing.T) {
	ctx := context.Background()
	for _, step := range []string{"written", "synced", "renamed"} {
		t.Run(step, func(t *testing.T) {
			s, path := openTemp(t)
			_, err := s.Update(ctx, setAll(validParams()))
			require.NoError(t, err)
			before, err := os.ReadFile(path)
			require.NoError(t, err)

			s.mu.Lock()
			s.hook = func(st string) error {
				if st == step {
					return errCrash
				}
				return nil
			}
			s.mu.Unlock()
			_, err = s.Update(ctx, func(p *Params) error { p.Email.Port = 587; return nil })
			require.ErrorIs(t, err, errCrash)

			after, err := os.ReadFile(path)
			require.NoError(t, err)
			s2, err := OpenFile(ctx, path, FileOptions{})
			require.NoError(t, err)
			got, err := s2.Load(ctx)
			require.NoError(t, err)
			if step == "renamed" {
				require.Equal(t, 587, got.Email.Port, "renamed: the new revision is in place")
			} else {
				require.Equal(t, before, after, "before the rename the old file is untouched")
				require.Equal(t, 25, got.Email.Port)
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			for _, e := range entries {
				require.NotContains(t, e.Name(), tmpMarker, "orphans are removed on open")
			}
		})
	}
}

// TestCrashSubprocess SIGKILLs a process that saves in a loop, at random
// moments, and checks after each kill that the file opens and holds a
// whole revision whose content matches its revision number.
func TestCrashSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "params.json")
	ctx := context.Background()
	s, err := OpenFile(ctx, path, FileOptions{})
	require.NoError(t, err)
	_, err = s.Update(ctx, setAll(validParams()))
	require.NoError(t, err)

	const kills = 25
	last := int64(0)
	for i := 0; i < kills; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), "SYSPARAMS_CRASH_FILE="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		buf := make([]byte, 16)
		_, err = out.Read(buf) // "ready": the helper opened the store
		require.NoError(t, err)
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		s, err := OpenFile(ctx, path, FileOptions{})
		require.NoError(t, err, "kill %d", i)
		rev, err := s.Revision(ctx)
		require.NoError(t, err)
		p, err := s.Load(ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, rev, last)
		last = rev
		if rev == 1 {
			// Killed before its first save: the parent's revision.
			require.Equal(t, 25, p.Email.Port)
			require.Equal(t, testSMTPPassword, p.Email.Password.Reveal())
			continue
		}
		// The helper writes port = 1000 + revision and the secret with it.
		require.Equal(t, int(1000+rev), p.Email.Port, "revision %d", rev)
		require.Equal(t, fmt.Sprintf("pw-%d", rev), p.Email.Password.Reveal())
	}
	require.Greater(t, last, int64(1), "the helper made progress")
}

// TestCrashHelper is the subprocess of TestCrashSubprocess.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv("SYSPARAMS_CRASH_FILE")
	if path == "" {
		t.Skip("helper process for TestCrashSubprocess")
	}
	ctx := context.Background()
	s, err := OpenFile(ctx, path, FileOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Print("ready\n")
	for {
		rev, err := s.Revision(ctx)
		if err != nil {
			os.Exit(4)
		}
		_, err = s.Update(ctx, func(p *Params) error {
			p.Email.Port = int(1000 + rev + 1)
			p.Email.Password = NewSecret(fmt.Sprintf("pw-%d", rev+1))
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
	}
}

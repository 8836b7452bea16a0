//go:build !unix

package sysparams

import "context"

// lockFile is a no-op where flock is not available: updates within one
// process are still serialized by the store's mutex; between processes
// the last writer wins.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }

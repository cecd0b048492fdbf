package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/evac-dev/evac/config"
)

// Exit codes: the one map. docs/CLI.md and the README list them.
const (
	exitOK          = 0   // the job succeeded (verification PASS)
	exitFailed      = 1   // the job ran and failed: verification FAIL, objects failed, divergence
	exitUsage       = 2   // bad flags, arguments or config; nothing was done
	exitInterrupted = 130 // SIGINT/SIGTERM before the job finished (128 + SIGINT)
)

// usageError marks bad input: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as bad usage/config (exit 2); nil stays nil.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// usageErrorf is usage(fmt.Errorf(...)).
func usageErrorf(format string, args ...any) error { return usage(fmt.Errorf(format, args...)) }

// jobFailedError marks a job that ran and failed: exit 1. (An untyped error
// from RunE exits 1 too; this type makes the intent explicit.)
type jobFailedError struct{ err error }

func (e *jobFailedError) Error() string { return e.err.Error() }
func (e *jobFailedError) Unwrap() error { return e.err }

// jobFailed marks err as a failure of the job (exit 1); nil stays nil.
func jobFailed(err error) error {
	if err == nil {
		return nil
	}
	return &jobFailedError{err}
}

// jobFailedf is jobFailed(fmt.Errorf(...)).
func jobFailedf(format string, args ...any) error { return jobFailed(fmt.Errorf(format, args...)) }

// silentExit ends the command with a code and no "evac:" message, for a
// command that already printed its verdict (verify FAIL).
type silentExit struct{ code int }

func (e *silentExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode returns an error that makes evac exit with code and print nothing.
func exitCode(code int) error { return &silentExit{code} }

func isSilent(err error) bool {
	var s *silentExit
	return errors.As(err, &s)
}

// exitCodeOf maps an error from cobra's Execute to the process exit code.
// started reports whether the command got past flag and argument parsing.
func exitCodeOf(ctx context.Context, err error, started bool) int {
	var (
		s  *silentExit
		u  *usageError
		ce *config.Error
		cl config.ErrorList
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &s):
		return s.code
	case errors.As(err, &u), errors.As(err, &ce), errors.As(err, &cl):
		return exitUsage
	case !started:
		return exitUsage // cobra: unknown command, bad flag, wrong number of arguments
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitFailed
	}
}

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Exit codes, a public contract for CI scripts.
const (
	exitOK     = 0
	exitFailed = 1 // a check failed or a target was breached
	exitUsage  = 2 // usage, flag or config error
)

var (
	// errCheckFailed means the command ran fine and reported a failure;
	// the report itself was already printed.
	errCheckFailed = errors.New("check failed")
	// errHelp means --help was printed.
	errHelp = pflag.ErrHelp
)

// usageError marks bad input: flags, arguments, config files. Exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef builds a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func exitCodeOf(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errCheckFailed):
		return exitFailed
	case errors.As(err, &ue):
		return exitUsage
	default:
		// Our own fault (store unwritable, browser missing ...). Not 1, which
		// CI reads as "the shop is broken"; not 2, which reads as "you typed
		// it wrong". 3 is documented as an internal error.
		return exitInternal
	}
}

const exitInternal = 3

// newFlagSet returns a FlagSet for a subcommand that reports errors instead
// of exiting, with a usage line naming the command.
func newFlagSet(a *app, name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	// pflag's own messages are discarded: main prints the returned error,
	// and fs.Usage writes --help to stdout itself.
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(a.stdout, "Usage:\n  storeprobe %s %s\n\nFlags:\n%s", name, synopsis, fs.FlagUsages())
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and --help
// into errHelp (printed to stdout, exit 0).
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp // pflag has already printed fs.Usage
		}
		return usageError{err}
	}
	return nil
}

package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/storeprobe/storeprobe/probe"
)

// printResult writes one result of check, browse or journey as JSON or
// text and turns it into the command's error: nil when it passed,
// errCheckFailed (exit 1) when the target failed, an internal error (exit
// 3) when the probe itself did.
func printResult(a *app, output string, res probe.Result, text func(io.Writer, probe.Result)) error {
	if output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false) // keep & in URLs readable
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	} else {
		text(a.stdout, res)
	}
	switch {
	case res.OK:
		return nil
	case res.Failure.Kind.ProbeFault():
		return fmt.Errorf("probe error (not the target's fault): %s", res.Failure.Message)
	}
	return errCheckFailed
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/storeprobe/storeprobe/scenarios"
)

// runTemplates is `storeprobe templates [show NAME]`: the built-in journeys,
// to run with `journey --template` or copy into a journey of one's own.
func runTemplates(_ context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "templates", "[show NAME] [--output text|json]")
	output := fs.String("output", "text", "output format of the list: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("--output %q: want text or json", *output)
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case rest[0] == "show" && len(rest) == 2:
		data, err := scenarios.TemplateYAML(rest[1])
		if err != nil {
			return usageError{err}
		}
		_, err = a.stdout.Write(data)
		return err
	case rest[0] == "show":
		return usagef("templates show takes one template name (see storeprobe templates)")
	default:
		return usagef("unexpected argument %q (want show NAME)", rest[0])
	}
	list, err := scenarios.Templates()
	if err != nil {
		return fmt.Errorf("built-in templates: %w", err)
	}
	if *output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	var b strings.Builder
	for _, t := range list {
		fmt.Fprintf(&b, "%s\n  %s\n  %d steps", t.Name, t.Description, t.Steps)
		if t.Device != "" {
			fmt.Fprintf(&b, ", device %s", t.Device)
		}
		b.WriteString("\n  params:")
		for _, p := range t.Params {
			switch {
			case p.Required:
				fmt.Fprintf(&b, " %s (required)", p.Name)
			default:
				fmt.Fprintf(&b, " %s=%q", p.Name, p.Default)
			}
		}
		b.WriteString("\n\n")
	}
	b.WriteString("Run one:  storeprobe journey --template NAME --param base_url=https://shop.example.com --param ...\n")
	b.WriteString("Copy one: storeprobe templates show NAME > my-journey.yaml\n")
	_, err = fmt.Fprint(a.stdout, b.String())
	return err
}

package prober

import (
	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/httpcheck"
	"github.com/storeprobe/storeprobe/probe/notify"
	"github.com/storeprobe/storeprobe/scenarios"
)

// LoadConfig loads a config the way every command must: ${VAR}s looked up
// with env (nil: the process environment), version in the default
// User-Agent, and every check validated by what will run it — the journey
// language's own parser for journey files, templates and params, and the
// HTTP probe's own constructor — so validate, run and reload refuse exactly
// what would otherwise fail on every run as a probe error.
func LoadConfig(path string, env func(string) (string, bool), version string) (*config.Config, error) {
	return config.Load(path, ConfigOptions(env, version)...)
}

// ConfigOptions are LoadConfig's options, for callers that parse a config
// from bytes.
func ConfigOptions(env func(string) (string, bool), version string) []config.Option {
	templates := map[string]bool{}
	for _, n := range scenarios.TemplateNames() {
		templates[n] = true
	}
	opts := []config.Option{
		config.WithVersion(version),
		config.WithJourneyLoader(func(path string) error {
			_, err := scenarios.LoadFile(path)
			return err
		}),
		config.WithTemplates(func(name string) bool { return templates[name] }),
		config.WithJourneyParams(func(spec probe.JourneySpec) error {
			_, err := LoadJourney(spec)
			return err
		}),
		// The probe's own constructor, which every run calls: a check it
		// refuses is refused here, at the key's line (its *probe.FieldErrors),
		// instead of becoming a probe_error on every run.
		config.WithCheckValidator(func(c probe.Check) error {
			_, err := httpcheck.New(c, httpcheck.WithVersion(version))
			return err
		}),
	}
	// The notifiers' own constructor: a notifier that could never send is
	// refused at load, at its key's line.
	opts = append(opts, config.WithNotifierValidator(func(n probe.Notifier) error {
		_, err := notify.New(n, notify.WithVersion(version))
		return err
	}))
	if env != nil {
		opts = append(opts, config.WithEnv(env))
	}
	return opts
}

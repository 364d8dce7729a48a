package config

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/shard"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
)

// Defaults that apply when the file leaves a key unset.
const (
	DefaultLocation           = "local"
	DefaultRetention          = 90 * 24 * time.Hour
	DefaultStore              = "storeprobe.db"
	DefaultConcurrency        = 32
	DefaultBrowserConcurrency = 2
	DefaultGracePeriod        = 30 * time.Second
	DefaultBatchSize          = 500
	DefaultFlushInterval      = 10 * time.Second
	DefaultMaxOutboxRows      = 1_000_000
	DefaultMaxOutboxAge       = 7 * 24 * time.Hour
)

// Config is a loaded, validated configuration. Every check is complete:
// defaults are applied, ${VAR}s expanded, paths made relative to the
// config file's directory resolved.
type Config struct {
	File      string // the config file, as given to Load or Parse
	Defaults  Defaults
	Retention time.Duration // 0 keeps everything
	Store     string        // store path; DefaultStore when the file sets none
	Scheduler Scheduler
	Browser   Browser
	InfluxDB  *InfluxDB // nil when the file has no influxdb section
	// Notifiers receive alerts; Alerting is how checks are watched, every
	// default applied.
	Notifiers []probe.Notifier
	Alerting  probe.Alerting
	// Shard is the part of the checks this probe runs (zero: all); the
	// daemon's --shard and STOREPROBE_SHARD override it.
	Shard  shard.Shard
	Checks []probe.Check
	// Lines maps each check name to the line of its entry, for messages
	// about a check after loading (a failed reload, a run that panicked).
	Lines map[string]int
}

// Defaults are the values a check inherits when it does not set its own.
type Defaults struct {
	Location  string
	Probe     string
	Timeout   time.Duration // http checks; 0 means probe.DefaultTimeout (browser and journey checks: probe.DefaultBrowserTimeout, probe.DefaultJourneyTimeout)
	Retries   int
	UserAgent string // http checks
	Resolver  string // http checks
	Tags      map[string]string
	SLO       probe.SLO
}

// Scheduler holds the daemon's scheduling limits.
type Scheduler struct {
	Concurrency        int           // checks running at once, all types
	BrowserConcurrency int           // browser and journey checks running at once
	GracePeriod        time.Duration // how long in-flight runs may finish on shutdown
}

// Browser configures the shared Chromium.
type Browser struct {
	Path    string                    // empty: the front end's default (storeprobe: $STOREPROBE_CHROME, then /usr/bin/chromium)
	Devices map[string]DeviceOverride // by device name; overrides or new profiles
	// MaxPageMemory caps a page's JavaScript heap per run (bytes); a page
	// over it fails as too_large. 0 means the browser's default (1 GiB).
	MaxPageMemory int64
}

// DeviceOverride changes a device profile. A nil field keeps the built-in
// value of desktop or mobile; a device that is neither must set Width and
// Height. Pointers because zero is meaningful (latency 0 = no throttling).
type DeviceOverride struct {
	Width, Height     *int
	DeviceScaleFactor *float64
	Mobile            *bool // mobile viewport handling and touch input
	UserAgent         *string
	Latency           *time.Duration // added request latency
	DownloadKbps      *float64       // 0 = unthrottled
	UploadKbps        *float64       // 0 = unthrottled
	CPUSlowdown       *float64       // 1 = none
}

// InfluxDB configures shipping from the store's outbox to InfluxDB.
type InfluxDB struct {
	URL      string
	Org      string
	Bucket   string
	TokenEnv string // the environment variable the token was read from
	// Token is the value of TokenEnv at load time. It is a secret: never
	// log, print or store it. It is excluded from fmt output by String.
	Token         string
	BatchSize     int
	FlushInterval time.Duration
	MaxOutboxRows int
	MaxOutboxAge  time.Duration
}

// String describes the settings without the token.
func (i InfluxDB) String() string {
	tok := "none"
	if i.Token != "" {
		tok = "$" + i.TokenEnv + " (" + probe.Redacted + ")"
	}
	return fmt.Sprintf("influxdb %s org=%q bucket=%q token=%s batch=%d flush=%s", i.URL, i.Org, i.Bucket, tok, i.BatchSize, i.FlushInterval)
}

// GoString keeps %#v from printing the token.
func (i InfluxDB) GoString() string { return i.String() }

// Option changes how a config is loaded.
type Option func(*options)

type options struct {
	env       func(string) (string, bool)
	version   string
	journey   func(path string) error
	templates func(name string) bool
	params    func(spec probe.JourneySpec) error
	checkHTTP func(c probe.Check) error
	notifier  func(n probe.Notifier) error
	hostname  func() (string, error)
}

// WithEnv sets where ${VAR} and influxdb.token_env are looked up; the
// default is the process environment.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.env = lookup }
}

// WithVersion sets the version in the default User-Agent.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithJourneyLoader sets how a journey file named by a check is validated;
// path is already resolved against the config file's directory. The default
// only checks that the file exists. The probe.Problems in the returned
// error (found with errors.As, also inside a wrapped or joined error) are
// reported as they are, at their own file and line, so a journey parser's
// positions come through; any other error is reported at the check's
// journey key.
func WithJourneyLoader(load func(path string) error) Option {
	return func(o *options) { o.journey = load }
}

// WithTemplates sets which journey template names exist. Without it any
// well-formed template name is accepted.
func WithTemplates(known func(name string) bool) Option {
	return func(o *options) { o.templates = known }
}

// WithJourneyParams sets how a journey check's params are checked against
// its journey (names it does not declare, placeholders left without a
// value). It is called once per journey check whose journey file or
// template is itself valid; its error is reported like the journey
// loader's, at the check's params key.
func WithJourneyParams(check func(spec probe.JourneySpec) error) Option {
	return func(o *options) { o.params = check }
}

// WithCheckValidator sets a validator every http check is passed to once
// the config itself found nothing wrong with it, complete with defaults and
// expanded ${VAR}s. Give it the HTTP probe's own constructor, so that
// validate, run and reload refuse what the probe would refuse on every run
// (where it would only show as probe errors). Each *probe.FieldError in the
// returned error (errors.Join-ed errors are taken apart) is reported at the
// line of that key in the check; other errors at the check's own line.
// Messages must not contain secrets.
func WithCheckValidator(validate func(c probe.Check) error) Option {
	return func(o *options) { o.checkHTTP = validate }
}

// WithNotifierValidator sets a validator every notifier the config accepts
// is passed to: give it the notifiers' own constructor, so that a notifier
// that could never send is refused at load. Its *probe.FieldErrors are
// reported at the line of their key in the notifier.
func WithNotifierValidator(validate func(n probe.Notifier) error) Option {
	return func(o *options) { o.notifier = validate }
}

// withHostname replaces os.Hostname in tests.
func withHostname(f func() (string, error)) Option { return func(o *options) { o.hostname = f } }

// Load reads and validates the config file at path.
func Load(path string, opts ...Option) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	// Past yamldoc's limit the file is refused anyway: reading the rest of
	// a huge (or endless, /dev/zero) file would only cost memory.
	data, err := io.ReadAll(io.LimitReader(f, yamldoc.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, opts...)
}

// Parse validates data as the contents of file. Relative paths inside it
// (journeys, certificates, the store) are resolved against file's directory,
// and files it names are checked to exist. The error, if any, is
// probe.Problems: every problem of the config and of the journeys it names.
func Parse(file string, data []byte, opts ...Option) (*Config, error) {
	o := options{env: os.LookupEnv, version: "dev", hostname: os.Hostname}
	for _, opt := range opts {
		opt(&o)
	}
	d := newDecoder(file, o)
	cfg := d.document(data)
	if len(d.problems) > 0 {
		return nil, sortProblems(file, d.problems)
	}
	return cfg, nil
}

// sortProblems orders the config file's problems by line, then those of
// other files (journeys) by file and line; equal positions keep the order
// in which they were found.
func sortProblems(file string, ps probe.Problems) probe.Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.File == file) != (b.File == file) {
			return a.File == file
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return ps
}

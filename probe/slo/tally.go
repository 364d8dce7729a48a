package slo

import (
	"cmp"
	"slices"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Outcome is what one run contributes to a check's figures, and nothing
// more: the report and a store's rollups count Outcomes, so a run is
// classified in one place (OutcomeOf) whoever counts it.
type Outcome struct {
	Check       string
	Location    string
	Type        probe.CheckType
	ScheduledAt time.Time
	// Maintenance: the run fell in a maintenance window. It is counted
	// as such and judged by nothing else: not eligible, no probe fault,
	// no failure, no sample.
	Maintenance bool
	// ProbeFault: the probe failed (probe_error, browser_crash) or the run
	// has no attempt. Neither up nor down.
	ProbeFault bool
	Up         bool // the final attempt passed
	FirstTry   bool // the first attempt passed
	// Failure is the kind FailuresByKind counts the run under; "" for a
	// run that passed.
	Failure probe.FailureKind
	Message string // the final attempt's failure message
	// Load is the run's load sample (see Load); HasLoad false when the run
	// measured none.
	Load    float64
	HasLoad bool
	Pages   []PageOutcome // pages the final attempt measured (pagesOf)
	// Edge is the CDN that answered the final attempt; nil without one,
	// for maintenance and for probe faults.
	Edge *Edge
}

// PageOutcome is one page a run measured.
type PageOutcome struct {
	Name   string
	Index  int     // position in the run: −1 a browser check's own page, 0.. a journey's
	LoadMS float64 // 0: the load event never fired
	// TBT is the page's tbt_ms; HasTBT false for a page measured before
	// the settle rule (no settle_reason), whose 0 is not a measurement.
	TBT    float64
	HasTBT bool
	Vitals [len(probe.AllVitals)]*float64 // in probe.AllVitals order; nil unobserved
	// PaymentProvider is the gateway the page was waited on for ("" none)
	// and PaymentReady its payment_ready_ms (nil: not ready).
	PaymentProvider string
	PaymentReady    *float64
	// Beacons are the analytics hits the page sent, per vendor in
	// probe.AnalyticsVendors order (0: none, or not recorded).
	Beacons [2]int
}

// OutcomeOf classifies a run.
func OutcomeOf(r probe.Run) Outcome {
	o := Outcome{Check: r.Check, Location: r.Location, Type: r.Type, ScheduledAt: r.ScheduledAt, Maintenance: r.Maintenance != ""}
	if o.Maintenance {
		return o
	}
	f := r.Final()
	switch {
	case len(r.Attempts) == 0:
		o.Failure = probe.FailureProbeError
	case f.OK:
	case f.Failure == nil:
		// A failed result without a Failure breaks the domain's
		// contract; count it rather than hide it.
		o.Failure = probe.FailureProbeError
	default:
		o.Failure = f.Failure.Kind
	}
	if f.Failure != nil {
		o.Message = f.Failure.Message
	}
	if probeFault(r) {
		o.ProbeFault = true
		return o
	}
	o.Up, o.FirstTry = f.OK, r.Attempts[0].OK
	o.Load, o.HasLoad = Load(r)
	o.Edge = edgeOf(f)
	for _, p := range pagesOf(r) {
		po := PageOutcome{Name: p.name, Index: p.index, LoadMS: p.m.LoadMS, TBT: p.m.TBTMS, HasTBT: p.m.SettleReason != "",
			PaymentProvider: p.m.PaymentProvider, PaymentReady: p.m.PaymentReadyMS}
		for i, v := range probe.AnalyticsVendors() {
			if t := p.m.Analytics.Vendor(v); t != nil {
				po.Beacons[i] = t.Fired
			}
		}
		for i, v := range probe.AllVitals {
			po.Vitals[i] = p.m.Vitals.Get(v)
		}
		o.Pages = append(o.Pages, po)
	}
	return o
}

// Counts are runs counted for availability, failures and the error budget.
type Counts struct {
	Runs        int // every run, maintenance included
	Maintenance int // runs in a maintenance window
	ProbeFaults int // runs failed by the probe itself (outside maintenance)
	Eligible    int // Runs − Maintenance − ProbeFaults
	Up          int // eligible runs whose final attempt passed
	FirstTry    int // eligible runs whose first attempt passed
	// Failures counts runs (outside maintenance) by the kind of their
	// final attempt's failure, probe faults included.
	Failures map[probe.FailureKind]int
	// Last is the newest run: its scheduled time and type (what the
	// check is now, if its config changed).
	LastAt   time.Time
	LastType probe.CheckType
	// LastFault is the newest probe fault's scheduled time and message.
	LastFaultAt      time.Time
	LastFaultMessage string
	// Edges counts the eligible runs answered through a CDN by provider,
	// cache status and POP, sorted.
	Edges []EdgeCount
}

// Add counts one run.
func (c *Counts) Add(o Outcome) {
	c.Runs++
	if c.LastAt.IsZero() || !o.ScheduledAt.Before(c.LastAt) {
		c.LastAt, c.LastType = o.ScheduledAt, o.Type
	}
	if o.Maintenance {
		c.Maintenance++
		return
	}
	if o.Failure != "" {
		if c.Failures == nil {
			c.Failures = map[probe.FailureKind]int{}
		}
		c.Failures[o.Failure]++
	}
	if o.ProbeFault {
		c.ProbeFaults++
		if c.LastFaultAt.IsZero() || !o.ScheduledAt.Before(c.LastFaultAt) {
			c.LastFaultAt, c.LastFaultMessage = o.ScheduledAt, o.Message
		}
		return
	}
	c.Eligible++
	if o.Edge != nil {
		c.Edges = addEdge(c.Edges, *o.Edge, 1)
	}
	if o.Up {
		c.Up++
	}
	if o.FirstTry {
		c.FirstTry++
	}
}

// Merge adds o's counts (another span or location of the same check).
func (c *Counts) Merge(o Counts) {
	c.Runs += o.Runs
	c.Maintenance += o.Maintenance
	c.ProbeFaults += o.ProbeFaults
	c.Eligible += o.Eligible
	c.Up += o.Up
	c.FirstTry += o.FirstTry
	for k, n := range o.Failures {
		if c.Failures == nil {
			c.Failures = map[probe.FailureKind]int{}
		}
		c.Failures[k] += n
	}
	for _, e := range o.Edges {
		c.Edges = addEdge(c.Edges, e.Edge, e.Runs)
	}
	if !o.LastAt.IsZero() && (c.LastAt.IsZero() || !o.LastAt.Before(c.LastAt)) {
		c.LastAt, c.LastType = o.LastAt, o.LastType
	}
	if !o.LastFaultAt.IsZero() && (c.LastFaultAt.IsZero() || !o.LastFaultAt.Before(c.LastFaultAt)) {
		c.LastFaultAt, c.LastFaultMessage = o.LastFaultAt, o.LastFaultMessage
	}
}

// Availability turns the counts into uptime and success.
func (c Counts) Availability() Availability {
	a := Availability{Runs: c.Runs, Maintenance: c.Maintenance, Eligible: c.Eligible, Up: c.Up, FirstTry: c.FirstTry,
		ProbeFaults: c.ProbeFaults}
	if a.Eligible > 0 {
		up := 100 * float64(a.Up) / float64(a.Eligible)
		ok := 100 * float64(a.FirstTry) / float64(a.Eligible)
		a.UptimePercent, a.SuccessPercent = &up, &ok
	}
	return a
}

// Values is a set of samples, kept exactly (every value) or, for long
// windows, as a Histogram. Merging an exact set into a histogram makes the
// result a histogram.
type Values struct {
	exact []float64
	hist  *Histogram
}

// HistogramValues are samples counted in h.
func HistogramValues(h Histogram) Values { return Values{hist: &h} }

// ExactValues are the given samples.
func ExactValues(vs ...float64) Values { return Values{exact: vs} }

// Add adds one sample.
func (v *Values) Add(x float64) {
	if v.hist != nil {
		v.hist.Add(x)
		return
	}
	v.exact = append(v.exact, x)
}

// Merge adds o's samples.
func (v *Values) Merge(o Values) {
	switch {
	case v.hist == nil && o.hist == nil:
		v.exact = append(v.exact, o.exact...)
	case v.hist == nil:
		h := Histogram{}
		for _, x := range v.exact {
			h.Add(x)
		}
		h.Merge(*o.hist)
		v.exact, v.hist = nil, &h
	default:
		v.hist.Merge(o.Histogram())
	}
}

// AddBucket counts n samples in Histogram bucket i (reading a store's
// rollups); exact values become a histogram.
func (v *Values) AddBucket(i, n int) {
	if v.hist == nil {
		h := v.Histogram()
		v.exact, v.hist = nil, &h
	}
	v.hist.AddBucket(i, n)
}

// Len is the number of samples.
func (v Values) Len() int {
	if v.hist != nil {
		return v.hist.Len()
	}
	return len(v.exact)
}

// Exact reports whether every sample is kept, so percentiles are exact.
func (v Values) Exact() bool { return v.hist == nil }

// Histogram returns the samples as a histogram (counting exact ones).
func (v Values) Histogram() Histogram {
	if v.hist != nil {
		return *v.hist
	}
	var h Histogram
	for _, x := range v.exact {
		h.Add(x)
	}
	return h
}

// Distribution is the samples' count and p50/p75/p95: nearest-rank over
// the samples when exact, read from the histogram otherwise.
func (v Values) Distribution() Distribution {
	if v.hist == nil {
		return Distribute(v.exact)
	}
	d := Distribution{Samples: v.hist.Len()}
	p := func(q float64) *float64 {
		x, ok := v.hist.Percentile(q)
		if !ok {
			return nil
		}
		return &x
	}
	d.P50, d.P75, d.P95 = p(50), p(75), p(95)
	return d
}

// VitalSamples are one vital's samples on one page, rated as they were
// added.
type VitalSamples struct {
	Good, NeedsImprovement, Poor int
	Values                       Values
}

// Add rates and keeps one sample of vital v.
func (s *VitalSamples) Add(v probe.Vital, x float64) {
	switch probe.Rate(v, x) {
	case probe.RatingGood:
		s.Good++
	case probe.RatingNeedsImprovement:
		s.NeedsImprovement++
	default:
		s.Poor++
	}
	s.Values.Add(x)
}

// Merge adds o.
func (s *VitalSamples) Merge(o VitalSamples) {
	s.Good += o.Good
	s.NeedsImprovement += o.NeedsImprovement
	s.Poor += o.Poor
	s.Values.Merge(o.Values)
}

// PageSamples are one page's samples.
type PageSamples struct {
	Name string
	// FirstAt and Index place the page where it first appeared (scheduled
	// time, position in its run), which orders a check's pages.
	FirstAt  time.Time
	Index    int
	Measured int    // times the page was measured
	Load     Values // load_ms of the loads that fired
	TBT      Values // tbt_ms of the pages measured with it
	Vitals   [len(probe.AllVitals)]VitalSamples
	// PaymentProvider is the gateway the page was last waited on for
	// ("" never), PaymentReady the payment_ready_ms of the waits that saw
	// the field ready.
	PaymentProvider string
	PaymentReady    Values
	// Beacons count, per analytics vendor (probe.AnalyticsVendors order),
	// the measured pages on which it fired and its hits on them.
	Beacons [2]BeaconSamples
}

// BeaconSamples are one analytics vendor's beacons on a page.
type BeaconSamples struct {
	Pages int // measurements of the page on which the vendor fired
	Hits  int // its hits on them
}

// Merge adds o (the same page in another span or location).
func (p *PageSamples) Merge(o PageSamples) {
	if o.FirstAt.Before(p.FirstAt) || o.FirstAt.Equal(p.FirstAt) && o.Index < p.Index {
		p.FirstAt, p.Index = o.FirstAt, o.Index
	}
	p.Measured += o.Measured
	p.Load.Merge(o.Load)
	p.TBT.Merge(o.TBT)
	p.PaymentReady.Merge(o.PaymentReady)
	for i, b := range o.Beacons {
		p.Beacons[i].Pages += b.Pages
		p.Beacons[i].Hits += b.Hits
	}
	if p.PaymentProvider == "" {
		p.PaymentProvider = o.PaymentProvider
	}
	for i := range p.Vitals {
		p.Vitals[i].Merge(o.Vitals[i])
	}
}

// Samples are the load and page samples of a set of runs.
type Samples struct {
	Load  Values
	Pages []PageSamples // in no particular order: see SortedPages
	// histogram: new values go into histograms (a store's rollups).
	histogram bool
}

// HistogramSamples returns empty samples that count into histograms.
func HistogramSamples() Samples {
	return Samples{Load: HistogramValues(Histogram{}), histogram: true}
}

func (s *Samples) newValues() Values {
	if s.histogram {
		return HistogramValues(Histogram{})
	}
	return Values{}
}

// Add adds a run's samples.
func (s *Samples) Add(o Outcome) {
	if o.HasLoad {
		s.Load.Add(o.Load)
	}
	for _, po := range o.Pages {
		p := s.page(po.Name, o.ScheduledAt, po.Index)
		p.Measured++
		if po.LoadMS > 0 {
			p.Load.Add(po.LoadMS)
		}
		if po.HasTBT {
			p.TBT.Add(po.TBT)
		}
		if po.PaymentProvider != "" {
			p.PaymentProvider = po.PaymentProvider
		}
		if po.PaymentReady != nil {
			p.PaymentReady.Add(*po.PaymentReady)
		}
		for i, n := range po.Beacons {
			if n > 0 {
				p.Beacons[i].Pages++
				p.Beacons[i].Hits += n
			}
		}
		for i, v := range probe.AllVitals {
			if x := po.Vitals[i]; x != nil {
				p.Vitals[i].Add(v, *x)
			}
		}
	}
}

// Page returns the samples of the named page, added (empty) if new, first
// seen at (at, index) or earlier.
func (s *Samples) Page(name string, at time.Time, index int) *PageSamples {
	return s.page(name, at, index)
}

func (s *Samples) page(name string, at time.Time, index int) *PageSamples {
	for i := range s.Pages {
		if p := &s.Pages[i]; p.Name == name {
			if at.Before(p.FirstAt) || at.Equal(p.FirstAt) && index < p.Index {
				p.FirstAt, p.Index = at, index
			}
			return p
		}
	}
	p := PageSamples{Name: name, FirstAt: at, Index: index, Load: s.newValues(), TBT: s.newValues(), PaymentReady: s.newValues()}
	for i := range p.Vitals {
		p.Vitals[i].Values = s.newValues()
	}
	s.Pages = append(s.Pages, p)
	return &s.Pages[len(s.Pages)-1]
}

// Merge adds o's samples. Nothing of o is shared with s afterwards.
func (s *Samples) Merge(o Samples) {
	s.Load.Merge(o.Load)
	for _, op := range o.Pages {
		i := slices.IndexFunc(s.Pages, func(p PageSamples) bool { return p.Name == op.Name })
		if i < 0 {
			s.Pages = append(s.Pages, PageSamples{Name: op.Name, FirstAt: op.FirstAt, Index: op.Index})
			i = len(s.Pages) - 1
		}
		s.Pages[i].Merge(op)
	}
}

// SortedPages returns the pages in order of first appearance: scheduled
// time, then position in the run, then name (two locations measuring
// different pages in the same minute).
func (s Samples) SortedPages() []PageSamples {
	out := slices.Clone(s.Pages)
	slices.SortStableFunc(out, func(a, b PageSamples) int {
		return cmp.Or(a.FirstAt.Compare(b.FirstAt), cmp.Compare(a.Index, b.Index), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Exact reports whether every distribution keeps every sample.
func (s Samples) Exact() bool {
	if !s.Load.Exact() {
		return false
	}
	for _, p := range s.Pages {
		if !p.Load.Exact() || !p.TBT.Exact() || !p.PaymentReady.Exact() {
			return false
		}
		for _, v := range p.Vitals {
			if !v.Values.Exact() {
				return false
			}
		}
	}
	return true
}

// Stats summarises the pages as the report shows them.
func (s Samples) Stats() []PageStats {
	out := make([]PageStats, 0, len(s.Pages))
	for _, p := range s.SortedPages() {
		ps := PageStats{Name: p.Name, Samples: p.Measured, Load: p.Load.Distribution(), TBT: p.TBT.Distribution()}
		if p.PaymentProvider != "" {
			d := p.PaymentReady.Distribution()
			ps.PaymentProvider, ps.PaymentReady = p.PaymentProvider, &d
		}
		for i, v := range probe.AllVitals {
			ps.Vitals = append(ps.Vitals, p.Vitals[i].stats(v))
		}
		for i, v := range probe.AnalyticsVendors() {
			if b := p.Beacons[i]; b.Pages > 0 {
				if ps.Analytics == nil {
					ps.Analytics = map[string]AnalyticsStats{}
				}
				fired := 100 * float64(b.Pages) / float64(p.Measured)
				ps.Analytics[v] = AnalyticsStats{Pages: b.Pages, Hits: b.Hits, FiredPercent: fired}
			}
		}
		out = append(out, ps)
	}
	return out
}

func (s VitalSamples) stats(v probe.Vital) VitalStats {
	n := s.Good + s.NeedsImprovement + s.Poor
	vs := VitalStats{Vital: v, Samples: n, Good: s.Good, NeedsImprovement: s.NeedsImprovement, Poor: s.Poor}
	if n == 0 {
		return vs
	}
	vs.P75 = s.Values.Distribution().P75
	good := 100 * float64(s.Good) / float64(n)
	vs.GoodPercent = &good
	return vs
}

// Tally is one check's runs at one location over a span: counted, and their
// samples when asked for. A store builds them; the report merges and judges
// them.
type Tally struct {
	Check, Location string
	Counts          Counts
	Samples         Samples
}

// TallyRuns counts runs exactly (every sample kept), one Tally per check
// and location, sorted by check and location.
func TallyRuns(runs []probe.Run) []Tally {
	var out []Tally
	idx := map[[2]string]int{}
	for _, r := range runs {
		k := [2]string{r.Check, r.Location}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Tally{Check: r.Check, Location: r.Location})
		}
		o := OutcomeOf(r)
		out[i].Counts.Add(o)
		out[i].Samples.Add(o)
	}
	slices.SortFunc(out, func(a, b Tally) int {
		return cmp.Or(cmp.Compare(a.Check, b.Check), cmp.Compare(a.Location, b.Location))
	})
	return out
}

// Merge adds o (the same check at another location or in another span).
func (t *Tally) Merge(o Tally) {
	t.Counts.Merge(o.Counts)
	t.Samples.Merge(o.Samples)
}

// SampleMode says which samples a store's Tally gathers beside the counts.
type SampleMode int

// Sample modes.
const (
	SamplesNone      SampleMode = iota // counts only (burn-rate windows)
	SamplesExact                       // every sample, from the raw runs: exact percentiles
	SamplesHistogram                   // histograms (rollups where a store keeps them): percentiles within HistogramError
)

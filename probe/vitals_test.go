package probe

import (
	"encoding/json"
	"testing"
)

func TestRate(t *testing.T) {
	tests := []struct {
		v     Vital
		value float64
		want  Rating
	}{
		{VitalLCP, 0, RatingGood},
		{VitalLCP, 2500, RatingGood}, // a boundary counts as the better rating
		{VitalLCP, 2500.1, RatingNeedsImprovement},
		{VitalLCP, 4000, RatingNeedsImprovement},
		{VitalLCP, 4000.1, RatingPoor},
		{VitalCLS, 0.1, RatingGood},
		{VitalCLS, 0.11, RatingNeedsImprovement},
		{VitalCLS, 0.25, RatingNeedsImprovement},
		{VitalCLS, 0.26, RatingPoor},
		{VitalINP, 200, RatingGood},
		{VitalINP, 201, RatingNeedsImprovement},
		{VitalINP, 501, RatingPoor},
		{VitalFCP, 1800, RatingGood},
		{VitalFCP, 3000, RatingNeedsImprovement},
		{VitalFCP, 3001, RatingPoor},
		{VitalTTFB, 800, RatingGood},
		{VitalTTFB, 1800, RatingNeedsImprovement},
		{VitalTTFB, 1801, RatingPoor},
	}
	for _, tt := range tests {
		if got := Rate(tt.v, tt.value); got != tt.want {
			t.Errorf("Rate(%s, %v) = %s, want %s", tt.v, tt.value, got, tt.want)
		}
	}
}

func TestVitalsRateAndJSON(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	vs := Vitals{LCP: f(3000), CLS: f(0.05), FCP: f(900), TTFB: f(2000)}
	got := vs.Rate()
	want := Ratings{LCP: RatingNeedsImprovement, CLS: RatingGood, FCP: RatingGood, TTFB: RatingPoor}
	if got != want {
		t.Fatalf("Rate() = %+v, want %+v", got, want)
	}
	for _, v := range AllVitals {
		if (vs.Get(v) == nil) != (v == VitalINP) {
			t.Errorf("Get(%s) = %v", v, vs.Get(v))
		}
	}
	b, err := json.Marshal(struct {
		V Vitals  `json:"vitals"`
		R Ratings `json:"ratings"`
	}{vs, got})
	if err != nil {
		t.Fatal(err)
	}
	// INP without interaction is null, its rating absent.
	const wantJSON = `{"vitals":{"lcp_ms":3000,"cls":0.05,"inp_ms":null,"fcp_ms":900,"ttfb_ms":2000},` +
		`"ratings":{"lcp":"needs-improvement","cls":"good","fcp":"good","ttfb":"poor"}}`
	if string(b) != wantJSON {
		t.Fatalf("JSON = %s\nwant   %s", b, wantJSON)
	}
}

func TestFailureKinds(t *testing.T) {
	kinds := FailureKinds()
	if len(kinds) != 15 {
		t.Fatalf("%d kinds: %v", len(kinds), kinds)
	}
	for i, k := range kinds {
		if !k.Valid() || k.Describe() == "" {
			t.Errorf("%s: valid=%v describe=%q", k, k.Valid(), k.Describe())
		}
		if i > 0 && kinds[i-1] >= k {
			t.Errorf("not sorted at %s", k)
		}
		if want := k == FailureProbeError || k == FailureBrowserCrash; k.ProbeFault() != want {
			t.Errorf("%s.ProbeFault() = %v", k, !want)
		}
	}
	if FailureKind("nope").Valid() {
		t.Error("unknown kind valid")
	}
	f := Fail(FailureTimeout, PhaseWait, "no answer after %s", "10s")
	if f.Error() != "timeout (wait): no answer after 10s" {
		t.Errorf("Error() = %q", f.Error())
	}
}

func TestTargets(t *testing.T) {
	var set Targets
	set = set.With(TargetUptime).With(TargetCWVGood).With("nonsense")
	for _, tc := range []struct {
		name string
		want bool
	}{{TargetUptime, true}, {TargetLoadTime, false}, {TargetSuccess, false}, {TargetCWVGood, true}, {"nonsense", false}} {
		if got := set.Has(tc.name); got != tc.want {
			t.Errorf("Has(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := set.Names(); len(got) != 2 || got[0] != TargetUptime || got[1] != TargetCWVGood {
		t.Errorf("Names() = %v", got)
	}
}

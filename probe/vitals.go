package probe

// Vitals are a page's Core Web Vitals and friends, as web.dev defines them.
// A nil value was not observed (INP without interaction, LCP of a page that
// painted nothing) and is output as JSON null.
type Vitals struct {
	LCP  *float64 `json:"lcp_ms"`
	CLS  *float64 `json:"cls"`
	INP  *float64 `json:"inp_ms"`
	FCP  *float64 `json:"fcp_ms"`
	TTFB *float64 `json:"ttfb_ms"`
}

// Rating is web.dev's three-bucket judgement of a vital.
type Rating string

// Ratings in order from best to worst.
const (
	RatingGood             Rating = "good"
	RatingNeedsImprovement Rating = "needs-improvement"
	RatingPoor             Rating = "poor"
)

// Ratings holds one Rating per observed vital; unobserved vitals are empty
// and omitted.
type Ratings struct {
	LCP  Rating `json:"lcp,omitempty"`
	CLS  Rating `json:"cls,omitempty"`
	INP  Rating `json:"inp,omitempty"`
	FCP  Rating `json:"fcp,omitempty"`
	TTFB Rating `json:"ttfb,omitempty"`
}

// Vital names a metric, as used in config keys, tags and reports.
type Vital string

// The vitals storeprobe measures.
const (
	VitalLCP  Vital = "lcp"
	VitalCLS  Vital = "cls"
	VitalINP  Vital = "inp"
	VitalFCP  Vital = "fcp"
	VitalTTFB Vital = "ttfb"
)

// AllVitals lists the vitals in reporting order.
var AllVitals = [...]Vital{VitalLCP, VitalCLS, VitalINP, VitalFCP, VitalTTFB}

// Threshold is web.dev's pair of boundaries for a vital: a value <= Good is
// good, a value > Poor is poor, anything between needs improvement.
type Threshold struct{ Good, Poor float64 }

// Thresholds returns web.dev's boundaries (ms, CLS unitless).
func Thresholds(v Vital) Threshold {
	switch v {
	case VitalLCP:
		return Threshold{2500, 4000}
	case VitalCLS:
		return Threshold{0.1, 0.25}
	case VitalINP:
		return Threshold{200, 500}
	case VitalFCP:
		return Threshold{1800, 3000}
	case VitalTTFB:
		return Threshold{800, 1800}
	}
	return Threshold{}
}

// Rate rates value for vital v; a value on a boundary gets the better rating.
func Rate(v Vital, value float64) Rating {
	t := Thresholds(v)
	switch {
	case value <= t.Good:
		return RatingGood
	case value <= t.Poor:
		return RatingNeedsImprovement
	default:
		return RatingPoor
	}
}

// Get returns the value of vital v, or nil if not observed.
func (vs Vitals) Get(v Vital) *float64 {
	switch v {
	case VitalLCP:
		return vs.LCP
	case VitalCLS:
		return vs.CLS
	case VitalINP:
		return vs.INP
	case VitalFCP:
		return vs.FCP
	case VitalTTFB:
		return vs.TTFB
	}
	return nil
}

// Rate rates every observed vital.
func (vs Vitals) Rate() Ratings {
	r := func(v Vital) Rating {
		if p := vs.Get(v); p != nil {
			return Rate(v, *p)
		}
		return ""
	}
	return Ratings{LCP: r(VitalLCP), CLS: r(VitalCLS), INP: r(VitalINP), FCP: r(VitalFCP), TTFB: r(VitalTTFB)}
}

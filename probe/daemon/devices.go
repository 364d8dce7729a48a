package daemon

import (
	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/config"
)

// devices turns config overrides into browser device profiles, starting
// from the built-in profile of the same name (desktop for new names).
func devices(overrides map[string]config.DeviceOverride) map[string]browser.Device {
	if len(overrides) == 0 {
		return nil
	}
	out := map[string]browser.Device{}
	for name, o := range overrides {
		d := browser.Desktop()
		if name == probe.DeviceMobile {
			d = browser.Mobile()
		}
		d.Name = name
		set(&d.Width, o.Width, func(v int) int64 { return int64(v) })
		set(&d.Height, o.Height, func(v int) int64 { return int64(v) })
		set(&d.DPR, o.DeviceScaleFactor, same)
		set(&d.Mobile, o.Mobile, same)
		set(&d.UserAgent, o.UserAgent, same)
		set(&d.Latency, o.Latency, same)
		set(&d.DownloadKbps, o.DownloadKbps, same)
		set(&d.UploadKbps, o.UploadKbps, same)
		set(&d.CPUSlowdown, o.CPUSlowdown, same)
		out[name] = d
	}
	return out
}

// set overwrites *dst with conv(*v) when the override sets v.
func set[S, D any](dst *D, v *S, conv func(S) D) {
	if v != nil {
		*dst = conv(*v)
	}
}

func same[T any](v T) T { return v }

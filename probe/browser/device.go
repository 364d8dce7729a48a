package browser

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/storeprobe/storeprobe/probe"
)

// Device is the screen, input and throttling a run emulates.
type Device struct {
	Name   string
	Width  int64 // CSS pixels
	Height int64
	DPR    float64
	Mobile bool // mobile viewport meta handling and touch input
	// UserAgent replaces Chrome's; "{{chrome}}" stands for Chrome's version
	// and the probe's "storeprobe/VERSION" token is appended. Empty keeps
	// Chrome's own (with "HeadlessChrome" made "Chrome").
	UserAgent string

	// Network throttling applied by Chrome per request (DevTools-style);
	// zero values mean none.
	Latency      time.Duration // added request latency
	DownloadKbps float64       // kilobits (1024 bits) per second
	UploadKbps   float64
	// CPUSlowdown is Emulation.setCPUThrottlingRate; 1 or 0 means none.
	CPUSlowdown float64
}

// Desktop is Lighthouse's desktop profile: 1350x940 at DPR 1, unthrottled.
func Desktop() Device {
	return Device{Name: probe.DeviceDesktop, Width: 1350, Height: 940, DPR: 1,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{{chrome}} Safari/537.36"}
}

// Mobile is Lighthouse's mobile profile: a Moto G Power (412x823, DPR 1.75,
// touch) under Lighthouse's DevTools throttling ("slow 4G": 562.5 ms request
// latency, 1.47 Mbps down, 675 Kbps up) and a 4x CPU slowdown.
func Mobile() Device {
	return Device{Name: probe.DeviceMobile, Width: 412, Height: 823, DPR: 1.75, Mobile: true,
		UserAgent:    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{{chrome}} Mobile Safari/537.36",
		Latency:      562500 * time.Microsecond,
		DownloadKbps: 1.6 * 1024 * 0.9,
		UploadKbps:   750 * 0.9,
		CPUSlowdown:  4,
	}
}

// device resolves a device name against the defaults and Options.Devices.
func (b *Browser) device(name string) (Device, error) {
	if name == "" {
		name = probe.DeviceDesktop
	}
	if d, ok := b.opts.Devices[name]; ok {
		if d.Name == "" {
			d.Name = name
		}
		return d, nil
	}
	switch name {
	case probe.DeviceDesktop:
		return Desktop(), nil
	case probe.DeviceMobile:
		return Mobile(), nil
	}
	return Device{}, fmt.Errorf("unknown device %q (want desktop or mobile)", name)
}

var chromeVersionRe = regexp.MustCompile(`(?:Headless)?Chrome/([0-9.]+)`)

// userAgent builds the UA string for d from Chrome's own.
func userAgent(d Device, chromeUA, version string) string {
	ver := "0.0.0.0"
	if m := chromeVersionRe.FindStringSubmatch(chromeUA); m != nil {
		ver = m[1]
	}
	ua := d.UserAgent
	if ua == "" {
		ua = strings.Replace(chromeUA, "HeadlessChrome/", "Chrome/", 1)
	}
	ua = strings.ReplaceAll(ua, "{{chrome}}", ver)
	if version == "" {
		version = "dev"
	}
	return ua + " storeprobe/" + version
}

// emulate applies d to the run's tab before the first navigation.
func emulate(ctx context.Context, t *chromedp.Target, d Device, ua string) error {
	calls := []func() error{
		func() error {
			_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: d.Width, Height: d.Height, DeviceScaleFactor: d.DPR, Mobile: d.Mobile,
				ScreenWidth: d.Width, ScreenHeight: d.Height,
			})
			return err
		},
		func() error {
			_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: d.Mobile, MaxTouchPoints: 5})
			return err
		},
		func() error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
			return err
		},
	}
	if d.CPUSlowdown > 1 {
		calls = append(calls, func() error {
			_, err := cdp.Call(ctx, t, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: d.CPUSlowdown})
			return err
		})
	}
	if d.Latency > 0 || d.DownloadKbps > 0 || d.UploadKbps > 0 {
		calls = append(calls, func() error {
			// Throughput in bytes per second; -1 disables that direction.
			bps := func(kbps float64) float64 {
				if kbps <= 0 {
					return -1
				}
				return kbps * 1024 / 8
			}
			// DevTools-style throttling, as Lighthouse's "devtools" mode:
			// Chrome delays delivery to the renderer, which shows in FCP,
			// LCP and load; the page's own responseStart (our TTFB) keeps
			// the network stack's unthrottled time.
			_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{
					Latency:            float64(d.Latency) / float64(time.Millisecond),
					DownloadThroughput: bps(d.DownloadKbps),
					UploadThroughput:   bps(d.UploadKbps),
				}},
			})
			return err
		})
	}
	for _, c := range calls {
		if err := c(); err != nil {
			return fmt.Errorf("emulate %s: %w", d.Name, err)
		}
	}
	return nil
}

package browser

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// TestNoOnDeviceModelService: Chrome starts an on_device_model utility
// process to evaluate the machine for its on-device AI model, three minutes
// after it starts, and keeps it for the browser's life; storeprobe's command
// line skips that evaluation. The test brings it forward to a second (a
// parameter of Chrome's LogOnDeviceMetricsOnStartup feature) and runs, beside
// a browser with storeprobe's flags, one whose performance class is left
// unknown (0): that control must start the service, and ours must not have
// it by then. The same test holds that a feature list in ExtraFlags is added
// to storeprobe's, not put in its place.
func TestNoOnDeviceModelService(t *testing.T) {
	chromium := browsertest.Chromium(t)
	shop := newShop(t)
	const soon = "LogOnDeviceMetricsOnStartup:on_device_startup_metric_delay/1s"
	cases := []struct {
		name    string
		extra   []string
		service bool
	}{
		{"storeprobe's flags", nil, false},
		{"performance class unknown (the control)", []string{"optimization-guide-performance-class=0"}, true},
	}
	pids := make([]int, len(cases))
	for i, c := range cases {
		o := testOptions(chromium)
		o.ExtraFlags = append([]string{"enable-features=" + soon, "disable-features=StoreprobeTestFeature"}, c.extra...)
		b := New(o)
		t.Cleanup(func() { b.Close() })
		if res := b.Browse(context.Background(), probe.Check{Name: "p", URL: shop.URL + "/plain", Timeout: 20 * time.Second}); !res.OK {
			t.Fatalf("%s: %v", c.name, res.Failure)
		}
		pids[i] = b.PID()
	}

	// The feature lists on the browser process's command line: ours and
	// chromedp's, then the extra ones.
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	for _, want := range []string{
		"--enable-features=" + enabledFeatures + "," + soon,
		"--disable-features=" + disabledFeatures + ",StoreprobeTestFeature",
		"--optimization-guide-performance-class=8",
	} {
		if !contains(args, want) {
			t.Errorf("Chrome's command line has no %s: %q", want, args)
		}
	}

	// Wait for the control's service (the evaluation is a second after its
	// start), then look at ours, which started before it, a second later.
	deadline := time.Now().Add(30 * time.Second)
	for !hasOnDeviceModelService(pids[1]) {
		if time.Now().After(deadline) {
			t.Skip("the control Chrome started no on_device_model service in 30 s: this Chromium does not evaluate the machine (or ignores the delay parameter), so there is nothing to skip")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	for i, c := range cases {
		if got := hasOnDeviceModelService(pids[i]); got != c.service {
			t.Errorf("%s: on_device_model service running %v, want %v", c.name, got, c.service)
		}
	}
}

// hasOnDeviceModelService reports whether process group pgid has Chrome's
// on-device model utility process.
func hasOnDeviceModelService(pgid int) bool {
	for _, pid := range GroupPIDs(pgid) {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if bytes.Contains(cmd, []byte("--utility-sub-type=on_device_model.")) {
			return true
		}
	}
	return false
}

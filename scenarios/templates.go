package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
)

// The built-in journeys. Each checkout template walks home → search →
// product → add to cart → cart → checkout and stops when the checkout page
// has rendered: it never enters an email (a real address would feed the
// shop's abandoned-cart e-mails), never submits payment, and leaves nothing
// behind but a cart in a throwaway browser context.
//
//go:embed templates/*.yaml demo/checkout.yaml
var files embed.FS

const demoJourneyPath = "demo/checkout.yaml"

// TemplateNames lists the built-in templates, sorted.
func TemplateNames() []string {
	entries, err := fs.ReadDir(files, "templates")
	if err != nil {
		return nil // cannot happen: the directory is embedded
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	sort.Strings(names)
	return names
}

// Template returns the named built-in template, parsed but with its
// placeholders in place: Apply the check's params before running it.
func Template(name string) (probe.Journey, error) {
	file := path.Join("templates", name+".yaml")
	data, err := files.ReadFile(file)
	if err != nil || strings.ContainsAny(name, "/\\.") {
		return probe.Journey{}, fmt.Errorf("unknown template %q (want one of %s)", name, strings.Join(TemplateNames(), ", "))
	}
	return Parse(file, data)
}

// TemplateYAML returns the source of a built-in template, for users who
// want to copy one and adapt it.
func TemplateYAML(name string) ([]byte, error) {
	if strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("unknown template %q", name)
	}
	data, err := files.ReadFile(path.Join("templates", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown template %q (want one of %s)", name, strings.Join(TemplateNames(), ", "))
	}
	return data, nil
}

// DemoJourney returns the checkout journey of the built-in demo storefront
// (scenarios/demoshop), parameterised by {{base_url}}.
func DemoJourney() (probe.Journey, error) {
	data, err := files.ReadFile(demoJourneyPath)
	if err != nil {
		return probe.Journey{}, fmt.Errorf("demo journey: %w", err)
	}
	return Parse(demoJourneyPath, data)
}

// DemoJourneyYAML returns the demo journey's source, so the demo command can
// write it next to the config it generates (`journey: FILE`).
func DemoJourneyYAML() []byte {
	data, _ := files.ReadFile(demoJourneyPath)
	return data
}

// TemplateInfo describes a built-in template for a listing.
type TemplateInfo struct {
	Name        string          `json:"name"`
	Journey     string          `json:"journey"` // the journey's own name
	Description string          `json:"description"`
	Device      string          `json:"device,omitempty"`
	Steps       int             `json:"steps"`
	Params      []TemplateParam `json:"params"`
}

// TemplateParam is one param a template declares.
type TemplateParam struct {
	Name     string `json:"name"`
	Default  string `json:"default"`
	Required bool   `json:"required"` // no default: --param or params: must give it
	Secret   bool   `json:"secret"`   // its value is redacted wherever it would show
}

// Templates describes every built-in template, sorted by name.
func Templates() ([]TemplateInfo, error) {
	var out []TemplateInfo
	for _, name := range TemplateNames() {
		j, err := Template(name)
		if err != nil {
			return nil, err
		}
		info := TemplateInfo{Name: name, Journey: j.Name, Description: j.Description, Device: j.Device,
			Steps: len(j.Steps), Params: []TemplateParam{}}
		for _, p := range slices.Sorted(maps.Keys(j.Params)) {
			info.Params = append(info.Params, TemplateParam{Name: p, Default: j.Params[p], Required: j.Params[p] == "",
				Secret: slices.Contains(j.SecretParams, p)})
		}
		out = append(out, info)
	}
	return out, nil
}

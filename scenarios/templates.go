package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
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

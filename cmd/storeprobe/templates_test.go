package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/scenarios"
)

func TestTemplatesCommand(t *testing.T) {
	code, out, errOut := runWithEnv(t, nil, "templates")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range scenarios.TemplateNames() {
		if !strings.Contains(out, name+"\n") {
			t.Errorf("the list lacks %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "base_url (required)") || !strings.Contains(out, "storeprobe journey --template") {
		t.Errorf("the list does not say how to run one:\n%s", out)
	}

	code, out, _ = runWithEnv(t, nil, "templates", "--output", "json")
	var list []scenarios.TemplateInfo
	if err := json.Unmarshal([]byte(out), &list); code != exitOK || err != nil || len(list) != len(scenarios.TemplateNames()) {
		t.Fatalf("json: exit %d, %v, %d templates\n%s", code, err, len(list), out)
	}
	for _, tpl := range list {
		required := map[string]bool{}
		for _, p := range tpl.Params {
			required[p.Name] = p.Required
		}
		if tpl.Description == "" || tpl.Steps == 0 || !required["base_url"] {
			t.Errorf("template %+v: want a description, steps and a required base_url", tpl)
		}
	}

	code, out, _ = runWithEnv(t, nil, "templates", "show", "shopify")
	src, _ := scenarios.TemplateYAML("shopify")
	if code != exitOK || out != string(src) {
		t.Errorf("show shopify: exit %d, output is not the template's source", code)
	}
	if _, err := scenarios.Parse("copy.yaml", []byte(out)); err != nil {
		t.Errorf("the shown YAML does not parse as a journey: %v", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"templates", "show", "nope"}, `unknown template "nope"`},
		{[]string{"templates", "show"}, "one template name"},
		{[]string{"templates", "list"}, `unexpected argument "list"`},
		{[]string{"journey", "--template", "shopify", "x.yaml"}, "not both"},
		{[]string{"journey", "--template", "nope"}, `unknown template "nope"`},
		{[]string{"journey", "--template", "shopify", "--param", "base_url=https://shop.test"}, "search_term"},
	} {
		code, _, errOut := runWithEnv(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", tc.args, code, errOut, tc.want)
		}
	}
}

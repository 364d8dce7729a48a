package influxtest

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestStartWriteQueryRestart(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	resp, err := http.Post(s.URL+"/api/v2/write?bucket="+s.Bucket+"&precision=ns", "text/plain",
		strings.NewReader("m,k=v f=1.5 1000000000\nm,k=w f=2 1000000000"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	if n, err := s.Count(ctx, "m", "f", ""); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	s.Stop()
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	s.Start()
	if n, err := s.Count(ctx, "m", "f", ""); err != nil || n != 2 {
		t.Fatalf("after restart: count = %d, %v; want 2", n, err)
	}
	csv, err := s.Flux(ctx, `from(bucket: "`+s.Bucket+`") |> range(start: 0) |> filter(fn: (r) => r._measurement == "m")`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(csv, ",m,"); got != 2 {
		t.Errorf("flux rows = %d, want 2:\n%s", got, csv)
	}
	if _, err := s.Flux(ctx, `this is not flux`); err == nil {
		t.Error("a bad Flux query returned no error")
	}
}

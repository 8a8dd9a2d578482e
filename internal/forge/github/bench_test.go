package github

import (
	"context"
	"testing"

	"github.com/mlci/mlci/internal/forge"
)

// BenchmarkPostUpdate measures one Post that edits an existing sticky
// comment, after a first Post has learned the user and the check-run refusal.
func BenchmarkPostUpdate(b *testing.B) {
	s := newFake(b)
	f := newForge(b, config(b, s, userToken, &sleeps{}))
	ctx := context.Background()
	if _, err := f.Post(ctx, forge.Report{ID: "r", Body: "warm-up"}); err != nil {
		b.Fatal(err)
	}
	bodies := [2]forge.Report{{ID: "r", Body: "a"}, {ID: "r", Body: "b"}}
	before := len(s.Requests())
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.Post(ctx, bodies[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(s.Requests())-before)/float64(b.N), "requests/post")
	if n := len(s.Comments("o", "r", prNumber)); n != 1 {
		b.Fatalf("%d comments, want 1", n)
	}
}

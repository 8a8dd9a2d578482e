package scheme

import "testing"

func TestLongest(t *testing.T) {
	list := []string{"oci:", "oci://", "s3://", ""}
	id := func(s string) string { return s }
	tests := []struct{ spec, want, rest string }{
		{"oci://ghcr.io/o/r", "oci://", "ghcr.io/o/r"},
		{"oci:layout", "oci:", "layout"},
		{"s3://bucket/p", "s3://", "bucket/p"},
		{"models/store", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, rest, ok := Longest(list, id, tt.spec)
			if ok != (tt.want != "") || got != tt.want || (ok && rest != tt.rest) {
				t.Errorf("Longest(%q) = %q, %q, %v; want %q, %q", tt.spec, got, rest, ok, tt.want, tt.rest)
			}
		})
	}
}

package jobrun

import (
	"strings"
	"testing"
)

func TestParseAsk(t *testing.T) {
	tests := []struct {
		name              string
		count, mem, model string
		want              Ask
		wantErr           string
	}{
		{name: "nothing", want: Ask{}},
		{name: "zero", count: "0", want: Ask{}},
		{name: "count", count: "2", want: Ask{Count: 2}},
		{name: "label form", count: "gpu:4", want: Ask{Count: 4}},
		{name: "memory and model", count: "1", mem: "80g", model: "H100", want: Ask{Count: 1, MinMemory: 80 << 30, Model: "H100"}},
		{name: "GiB suffix", count: "1", mem: "40GiB", want: Ask{Count: 1, MinMemory: 40 << 30}},
		{name: "MiB", count: "1", mem: "40960m", want: Ask{Count: 1, MinMemory: 40 << 30}},
		{name: "negative", count: "-1", wantErr: "whole number from 0 to 64"},
		{name: "too many", count: "65", wantErr: "whole number from 0 to 64"},
		{name: "words", count: "two", wantErr: "MLCI_GPUS=2"},
		{name: "bad memory", count: "1", mem: "lots", wantErr: "write e.g. 80g"},
		{name: "memory without count", mem: "80g", wantErr: "no GPU count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAsk(tc.count, tc.mem, tc.model)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseAsk = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"80g", "1t", "512", "40GiB", "", "g", "99999999999999999999t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n == 0 {
			t.Fatalf("ParseSize(%q) = 0 without error", s)
		}
	})
}

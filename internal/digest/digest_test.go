package digest

import (
	"errors"
	"testing"
)

// The empty-input digests published with each algorithm, so a user can
// compare mlci's output with b3sum and sha256sum.
func TestNewMatchesReferenceDigests(t *testing.T) {
	tests := []struct {
		name string
		alg  Algorithm
		in   string
		want Digest
	}{
		{"blake3 empty", BLAKE3, "", "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"sha256 empty", SHA256, "", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"sha256 abc", SHA256, "abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.alg.New()
			h.Write([]byte(tt.in))
			if got := New(tt.alg, h.Sum(nil)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	good := "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"blake3", good, false},
		{"sha256", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false},
		{"no colon", "af1349b9", true},
		{"unknown algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", true},
		{"empty algorithm", ":af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", true},
		{"short hex", "blake3:af13", true},
		{"upper hex", "blake3:AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262", true},
		{"not hex", "blake3:zz1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && string(d) != tt.in {
				t.Errorf("Parse(%q) = %q", tt.in, d)
			}
		})
	}
	if d, _ := Parse(good); d.Algorithm() != BLAKE3 || d.Short() != "blake3:af1349b9f5f9" {
		t.Errorf("Algorithm/Short = %s %s", d.Algorithm(), d.Short())
	}
}

func TestParseAlgorithm(t *testing.T) {
	if a, err := ParseAlgorithm(""); err != nil || a != BLAKE3 {
		t.Errorf("default = %s, %v", a, err)
	}
	if _, err := ParseAlgorithm("md5"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("md5: err = %v, want ErrUnknownAlgorithm", err)
	}
}

package emit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxLabel is the longest DNS-1123 label, and so the longest name of a
// Service or an InferenceService and the longest label value.
const maxLabel = 63

// dnsLabel turns s into a DNS-1123 label of at most max bytes that also
// starts with a letter, as KServe requires of InferenceService names:
// lower case, runs of other characters as one '-'. A name that had to be
// cut keeps a hash of s, so two long models do not end up with one name.
func dnsLabel(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := b.String()
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "m-" + out
		out = strings.TrimSuffix(out, "-")
	}
	if len(out) > max {
		sum := sha256.Sum256([]byte(s))
		out = strings.TrimRight(out[:max-9], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	return out
}

// names are what the manifests of one target are called.
type names struct {
	base   string // the InferenceService, HTTPRoute and Rollout
	stable string // the Service of the stable version
	canary string // the Service of the canary
}

func namesOf(t Target) names {
	base := dnsLabel(t.Model+"-"+t.Stage, maxLabel-len("-stable"))
	return names{base: base, stable: base + "-stable", canary: base + "-canary"}
}

// Package scheme picks, from a list of "scheme:" prefixes such as
// artifact stores' and data remotes', the one a configured value starts
// with.
package scheme

import "strings"

// Longest returns the item of list whose prefix (as prefix reports it)
// starts spec and is the longest such, with the rest of spec; ok is false
// when none does. The longest prefix wins so that a scheme such as "oci:"
// can never shadow "oci://", whatever the order of the list.
func Longest[S any](list []S, prefix func(S) string, spec string) (found S, rest string, ok bool) {
	best := ""
	for _, s := range list {
		if p := prefix(s); p != "" && strings.HasPrefix(spec, p) && len(p) > len(best) {
			found, best, ok = s, p, true
		}
	}
	return found, strings.TrimPrefix(spec, best), ok
}

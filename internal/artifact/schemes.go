package artifact

import (
	"github.com/mlci/mlci/internal/scheme"

	"context"
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/forge/redact"
)

// Scheme is one form of artifact_store value, such as oci-layout:PATH.
// A store is added by adding its Scheme to the list Schemes returns; the
// list is built on each call, so nothing registers itself and tests can
// open stores through their own lists with OpenWith.
type Scheme struct {
	// Prefix starts every value of this scheme and is cut off before
	// Open sees it: "oci-layout:", "oci://".
	Prefix string
	// Form is how a value is written, for messages: "oci-layout:PATH".
	Form string
	// Open opens the store that rest, the value after Prefix, names.
	// Relative paths in rest are relative to root, the project's root.
	Open func(ctx context.Context, rest, root string, opt Options) (Store, error)
}

// Schemes returns the stores mlci knows, in the order messages list them.
func Schemes() []Scheme {
	return []Scheme{
		{Prefix: layoutPrefix, Form: layoutPrefix + "PATH", Open: openOCILayout},
		{Prefix: registryPrefix, Form: registryPrefix + "REGISTRY/REPO", Open: openOCIRegistry},
	}
}

// OpenWith opens the store spec names through the scheme in schemes whose
// Prefix starts spec, as Open does with the built-in ones.
// Errors never hold credentials written into spec.
func OpenWith(ctx context.Context, schemes []Scheme, spec, root string, opt Options) (Store, error) {
	sc, rest, err := lookup(schemes, spec)
	if err != nil {
		return nil, redact.Error(err)
	}
	s, err := sc.Open(ctx, rest, root, opt)
	return s, redact.Error(err)
}

// lookup finds the scheme of spec and returns it with the rest of spec.
// The longest matching prefix wins, so a scheme such as "oci:" could never
// shadow "oci://" whatever the order of the list.
func lookup(schemes []Scheme, spec string) (Scheme, string, error) {
	found, rest, ok := scheme.Longest(schemes, func(s Scheme) string { return s.Prefix }, spec)
	if !ok {
		return Scheme{}, "", fmt.Errorf("artifact_store %q: unknown form; use %s", redact.URL(spec), forms(schemes))
	}
	return found, rest, nil
}

// forms lists the schemes' forms as a sentence: "A, B or C".
func forms(schemes []Scheme) string {
	var f []string
	for _, sc := range schemes {
		f = append(f, sc.Form)
	}
	if len(f) < 2 {
		return strings.Join(f, "")
	}
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

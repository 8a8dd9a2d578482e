package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// semver is a parsed "vMAJOR.MINOR.PATCH[-PRE][+BUILD]"; build metadata is
// kept only for validation since it does not affect order.
type semver struct {
	nums [3]uint64
	pre  []string
}

// parseSemver accepts semver 2.0.0 with the mandatory "v" GTO requires.
func parseSemver(s string) (semver, bool) {
	var v semver
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return v, false
	}
	rest, build, hasBuild := strings.Cut(rest, "+")
	if hasBuild && !validIdents(build, false) {
		return v, false
	}
	core, pre, hasPre := strings.Cut(rest, "-")
	if hasPre {
		if !validIdents(pre, true) {
			return v, false
		}
		v.pre = strings.Split(pre, ".")
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		if !numeric(p) || len(p) > 1 && p[0] == '0' {
			return v, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return v, false
		}
		v.nums[i] = n
	}
	return v, true
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validIdents checks dot-separated identifiers; prerelease numbers may not
// have leading zeros.
func validIdents(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			if !alnum(id[i]) && id[i] != '-' {
				return false
			}
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// compareSemver orders by semver precedence; unparsable versions sort
// first, by string, so a bad tag cannot hide a good one.
func compareSemver(a, b string) int {
	va, oka := parseSemver(a)
	vb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range va.nums {
		if va.nums[i] != vb.nums[i] {
			if va.nums[i] < vb.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(va.pre) == 0 && len(vb.pre) == 0:
		return 0
	case len(va.pre) == 0:
		return 1
	case len(vb.pre) == 0:
		return -1
	}
	for i := 0; i < len(va.pre) && i < len(vb.pre); i++ {
		if c := compareIdent(va.pre[i], vb.pre[i]); c != 0 {
			return c
		}
	}
	return len(va.pre) - len(vb.pre)
}

func compareIdent(a, b string) int {
	na, nb := numeric(a), numeric(b)
	switch {
	case na && nb:
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

// NextVersion bumps current by "major", "minor" or "patch"; with no current
// version the first is v0.0.1, as in GTO. Prerelease and build parts are
// dropped.
func NextVersion(current, bump string) (string, error) {
	if current == "" {
		return "v0.0.1", nil
	}
	v, ok := parseSemver(current)
	if !ok {
		return "", fmt.Errorf("version %q is not semver like v1.2.3", current)
	}
	n := v.nums
	switch bump {
	case "major":
		n = [3]uint64{n[0] + 1, 0, 0}
	case "minor":
		n = [3]uint64{n[0], n[1] + 1, 0}
	case "patch":
		n[2]++
	default:
		return "", fmt.Errorf("bump %q: use major, minor or patch", bump)
	}
	return fmt.Sprintf("v%d.%d.%d", n[0], n[1], n[2]), nil
}

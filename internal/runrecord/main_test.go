package runrecord

import (
	"flag"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	flag.Bool("update", false, "rewrite golden files under testdata/")
	os.Exit(m.Run())
}

// update reports whether -update was given; the flag lives in the flag
// package's set rather than a package variable.
func update(t *testing.T) bool {
	t.Helper()
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	v, _ := f.Value.(flag.Getter).Get().(bool)
	return v
}

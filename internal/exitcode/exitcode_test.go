package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("x")
	tests := []struct {
		name string
		err  error
		def  int
		want int
	}{
		{"nil", nil, Usage, OK},
		{"plain", base, Usage, Usage},
		{"carried", With(Service, base), Usage, Service},
		{"wrapped carried", fmt.Errorf("ctx: %w", With(Failed, base)), Usage, Failed},
		{"cancelled", fmt.Errorf("hashing: %w", context.Canceled), Usage, Interrupted},
		{"carried beats cancelled", With(Service, context.Canceled), Usage, Service},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.err, tc.def); got != tc.want {
				t.Errorf("Of = %d, want %d", got, tc.want)
			}
		})
	}
	if !errors.Is(With(Failed, base), base) {
		t.Error("With hides the error it carries")
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("  a\nb \t c\n"); got != "a b c" {
		t.Errorf("OneLine = %q", got)
	}
}

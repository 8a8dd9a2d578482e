package apierr

import (
	"errors"
	"testing"
)

var (
	errA = errors.New("a")
	errB = errors.New("b")
)

type forgeA struct{}

func (forgeA) Name() string { return "ForgeA" }
func (forgeA) Kinds() Kinds {
	return Kinds{Unauthorized: errA, Forbidden: errA, NotFound: errA, Rejected: errA, Unavailable: errA}
}

type forgeB struct{}

func (forgeB) Name() string { return "ForgeB" }
func (forgeB) Kinds() Kinds {
	return Kinds{Unauthorized: errB, Forbidden: errB, NotFound: errB, Rejected: errB, Unavailable: errB}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error[forgeA]
		want string
	}{
		{"hint only", &Error[forgeA]{Op: "op", Hint: "hint"}, "forgea: op: hint"},
		{"transport words", &Error[forgeA]{Op: "op", Hint: "hint", Message: "dial"}, "forgea: op: hint (dial)"},
		{"forge words", &Error[forgeA]{Op: "op", Hint: "hint", Status: 422, Message: "bad"}, "forgea: op: hint (ForgeA said: bad)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// Each forge's Error must stay its own type, so errors.As for one never
// catches the other's.
func TestErrorTypesDistinct(t *testing.T) {
	var err error = &Error[forgeB]{Op: "op", Kind: errB}
	var a *Error[forgeA]
	if errors.As(err, &a) {
		t.Fatal("errors.As matched another forge's Error")
	}
	var b *Error[forgeB]
	if !errors.As(err, &b) || !errors.Is(err, errB) {
		t.Fatal("errors.As/Is missed the forge's own Error")
	}
}

func TestAfter(t *testing.T) {
	for n, want := range map[int]string{0: "after retries", 1: "after 1 attempt", 3: "after 3 attempts"} {
		if got := After(n); got != want {
			t.Errorf("After(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestByStatus(t *testing.T) {
	hint, kind := ByStatus[forgeB](503, "after 2 attempts")
	if want := "ForgeB API failing (HTTP 503) after 2 attempts; retry later"; hint != want || kind != errB {
		t.Errorf("ByStatus = %q, %v; want %q, %v", hint, kind, want, errB)
	}
}

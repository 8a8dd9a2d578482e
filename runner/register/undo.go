package register

import (
	"context"
)

// UndoError is a failure after a runner was registered whose clean-up
// failed too: the runner is still registered and must be removed by hand.
// It unwraps to Err only, so its class (ErrUsage, ErrService) is the first
// failure's; Undo says why the runner could not be removed.
type UndoError struct {
	Err  error // what failed after registration
	Undo error // why removing the runner failed
}

func (e *UndoError) Error() string {
	return e.Err.Error() + "; the runner is still registered, as removing it failed (remove it by hand): " + e.Undo.Error()
}

func (e *UndoError) Unwrap() error { return e.Err }

// Undo removes a runner registered moments ago because a later step failed
// with err, so no registration is left that nothing will ever start. It
// returns err, or an *UndoError when unregister fails too.
//
// unregister gets a fresh context bounded by UnregisterTimeout: the
// caller's is often the one whose cancellation (SIGTERM) made the step
// fail, and a clean-up cut short by it would leave the runner behind.
func Undo(ctx context.Context, err error, unregister func(context.Context) error) error {
	uctx, cancel := detached(ctx)
	defer cancel()
	if uerr := unregister(uctx); uerr != nil {
		return &UndoError{Err: err, Undo: uerr}
	}
	return err
}

// detached is ctx's values without its cancellation, bounded by
// UnregisterTimeout, for clean-up that must run after ctx ended.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), UnregisterTimeout)
}

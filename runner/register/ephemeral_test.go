package register

import (
	"context"
	"errors"
	"os/exec"
	"testing"
)

func TestEphemeral(t *testing.T) {
	errRun := errors.New("runner crashed")
	errUnreg := errors.New("unregister failed")
	errReg := errors.New("register failed")
	tests := []struct {
		name          string
		cancel        bool // cancel ctx while the job runs
		regErr        error
		regNoCleanup  bool
		runCode       int
		runErr        error
		unregErr      error
		wantCode      int
		wantErrs      []error
		wantUnreg     bool
		wantRun       bool
		wantUnregLive bool // unregister's ctx was alive
	}{
		{name: "success", runCode: 0, wantCode: 0, wantUnreg: true, wantRun: true},
		{name: "job failed", runCode: 1, wantCode: 1, wantUnreg: true, wantRun: true},
		{name: "runner error", runCode: -1, runErr: errRun, wantCode: -1, wantErrs: []error{errRun}, wantUnreg: true, wantRun: true},
		{name: "ctx cancelled", cancel: true, runCode: 143, runErr: context.Canceled, wantCode: 143, wantErrs: []error{context.Canceled}, wantUnreg: true, wantRun: true},
		{name: "unregister fails", runCode: 0, unregErr: errUnreg, wantCode: 0, wantErrs: []error{errUnreg}, wantUnreg: true, wantRun: true},
		{name: "both fail", runErr: errRun, runCode: 2, unregErr: errUnreg, wantCode: 2, wantErrs: []error{errRun, errUnreg}, wantUnreg: true, wantRun: true},
		{name: "register fails", regErr: errReg, regNoCleanup: true, wantCode: -1, wantErrs: []error{errReg}},
		{name: "register fails half-way", regErr: errReg, wantCode: -1, wantErrs: []error{errReg}, wantUnreg: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var ran, unregistered, unregLive bool
			register := func(context.Context) (func(context.Context) error, error) {
				if tt.regNoCleanup {
					return nil, tt.regErr
				}
				return func(uctx context.Context) error {
					unregistered = true
					unregLive = uctx.Err() == nil
					if _, ok := uctx.Deadline(); !ok {
						t.Error("unregister ctx has no deadline")
					}
					return tt.unregErr
				}, tt.regErr
			}
			run := func(rctx context.Context) (int, error) {
				ran = true
				if tt.cancel {
					cancel() // what SIGTERM does through signal.NotifyContext
					<-rctx.Done()
				}
				return tt.runCode, tt.runErr
			}
			code, err := Ephemeral(ctx, register, run)
			if code != tt.wantCode {
				t.Errorf("code = %d, want %d", code, tt.wantCode)
			}
			if ran != tt.wantRun || unregistered != tt.wantUnreg {
				t.Errorf("ran, unregistered = %v, %v; want %v, %v", ran, unregistered, tt.wantRun, tt.wantUnreg)
			}
			if unregistered && !unregLive {
				t.Error("unregister got a dead context")
			}
			if len(tt.wantErrs) == 0 && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
			for _, w := range tt.wantErrs {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want it to wrap %v", err, w)
				}
			}
		})
	}
}

func TestEphemeralUnregistersOnPanic(t *testing.T) {
	unregistered := false
	defer func() {
		if recover() == nil {
			t.Error("panic was swallowed")
		}
		if !unregistered {
			t.Error("runner was not unregistered after a panic")
		}
	}()
	_, _ = Ephemeral(context.Background(),
		func(context.Context) (func(context.Context) error, error) {
			return func(context.Context) error { unregistered = true; return nil }, nil
		},
		func(context.Context) (int, error) { panic("boom") })
}

func TestCommandRunner(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("these tests run the runner command through sh, which is not on PATH")
	}
	tests := []struct {
		name     string
		r        CommandRunner
		cancel   bool
		wantCode int
		wantErr  error
	}{
		{name: "exit 0", r: CommandRunner{Path: "sh", Args: []string{"-c", "exit 0"}}, wantCode: 0},
		{name: "exit 3", r: CommandRunner{Path: "sh", Args: []string{"-c", "exit 3"}}, wantCode: 3},
		{name: "SIGTERM on cancel", r: CommandRunner{Path: "sh", Args: []string{"-c", "trap 'exit 7' TERM; while :; do sleep 0.01; done"}}, cancel: true, wantCode: 7, wantErr: context.Canceled},
		{name: "missing binary", r: CommandRunner{Path: "/nonexistent/run.sh"}, wantCode: -1, wantErr: exec.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel() // cancelled before start: Run still starts, then signals
			}
			defer cancel()
			code, err := tt.r.Run(ctx)
			if tt.name == "missing binary" {
				if err == nil || code != -1 {
					t.Errorf("Run = %d, %v; want -1 and an error", code, err)
				}
				return
			}
			if tt.cancel {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
				return
			}
			if code != tt.wantCode || err != nil {
				t.Errorf("Run = %d, %v; want %d, nil", code, err, tt.wantCode)
			}
		})
	}
}

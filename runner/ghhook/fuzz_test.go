package ghhook

import (
	"strings"
	"testing"
)

// The runner's input comes from a file the hook does not control: whatever
// it holds, the hook answers with an error or a known command, never a
// panic.
func FuzzReadInput(f *testing.F) {
	for _, s := range []string{
		`{"command":"prepare_job","responseFile":"/r","state":{},"args":{"container":{"image":"a"}}}`,
		`{"command":"run_script_step","state":{"job":"github:1","gpus":["GPU-1"]},"args":{"entryPoint":"sh"}}`,
		`{"command":"cleanup_job","args":{}}`,
		`{"command":""}`, `not json`, `{"command":"run_job"}`, `{"command":"prepare_job","args":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ReadInput(strings.NewReader(s))
		if err != nil {
			return
		}
		switch in.Command {
		case PrepareJob, CleanupJob, RunScriptStep, RunContainerStep:
		default:
			t.Fatalf("accepted command %q", in.Command)
		}
		var st State
		_ = decode("state", in.State, &st)
		var p PrepareJobArgs
		_ = decode("args", in.Args, &p)
		var sc ScriptStepArgs
		_ = decode("args", in.Args, &sc)
	})
}

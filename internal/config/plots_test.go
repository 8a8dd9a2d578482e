package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePlotsAndReport(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantIDs   []string
		wantFile  string
		wantExtra []string
		wantDir   string
	}{
		{
			name:    "DVC list",
			in:      "plots:\n  - loss.csv:\n      x: step\n      y: loss\n  - cm.csv:\n      template: confusion\n      x: actual\n      y: predicted\n",
			wantIDs: []string{"loss.csv", "cm.csv"},
			wantDir: DefaultReportDir,
		},
		{
			name:     "a dvc.yaml named",
			in:       "plots: ./dvc.yaml\n",
			wantFile: "dvc.yaml",
			wantDir:  DefaultReportDir,
		},
		{
			name:      "report extra and dir",
			in:        "report:\n  extra: [notes.md, ./more//a.md]\n  dir: out/plots/\n",
			wantExtra: []string{"notes.md", "more/a.md"},
			wantDir:   "out/plots",
		},
		{
			name:    "null plots",
			in:      "plots:\nmetrics: [m.json]\n",
			wantDir: DefaultReportDir,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("mlci.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var ids []string
			for _, d := range cfg.Plots {
				ids = append(ids, d.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("plot IDs (-want +got):\n%s", diff)
			}
			if cfg.PlotsFile != tt.wantFile {
				t.Errorf("PlotsFile = %q, want %q", cfg.PlotsFile, tt.wantFile)
			}
			if diff := cmp.Diff(tt.wantExtra, cfg.Report.Extra); diff != "" {
				t.Errorf("report.extra (-want +got):\n%s", diff)
			}
			if got := cfg.Report.DirOrDefault(); got != tt.wantDir {
				t.Errorf("report dir = %q, want %q", got, tt.wantDir)
			}
			if got, want := cfg.HasPlots(), tt.wantIDs != nil || tt.wantFile != ""; got != want {
				t.Errorf("HasPlots = %v, want %v", got, want)
			}
		})
	}
}

func TestParsePlotsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plots is a map", "plots: {a: b}\n",
			`mlci.yaml:1:8: plots must be a list of plots in DVC's syntax or the path of a dvc.yaml`},
		{"plots is an empty string", "plots: ''\n",
			`mlci.yaml:1:8: plots is empty; list plots in DVC's syntax or name a dvc.yaml`},
		{"unknown plot setting", "metrics: [m.json]\nplots:\n  - loss.csv:\n      x: step\n      colour: red\n",
			`mlci.yaml:5: plots "loss.csv": unknown setting "colour" (known: x, y, template, title, x_label, y_label)`},
		{"plot defined twice", "plots:\n  - a.csv\n  - a.csv\n",
			`mlci.yaml:3: plots: plot "a.csv" is defined twice`},
		{"unknown template", "plots:\n  - a.csv:\n      template: pie\n",
			`mlci.yaml:3: plots "a.csv": unknown plot template "pie" (known: `},
		{"empty extra", "report:\n  extra: [a.md, ' ']\n",
			`mlci.yaml:2:17: report.extra[1] is empty; give the path of a markdown file or remove the entry`},
		{"dir outside the project", "report:\n  dir: ../up\n",
			`mlci.yaml:2:8: report.dir "../up" must be a folder inside the project (it is written over), such as "mlci-plots"`},
		{"dir is the root", "report: {dir: ./}\n",
			`mlci.yaml:1:15: report.dir "./" must be a folder inside the project (it is written over), such as "mlci-plots"`},
		{"unknown report key", "report:\n  extras: [a.md]\n",
			`mlci.yaml:2:3: unknown key "extras" in report; did you mean "extra"? (known keys: extra, dir)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("mlci.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want error %q", cfg, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not *Error", err)
			}
			// A prefix, so a list plots owns (its templates) can grow.
			got := err.Error()
			if len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

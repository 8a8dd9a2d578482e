// Command train fits the quick-start model, a k-nearest-neighbour classifier
// over the 8x8 digit images, and writes what mlci checks: metrics.json, the
// per-example scores in eval/per_example.csv and the data of the plots in
// plots/ (see plots.go).
//
//	go run ./train [-params params.yaml] [-out .]
package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type example struct {
	id    string
	label int
	split string
	px    []float64
}

func main() {
	paramsFile := flag.String("params", "params.yaml", "params file")
	out := flag.String("out", ".", "directory for metrics.json, eval/ and plots/")
	flag.Parse()
	if err := run(*paramsFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(paramsFile, out string) error {
	maxPerClass, k, err := readParams(paramsFile)
	if err != nil {
		return err
	}
	data, err := load("data/digits")
	if err != nil {
		return err
	}
	// Fit: keep the first maxPerClass training examples of each class.
	var memory []example
	var count [10]int
	for _, e := range data {
		if e.split == "train" && count[e.label] < maxPerClass {
			memory = append(memory, e)
			count[e.label]++
		}
	}
	// Evaluate: accuracy, macro F1 and a softmax cross-entropy loss per split.
	if err := os.MkdirAll(filepath.Join(out, "eval"), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "eval", "per_example.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.Write([]string{"id", "label", "predicted", "correct", "loss"})
	metrics := map[string]map[string]float64{}
	for _, split := range []string{"train", "val"} {
		var tp, fp, fn [10]float64
		n, correct, loss := 0.0, 0.0, 0.0
		for _, e := range data {
			if e.split != split {
				continue
			}
			pred, l := classify(memory, k, e)
			ok := 0
			if pred == e.label {
				ok = 1
				tp[e.label]++
			} else {
				fp[pred]++
				fn[e.label]++
			}
			n++
			correct += float64(ok)
			loss += l
			if split == "val" {
				w.Write([]string{e.id, strconv.Itoa(e.label), strconv.Itoa(pred), strconv.Itoa(ok), strconv.FormatFloat(l, 'f', 6, 64)})
			}
		}
		f1 := 0.0
		for c := range 10 {
			if d := 2*tp[c] + fp[c] + fn[c]; d > 0 {
				f1 += 2 * tp[c] / d
			}
		}
		metrics[split] = map[string]float64{
			"accuracy": round(correct / n),
			"macro_f1": round(f1 / 10),
			"loss":     round(loss / n),
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	doc := map[string]any{"eval": map[string]any{"val": metrics["val"]}, "train": metrics["train"]}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "metrics.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return writePlots(filepath.Join(out, "plots"), data, memory, k, maxPerClass)
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// classify votes among the k nearest stored examples (an example never
// votes for itself) and returns a smoothed cross-entropy of the vote.
func classify(memory []example, k int, e example) (int, float64) {
	type near struct {
		d     float64
		label int
	}
	var best []near
	for _, m := range memory {
		if m.id == e.id {
			continue
		}
		d := 0.0
		for i, v := range e.px {
			d += (v - m.px[i]) * (v - m.px[i])
		}
		best = append(best, near{d, m.label})
		for i := len(best) - 1; i > 0 && best[i].d < best[i-1].d; i-- {
			best[i], best[i-1] = best[i-1], best[i]
		}
		if len(best) > k {
			best = best[:k]
		}
	}
	var votes [10]float64
	for _, n := range best {
		votes[n.label]++
	}
	pred := 0
	for c := range votes {
		if votes[c] > votes[pred] {
			pred = c
		}
	}
	p := (votes[e.label] + 0.1) / (float64(len(best)) + 1)
	return pred, -math.Log(p)
}

func load(dir string) ([]example, error) {
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []example
	for _, r := range rows[1:] {
		label, err := strconv.Atoi(r[1])
		if err != nil {
			return nil, fmt.Errorf("labels.csv: %w", err)
		}
		img, err := os.ReadFile(filepath.Join(dir, r[0]))
		if err != nil {
			return nil, err
		}
		// Binary PGM: a three-line header, then 8x8 bytes.
		parts := strings.SplitN(string(img), "\n", 4)
		if len(parts) != 4 || parts[0] != "P5" || len(parts[3]) != 64 {
			return nil, fmt.Errorf("%s: not an 8x8 binary PGM", r[0])
		}
		px := make([]float64, 64)
		for i := range px {
			px[i] = float64(parts[3][i]) / 255
		}
		out = append(out, example{id: r[0], label: label, split: r[2], px: px})
	}
	return out, nil
}

// readParams reads the two keys the model uses from params.yaml, which is
// simple enough not to need a YAML library here.
func readParams(file string) (maxPerClass, k int, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	maxPerClass, k = 1<<30, 1
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, v, ok := strings.Cut(strings.TrimSpace(s.Text()), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(key) {
		case "max_per_class":
			maxPerClass, err = strconv.Atoi(v)
		case "k":
			k, err = strconv.Atoi(v)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", file, err)
		}
	}
	return maxPerClass, k, s.Err()
}

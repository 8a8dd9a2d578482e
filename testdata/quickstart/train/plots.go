package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// positive is the class of the one-vs-rest score in predictions.csv, which
// the ROC plot reads: both models take a validation 0 for an 8, the one
// mistake they share.
const positive = 8

// writePlots writes the data of mlci.yaml's plots into dir:
//
//   - train.csv, the learning curve: validation accuracy as the model keeps
//     1, 2, … maxPerClass training examples of each class (k-NN has no
//     epochs; how much it remembers is its training progress);
//   - predictions.csv, one row per validation example: the actual and the
//     predicted digit (the confusion matrix) and whether it is a positive
//     with the model's score for that class (the ROC curve).
//
// Everything is computed in file order with no randomness, so a retrain
// from the same params writes the same bytes.
func writePlots(dir string, data, memory []example, k, maxPerClass int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var val []example
	for _, e := range data {
		if e.split == "val" {
			val = append(val, e)
		}
	}
	curve := [][]string{{"examples_per_class", "val_accuracy"}}
	for n := 1; n <= maxPerClass; n++ {
		var part []example
		var count [10]int
		for _, m := range memory {
			if count[m.label] < n {
				part = append(part, m)
				count[m.label]++
			}
		}
		correct := 0
		for _, e := range val {
			if pred, _ := classify(part, k, e); pred == e.label {
				correct++
			}
		}
		acc := float64(correct) / float64(len(val))
		curve = append(curve, []string{strconv.Itoa(n), strconv.FormatFloat(round(acc), 'f', -1, 64)})
	}
	if err := writeCSV(filepath.Join(dir, "train.csv"), curve); err != nil {
		return err
	}
	label := "is_" + strconv.Itoa(positive)
	preds := [][]string{{"id", "actual", "predicted", label, "score"}}
	for _, e := range val {
		pred, _ := classify(memory, k, e)
		is := 0
		if e.label == positive {
			is = 1
		}
		preds = append(preds, []string{
			e.id, strconv.Itoa(e.label), strconv.Itoa(pred), strconv.Itoa(is),
			strconv.FormatFloat(round(score(memory, positive, e)), 'f', -1, 64),
		})
	}
	return writeCSV(filepath.Join(dir, "predictions.csv"), preds)
}

// score is a one-vs-rest confidence that e is of class c: with d the
// distance to the nearest stored example of c and r that to the nearest of
// any other class, r/(d+r). It is above 0.5 exactly when a 1-NN would say
// c, and unlike the vote share of a small k it takes more than k+1 values,
// which a ROC curve needs.
func score(memory []example, c int, e example) float64 {
	d, r := math.Inf(1), math.Inf(1)
	for _, m := range memory {
		if m.id == e.id {
			continue
		}
		dist := 0.0
		for i, v := range e.px {
			dist += (v - m.px[i]) * (v - m.px[i])
		}
		dist = math.Sqrt(dist)
		if m.label == c {
			d = min(d, dist)
		} else {
			r = min(r, dist)
		}
	}
	if d+r == 0 {
		return 0.5
	}
	return r / (d + r)
}

func writeCSV(file string, rows [][]string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

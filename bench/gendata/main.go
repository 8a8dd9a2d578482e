// Command gendata writes the benchmark datasets of bench/datahash.sh with
// fixed seeds, so every run and every machine hashes the same bytes.
//
//	gendata A DIR   16 files x 128 MiB of random bytes (2 GiB)
//	gendata B DIR   100,000 files of 1-16 KiB in DIR/dNN/sN/fNNN.bin
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gendata A|B DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "A":
		err = genA(os.Args[2])
	case "B":
		err = genB(os.Args[2])
	default:
		err = fmt.Errorf("unknown dataset %q: want A or B", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func genA(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var seed [32]byte
	copy(seed[:], "mlci bench dataset A")
	src := rand.NewChaCha8(seed)
	buf := make([]byte, 1<<20)
	for i := range 16 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("shard-%02d.bin", i)))
		if err != nil {
			return err
		}
		for range 128 {
			src.Read(buf)
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func genB(dir string) error {
	r := rand.New(rand.NewPCG(42, 1337))
	buf := make([]byte, 16384)
	n := 0
	for d := range 100 {
		for s := range 10 {
			sub := filepath.Join(dir, fmt.Sprintf("d%02d", d), fmt.Sprintf("s%d", s))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
			for f := range 100 {
				size := 1024 + r.IntN(16384-1024+1)
				for i := range buf[:size] {
					buf[i] = byte(r.Uint32())
				}
				if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.bin", f)), buf[:size], 0o644); err != nil {
					return err
				}
				n++
			}
		}
	}
	return nil
}

// Command gendata writes the benchmark datasets of bench/datahash.sh with
// fixed seeds, so every run and every machine hashes the same bytes.
//
//	gendata A DIR   16 files x 128 MiB of random bytes (2 GiB)
//	gendata B DIR   100,000 files of 1-16 KiB in DIR/dNN/sN/fNNN.bin
//	gendata C DIR N N files of 16-256 bytes in DIR/tNNN/sNN/fNNN.bin,
//	                1000 files per folder, 100 folders per top folder
//	                (bench/datascale.sh)
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gendata A|B DIR | gendata C DIR N")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "A":
		err = genA(os.Args[2])
	case "B":
		err = genB(os.Args[2])
	case "C":
		var n int
		if len(os.Args) != 4 {
			err = fmt.Errorf("dataset C needs a file count")
		} else if n, err = strconv.Atoi(os.Args[3]); err == nil {
			err = genC(os.Args[2], n)
		}
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

// genC writes many tiny files, the shape that stresses per-file memory
// rather than bytes hashed.
func genC(dir string, n int) error {
	r := rand.New(rand.NewPCG(7, 1000))
	buf := make([]byte, 256)
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("t%03d", i/100_000), fmt.Sprintf("s%02d", i/1000%100))
		if i%1000 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		size := 16 + r.IntN(256-16+1)
		for j := range buf[:size] {
			buf[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.bin", i%1000)), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Command floor measures the least a CSV drift pass can cost here: read
// the file in as many parts as there are cores, split every field and
// parse every number, and nothing else.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/mlci/mlci/internal/decimal"
)

func main() {
	path := os.Args[1]
	st, _ := os.Stat(path)
	f, _ := os.Open(path)
	n := runtime.GOMAXPROCS(0)
	size := st.Size()
	t0 := time.Now()
	var wg sync.WaitGroup
	sums := make([]float64, n)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			start, end := size*int64(w)/int64(n), size*int64(w+1)/int64(n)
			buf := make([]byte, 1<<20)
			var carry []byte
			for off := start; off < end; {
				m, _ := f.ReadAt(buf, off)
				if m == 0 {
					break
				}
				off += int64(m)
				data := append(carry, buf[:m]...)
				last := bytes.LastIndexByte(data, '\n')
				lines := data[:last+1]
				carry = append([]byte(nil), data[last+1:]...)
				for len(lines) > 0 {
					nl := bytes.IndexByte(lines, '\n')
					line := lines[:nl]
					lines = lines[nl+1:]
					for len(line) > 0 {
						i := bytes.IndexByte(line, ',')
						field := line
						if i >= 0 {
							field, line = line[:i], line[i+1:]
						} else {
							line = nil
						}
						if v, _, ok := decimal.Plain(field); ok {
							sums[w] += v
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	fmt.Printf("%d cores: %.3f s (%v)\n", n, time.Since(t0).Seconds(), sums[0] != 0)
}

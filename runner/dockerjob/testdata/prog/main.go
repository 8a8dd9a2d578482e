// Command prog is the only program in the integration tests' FROM scratch
// image; each subcommand exercises one thing a job container must do.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: prog env|exit N|cat FILE|ls DIR|sleep|write FILE TEXT|pwd|echo ARGS|stderr TEXT|stdin")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "env":
		env := os.Environ()
		slices.Sort(env)
		for _, e := range env {
			fmt.Println(e)
		}
	case "exit":
		n, err := strconv.Atoi(arg(args, 0))
		if err != nil {
			fail(err.Error())
		}
		os.Exit(n)
	case "cat":
		b, err := os.ReadFile(arg(args, 0))
		if err != nil {
			fail(err.Error())
		}
		os.Stdout.Write(b)
	case "ls":
		entries, err := os.ReadDir(arg(args, 0))
		if err != nil {
			fail(err.Error())
		}
		for _, e := range entries {
			fmt.Println(e.Name())
		}
	case "sleep":
		// "ready" tells the test the handler is installed, so a SIGTERM
		// sent after it is always handled rather than killing us.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("ready")
		<-sig
		fmt.Println("terminated")
	case "write":
		if err := os.WriteFile(arg(args, 0), []byte(arg(args, 1)), 0o644); err != nil {
			fail(err.Error())
		}
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			fail(err.Error())
		}
		fmt.Println(wd)
	case "echo":
		for _, a := range args {
			fmt.Println(a)
		}
	case "stderr":
		fmt.Fprintln(os.Stderr, arg(args, 0))
	case "stdin":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fail(err.Error())
		}
	default:
		fail("unknown subcommand " + os.Args[1])
	}
}

func arg(args []string, i int) string {
	if i >= len(args) {
		fail("missing argument")
	}
	return args[i]
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

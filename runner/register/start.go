package register

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
)

// maxNameLength keeps names inside GitHub's runner-name limit of 64.
const maxNameLength = 64

// DefaultName is "mlci-<host>-<labels>-<random>": the host says where the
// runner lives, 4 hex digits of a hash of the label set group runners that
// share hardware, and 6 random hex digits keep every registration unique
// (a pid would repeat across reboots and containers).
func DefaultName(hostname string, labels []string) string {
	host := sanitize(hostname)
	if host == "" {
		host = "host"
	}
	ls := slices.Clone(labels)
	for i := range ls {
		ls[i] = strings.ToLower(strings.TrimSpace(ls[i]))
	}
	slices.Sort(ls)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(ls), "\n")))
	var rnd [3]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	suffix := "-" + hex.EncodeToString(sum[:2]) + "-" + hex.EncodeToString(rnd[:])
	if room := maxNameLength - len("mlci-") - len(suffix); len(host) > room {
		host = strings.TrimRight(host[:room], "-")
	}
	return "mlci-" + host + suffix
}

// sanitize keeps a host name to lower-case letters, digits and dashes, the
// characters every forge accepts in a name.
func sanitize(s string) string {
	s, _, _ = strings.Cut(strings.ToLower(s), ".") // the short host name
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// WriteSecret writes secret to path atomically with mode 0600, so a start
// command can read it without the secret ever being on a command line.
func WriteSecret(path, secret string) error {
	if secret == "" {
		return usage("write secret: the secret is empty; register first")
	}
	if err := atomicfile.Write(path, []byte(secret), 0o600); err != nil {
		// atomicfile's error names the path, never the content.
		return fmt.Errorf("write secret: %w; check the directory exists and is writable", err)
	}
	return nil
}

// GitHubStartCommand is a sh command that starts the official Actions
// runner in runnerDir with the JIT config in jitFile and, when hooksScript
// is set, the container hooks (ACTIONS_RUNNER_CONTAINER_HOOKS).
//
// The config goes in ACTIONS_RUNNER_INPUT_JITCONFIG, which the runner reads
// as --jitconfig and then clears, rather than on the command line, where
// any user could read it in ps.
func GitHubStartCommand(runnerDir, jitFile, hooksScript string) string {
	var b strings.Builder
	b.WriteString("cd " + shellQuote(runnerDir) + " && ")
	if hooksScript != "" {
		b.WriteString("ACTIONS_RUNNER_CONTAINER_HOOKS=" + shellQuote(hooksScript) + " ")
	}
	b.WriteString(`ACTIONS_RUNNER_INPUT_JITCONFIG="$(cat ` + shellQuote(jitFile) + `)" ./run.sh`)
	return b.String()
}

// GitLabStartCommand is a sh command that adds the runner whose glrt-
// token is in tokenFile to configPath with `gitlab-runner register` (custom
// executor) and then runs it. templateConfig, when set, is a config.toml
// fragment with the [runners.custom] scripts and anything else the
// [[runners]] entry needs; register merges it in (--template-config).
//
// The token goes in CI_SERVER_TOKEN, register's environment form of
// --token, not on the command line. register writes it into configPath, so
// that file is as secret as tokenFile (gitlab-runner creates it 0600).
func GitLabStartCommand(url, tokenFile, configPath, templateConfig string) string {
	cfg := shellQuote(configPath)
	cmd := `CI_SERVER_TOKEN="$(cat ` + shellQuote(tokenFile) + `)" gitlab-runner register --non-interactive` +
		" --config " + cfg + " --url " + shellQuote(url) + " --executor custom"
	if templateConfig != "" {
		cmd += " --template-config " + shellQuote(templateConfig)
	}
	return cmd + " && gitlab-runner run --config " + cfg
}

// shellQuote quotes s for sh: single quotes, with each ' written as '\”.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Package register makes this host a CI runner: it registers a GitHub
// Actions just-in-time runner or a GitLab runner, with labels or tags from
// its hardware, removes it again, and runs one job ephemerally in between.
//
// Secrets (JIT configs, glrt- tokens) never appear in errors, logs or JSON:
// they go to a 0600 file that the official runner's start command reads.
package register

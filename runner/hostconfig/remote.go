package hostconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/remote"
)

// DatasetRemote is dataset_remote: a URL, or a mapping with the S3
// settings mlci.yaml's remotes take:
//
//	dataset_remote: s3://team-data/mlci
//	dataset_remote:
//	  url: s3://team-data/mlci
//	  endpoint: https://minio.internal:9000
//	  region: us-east-1
//	  path_style: true
type DatasetRemote struct {
	URL       string `yaml:"url"`
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	PathStyle *bool  `yaml:"path_style"`
}

// UnmarshalYAML accepts the URL alone or the mapping.
func (r *DatasetRemote) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&r.URL)
	}
	type plain DatasetRemote
	return n.Decode((*plain)(r))
}

// Spec is the value remote.Open takes: the URL with the S3 settings in
// its query, as mlci.yaml's remotes give it, so both read one format.
func (r *DatasetRemote) Spec() string {
	return config.Remote{URL: r.URL, Endpoint: r.Endpoint, Region: r.Region, PathStyle: r.PathStyle}.Spec()
}

// String names the remote for messages, without credentials.
func (r *DatasetRemote) String() string { return redact.URL(r.URL) }

// validate refuses what remote.Open would, without opening anything, and
// a relative local path: the runner has no project root to resolve it
// against, and its working folder is no place for shared data.
func (r *DatasetRemote) validate() error {
	if r == nil {
		return nil
	}
	if strings.TrimSpace(r.URL) == "" {
		return errors.New("dataset_remote: no url; write local:/PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO")
	}
	s3 := remote.IsS3(r.URL)
	if !s3 && (r.Endpoint != "" || r.Region != "" || r.PathStyle != nil) {
		return errors.New("dataset_remote: endpoint, region and path_style are for s3:// remotes only")
	}
	if !strings.Contains(r.URL, "://") {
		if p := strings.TrimPrefix(r.URL, "local:"); !filepath.IsAbs(p) {
			return fmt.Errorf("dataset_remote: %q must be an absolute host path (or s3://, oci://)", r.URL)
		}
	}
	if err := remote.Check(r.Spec()); err != nil {
		return fmt.Errorf("dataset_remote: %w", err)
	}
	return nil
}

// ByteSize is a size written as a number of bytes or with a unit:
// "500GiB", "2TB", "64MiB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	n      int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// UnmarshalYAML reads the number and its unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// String writes b as ParseByteSize reads it, in the largest binary unit
// that holds it exactly, so a message quotes the size as a config has it.
func (b ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if b >= ByteSize(u.n) && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// ParseByteSize reads "500GiB", "2TB" or a plain number of bytes.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (write e.g. 500GiB, 2TB, 1048576)", s)
	}
	return ByteSize(v * mult), nil
}

package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mlci/mlci/internal/digest"
)

// S3 keeps objects in a bucket of Amazon S3 or an S3-compatible server, at
// PREFIX/objects/<alg>/<hh>/<hex>, the layout of a local store, so a local
// store synced to a bucket by any tool is a valid s3:// store.
type S3 struct {
	client   *minio.Client
	bucket   string
	prefix   string
	endpoint string
}

// hasConcurrency bounds the HEAD requests one Has sends at once: S3 has no
// batched existence check, and a few dozen requests in flight hide the
// round trips without tripping a server's rate limits.
const hasConcurrency = 32

// checkS3 refuses what openS3 would; building a client does no I/O.
func checkS3(rest string) error {
	_, err := openS3(context.Background(), rest, "", Options{})
	return err
}

// openS3 opens "BUCKET/PREFIX[?endpoint=URL&path_style=true|false&region=R]";
// the query's values win over the environment's, as the config that
// writes them is about this one remote.
func openS3(_ context.Context, rest, _ string, opt Options) (Store, error) {
	spec := s3Prefix + rest
	u, err := url.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("remote %q: want %sBUCKET/PREFIX: %w", spec, s3Prefix, err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("remote %q: credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", spec)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("remote %q: no bucket; want %sBUCKET/PREFIX", spec, s3Prefix)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = cmpOr(opt.getenv("AWS_ENDPOINT_URL_S3"), opt.getenv("AWS_ENDPOINT_URL"), "https://s3.amazonaws.com")
	}
	ep, err := url.Parse(endpoint)
	if err == nil && ep.User != nil {
		// Not spec: its query holds the endpoint, escaped past redaction.
		return nil, fmt.Errorf("remote %q: credentials do not go in the endpoint; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", s3Prefix+u.Host+u.Path)
	}
	if err != nil || ep.Host == "" || (ep.Scheme != "http" && ep.Scheme != "https") {
		return nil, fmt.Errorf("remote %q: endpoint %q: want http(s)://HOST[:PORT]", spec, endpoint)
	}
	for k := range q {
		switch k {
		case "endpoint", "path_style", "region":
		default:
			return nil, fmt.Errorf("remote %q: unknown option %q; the query takes endpoint, path_style and region", spec, k)
		}
	}
	lookup := minio.BucketLookupAuto
	if ps := q.Get("path_style"); ps != "" {
		on, err := strconv.ParseBool(ps)
		if err != nil {
			return nil, fmt.Errorf("remote %q: path_style=%q: want true or false", spec, ps)
		}
		lookup = minio.BucketLookupDNS
		if on {
			lookup = minio.BucketLookupPath
		}
	}
	var creds *credentials.Credentials
	if id, secret := opt.getenv("AWS_ACCESS_KEY_ID"), opt.getenv("AWS_SECRET_ACCESS_KEY"); id != "" || secret != "" {
		creds = credentials.NewStaticV4(id, secret, opt.getenv("AWS_SESSION_TOKEN"))
	} else {
		creds = credentials.New(&credentials.Static{})
	}
	client, err := minio.New(ep.Host, &minio.Options{
		Creds:        creds,
		Secure:       ep.Scheme == "https",
		Transport:    opt.transport(),
		Region:       cmpOr(q.Get("region"), opt.getenv("AWS_REGION"), opt.getenv("AWS_DEFAULT_REGION")),
		BucketLookup: lookup,
		// Push and Pull retry whole objects from their source; retrying
		// inside the client as well would multiply the attempts.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("remote %q: %w", spec, err)
	}
	return &S3{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/"), endpoint: ep.Scheme + "://" + ep.Host}, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *S3) String() string {
	return s3Prefix + path.Join(s.bucket, s.prefix) + " (" + s.endpoint + ")"
}

func (s *S3) key(d digest.Digest) (string, error) {
	if err := checkDigest(d); err != nil {
		return "", err
	}
	h := d.Hex()
	return path.Join(s.prefix, "objects", string(d.Algorithm()), h[:2], h), nil
}

// listMin is the fewest asked digests in one fan-out folder for Has to
// consider listing the folder: below it a listing saves too few HEADs to
// pay for the round trip it adds before them.
const listMin = 4

// headKeys is how many listed keys one HEAD is worth: a listing reads
// every key of a folder, asked or not, and Has lists a folder only when
// the folder holds at most headKeys keys per asked digest. On a local
// versitygw a HEAD costs about as much as six listed keys (20,000 HEADs
// in 12 s; listing 223,000 keys instead of 15,000 HEADs took 14 s more);
// over a network a HEAD's round trip costs more, so four errs towards
// HEADs.
const headKeys = 4

// listPageKeys is the page size S3 and minio-go use for ListObjectsV2.
const listPageKeys = 1000

// Has answers from a listing of the fan-out folders where that is cheaper
// than one HEAD per asked digest, and with HEADs elsewhere, a bounded
// number of requests at a time. Content addresses spread objects evenly
// over the folders, so the size of the folder with the most asked digests,
// listed first, tells what listing any other costs.
func (s *S3) Has(ctx context.Context, digests []digest.Digest) ([]bool, error) {
	present := make([]bool, len(digests))
	keys := make([]string, len(digests))
	folders := map[string][]int{}
	var order []string // folders in first-asked order, so requests go out the same way each run
	probe := ""
	for i, d := range digests {
		key, err := s.key(d)
		if err != nil {
			return nil, err
		}
		keys[i] = key
		dir := key[:strings.LastIndexByte(key, '/')+1]
		if _, ok := folders[dir]; !ok {
			order = append(order, dir)
		}
		folders[dir] = append(folders[dir], i)
		if len(folders[dir]) > len(folders[probe]) {
			probe = dir
		}
	}
	// folderKeys is the probe's size; complete is false when its listing
	// stopped at the cap, so that every folder is larger than pays.
	folderKeys, complete := 0, false
	var probeUnknown []int
	if len(folders[probe]) >= listMin {
		var err error
		probeUnknown, folderKeys, complete, err = s.listFolder(ctx, probe, folders[probe], keys, present, false)
		if err != nil {
			return nil, fmt.Errorf("%s: has %s (listing %s): %w", s, digests[folders[probe][0]].Short(), probe, err)
		}
	} else {
		probe = ""
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, hasConcurrency)
	var wg sync.WaitGroup
	// acquire takes a slot for one request; false once Has is failing.
	acquire := func() bool {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			return false
		}
		return true
	}
	head := func(i int) bool {
		if !acquire() {
			return false
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := s.head(ctx, keys[i])
			if err != nil {
				cancel(fmt.Errorf("%s: has %s: %w", s, digests[i].Short(), err))
				return
			}
			present[i] = ok
		})
		return true
	}
	heads := func(idx []int) bool {
		for _, i := range idx {
			if !head(i) {
				return false
			}
		}
		return true
	}
	for _, dir := range order {
		idx := folders[dir]
		if dir == probe {
			idx = probeUnknown
		}
		if dir == probe || len(idx) < listMin || !complete || len(idx)*headKeys < folderKeys {
			if !heads(idx) {
				break
			}
			continue
		}
		if !acquire() {
			break
		}
		wg.Go(func() {
			unknown, _, _, err := s.listFolder(ctx, dir, idx, keys, present, true)
			// The slot goes back before the fallback HEADs take theirs:
			// holding it while waiting for another could starve them all.
			<-sem
			if err != nil {
				cancel(fmt.Errorf("%s: has %s (listing %s): %w", s, digests[idx[0]].Short(), dir, err))
				return
			}
			heads(unknown)
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return present, nil
}

// head reports whether the object at key exists, with a classified error
// for anything other than a plain absence.
func (s *S3) head(ctx context.Context, key string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if err := s.classify(err); !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return false, nil
}

// listLimit caps the keys listFolder reads for asked digests, in whole
// pages: a folder of a shared bucket may hold far more objects than the
// probe's, and past headKeys keys per asked digest the listing costs more
// than the HEADs it saves.
func listLimit(asked int) int {
	return (asked*headKeys + listPageKeys - 1) / listPageKeys * listPageKeys
}

// listFolder lists dir, marking present the asked keys (idx into keys)
// it finds, and returns those it could not settle within listLimit, the
// keys it read, and whether it read the whole folder. Only a complete
// listing proves an absence; the order of keys in a listing is not relied
// on, as some S3 servers do not sort them. With stopEarly it stops once
// every asked key is found, without learning the folder's size.
func (s *S3) listFolder(ctx context.Context, dir string, idx []int, keys []string, present []bool, stopEarly bool) (unknown []int, seen int, complete bool, err error) {
	want := make(map[string][]int, len(idx))
	for _, i := range idx {
		want[keys[i]] = append(want[keys[i]], i)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop() // ends minio-go's listing goroutine when the reading stops early
	limit := listLimit(len(idx))
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true, MaxKeys: listPageKeys}) {
		if obj.Err != nil {
			return nil, seen, false, s.classify(obj.Err)
		}
		seen++
		if is, ok := want[obj.Key]; ok {
			for _, i := range is {
				present[i] = true
			}
			delete(want, obj.Key)
			if stopEarly && len(want) == 0 {
				return nil, seen, false, nil
			}
		}
		if seen == limit {
			for _, is := range want {
				unknown = append(unknown, is...)
			}
			return unknown, seen, false, nil
		}
	}
	// The channel also closes when ctx ends, which is no proof of absence.
	if err := ctx.Err(); err != nil {
		return nil, seen, false, err
	}
	return nil, seen, true, nil
}

// Put streams r to the bucket through a verifier: a mismatch fails the
// read before the upload completes, and S3 makes an object visible only
// when its upload completes, so a refused object never appears.
func (s *S3) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	key, err := s.key(d)
	if err != nil {
		return err
	}
	v := newVerifier(d, size, r)
	var body io.Reader = v
	if size == 0 {
		// minio-go sends an empty body without reading it, so the
		// verifier would never see its end: it is checked here instead.
		if _, err := io.Copy(io.Discard, v); err != nil {
			return fmt.Errorf("%s: put %s: %w", s, d.Short(), err)
		}
		body = bytes.NewReader(nil)
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// The verifier checks the content end to end; a second checksum
		// would cost a pass over the data for nothing.
		DisableContentSha256: true,
	})
	if err != nil {
		var verr error
		if errors.Is(err, ErrDigestMismatch) {
			verr = err
		} else if verr = v.error(); verr == nil {
			verr = s.classify(err)
		}
		return fmt.Errorf("%s: put %s: %w", s, d.Short(), verr)
	}
	if !v.ok() {
		// The client stopped reading early yet the upload completed: the
		// object cannot be trusted, so it goes.
		rmErr := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		return errors.Join(fmt.Errorf("%s: put %s: upload ended before the content was verified: %w", s, d.Short(), ErrDigestMismatch), rmErr)
	}
	return nil
}

// Get fetches the object. Its first bytes are read here, so that a missing
// object or refused credentials fail Get rather than the first Read; asking
// minio-go for Stat instead would cost a HEAD before every GET.
func (s *S3) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	key, err := s.key(d)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: get %s: %w", s, d.Short(), s.classify(err))
	}
	// Not io.ReadFull: it reports a body cut short the way it reports a
	// short object, and only the second is complete.
	head := make([]byte, 32<<10)
	n := 0
	for n < len(head) && err == nil {
		var m int
		m, err = obj.Read(head[n:])
		n += m
	}
	switch {
	case err == io.EOF:
		obj.Close()
		return io.NopCloser(bytes.NewReader(head[:n])), nil
	case err != nil:
		obj.Close()
		return nil, fmt.Errorf("%s: get %s: %w", s, d.Short(), s.classify(err))
	}
	return &transientReader{ReadCloser: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), obj), obj}}, nil
}

// MakeBucket creates the bucket, for tests and first-time setup.
func (s *S3) MakeBucket(ctx context.Context) error {
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("%s: make bucket: %w", s, s.classify(err))
	}
	return nil
}

// classify wraps an S3 error in the sentinel that says what to do about it.
func (s *S3) classify(err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NotFound" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return fmt.Errorf("%w", ErrNotFound)
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist: %w", s.bucket, err)
	case isAuthCode(resp.Code) || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN): %w", cmpOr(resp.Code, http.StatusText(resp.StatusCode)), ErrAuth)
	case resp.StatusCode >= 500 || resp.Code == "SlowDown" || resp.Code == "RequestTimeout":
		return fmt.Errorf("%w: %w", ErrTransient, err)
	}
	return transient(err)
}

func isAuthCode(code string) bool {
	switch code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AuthorizationHeaderMalformed":
		return true
	}
	return false
}

// error reports a mismatch the verifier saw but the client hid behind an
// error of its own.
func (v *verifier) error() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.size >= 0 && v.n > v.size {
		return fmt.Errorf("object %s: more than the %d bytes announced: %w", v.d, v.size, ErrDigestMismatch)
	}
	return nil
}

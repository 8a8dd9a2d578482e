package sticky_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/sticky"
	"github.com/mlci/mlci/internal/forge/sticky/stickytest"
)

var marker = forge.Marker("r")

func body(s string) string { return s + "\n\n" + marker }

// memThread is an in-memory thread. Every comment is the token's own; the
// hooks run before the named call and stage what a concurrent poster does.
type memThread struct {
	mu       sync.Mutex
	comments []sticky.Comment
	lastID   int64
	jitter   time.Duration // sleeps up to this before each call, for races
	calls    []string

	before map[string]func(m *memThread) // by call: "list", "create", "edit", "delete"
	// hideNewest drops the newest comment from the next List answers, as a
	// list that lags a create would.
	hideNewest int
	err        error // returned by every call when set
}

func (m *memThread) enter(call string) error {
	if m.jitter > 0 {
		time.Sleep(rand.N(m.jitter))
	}
	m.mu.Lock()
	m.calls = append(m.calls, call)
	h := m.before[call]
	delete(m.before, call)
	m.mu.Unlock()
	if h != nil {
		h(m)
	}
	return m.err
}

func (m *memThread) add(b string) sticky.Comment {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastID++
	c := sticky.Comment{ID: m.lastID, Body: b, URL: fmt.Sprint("#c", m.lastID)}
	m.comments = append(m.comments, c)
	return c
}

func (m *memThread) remove(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.comments)
	m.comments = slices.DeleteFunc(m.comments, func(c sticky.Comment) bool { return c.ID == id })
	return len(m.comments) < n
}

func (m *memThread) List(ctx context.Context) ([]sticky.Comment, error) {
	if err := m.enter("list"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.comments)
	if m.hideNewest > 0 && len(out) > 0 {
		m.hideNewest--
		out = out[:len(out)-1]
	}
	return out, nil
}

func (m *memThread) Create(ctx context.Context, b string) (sticky.Comment, error) {
	if err := m.enter("create"); err != nil {
		return sticky.Comment{}, err
	}
	return m.add(b), nil
}

func (m *memThread) Edit(ctx context.Context, id int64, b string) (sticky.Comment, error) {
	if err := m.enter("edit"); err != nil {
		return sticky.Comment{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.comments, func(c sticky.Comment) bool { return c.ID == id })
	if i < 0 {
		return sticky.Comment{}, fmt.Errorf("edit %d: %w", id, sticky.ErrNotFound)
	}
	m.comments[i].Body = b
	return m.comments[i], nil
}

func (m *memThread) Delete(ctx context.Context, id int64) error {
	if err := m.enter("delete"); err != nil {
		return err
	}
	if !m.remove(id) {
		return fmt.Errorf("delete %d: %w", id, sticky.ErrNotFound)
	}
	return nil
}

func (m *memThread) state() []sticky.Comment {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.comments)
}

func TestPost(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		seed  []string // bodies of comments there before
		setup func(m *memThread)
		want  []string // bodies left, oldest first
		res   sticky.Result
		calls []string
	}{
		{name: "update creates the first", mode: forge.ModeUpdate,
			want: []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 1, Body: body("new"), URL: "#c1"}},
			calls: []string{"list", "create", "list"}},
		{name: "update edits in place", mode: forge.ModeUpdate, seed: []string{body("old")},
			want: []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 1, Body: body("new"), URL: "#c1"}},
			calls: []string{"list", "edit"}},
		{name: "update leaves the same body alone", mode: forge.ModeUpdate, seed: []string{body("new") + "\r\n"},
			want: []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 1, Body: body("new") + "\r\n", URL: "#c1"}, Unchanged: true},
			calls: []string{"list"}},
		{name: "update ignores comments without the marker", mode: forge.ModeUpdate, seed: []string{"chatter", body("old")},
			want: []string{"chatter", "new"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("new"), URL: "#c2"}},
			calls: []string{"list", "edit"}},
		{name: "update keeps the newest of duplicates", mode: forge.ModeUpdate, seed: []string{body("a"), body("b")},
			want: []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("new"), URL: "#c2"}},
			calls: []string{"list", "edit", "delete", "list"}},
		{name: "recreate posts anew and deletes the old", mode: forge.ModeRecreate, seed: []string{body("old"), "chatter"},
			want: []string{"chatter", "new"}, res: sticky.Result{Comment: sticky.Comment{ID: 3, Body: body("new"), URL: "#c3"}},
			calls: []string{"create", "list", "delete", "list"}},
		{name: "append keeps the old", mode: forge.ModeAppend, seed: []string{body("old")},
			want: []string{"old", "new"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("new"), URL: "#c2"}},
			calls: []string{"create"}},
		{name: "off does nothing", mode: forge.ModeOff, seed: []string{body("old")}, want: []string{"old"}},
		{
			// A concurrent recreate deletes the comment between list and
			// edit: the poster lists again and leaves the newer one, which
			// holds a report as new as its own.
			name: "update after the comment vanished keeps the newer one", mode: forge.ModeUpdate, seed: []string{body("old")},
			setup: func(m *memThread) {
				m.before = map[string]func(*memThread){"edit": func(m *memThread) { m.add(body("theirs")); m.remove(1) }}
			},
			want: []string{"theirs"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("theirs"), URL: "#c2"}, Contended: true},
			calls: []string{"list", "edit", "list"},
		},
		{
			name: "recreate keeps its comment when the list lags the create", mode: forge.ModeRecreate, seed: []string{body("old")},
			setup: func(m *memThread) { m.hideNewest = 1 },
			want:  []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("new"), URL: "#c2"}},
			calls: []string{"create", "list", "delete", "list"},
		},
		{
			// Ours deleted by a poster that saw a newer one, which this
			// list misses: post again rather than risk none.
			name: "recreate posts again when a list shows none", mode: forge.ModeRecreate,
			setup: func(m *memThread) {
				m.before = map[string]func(*memThread){"list": func(m *memThread) { m.remove(1) }}
			},
			want: []string{"new"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("new"), URL: "#c2"}, Contended: true},
			calls: []string{"create", "list", "create", "list"},
		},
		{
			name: "a newer comment from a concurrent poster wins", mode: forge.ModeRecreate,
			setup: func(m *memThread) {
				m.before = map[string]func(*memThread){"list": func(m *memThread) { m.add(body("theirs")) }}
			},
			want: []string{"theirs"}, res: sticky.Result{Comment: sticky.Comment{ID: 2, Body: body("theirs"), URL: "#c2"}, Contended: true},
			calls: []string{"create", "list", "delete", "list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memThread{}
			for _, b := range tt.seed {
				m.add(b)
			}
			if tt.setup != nil {
				tt.setup(m)
			}
			res, err := sticky.Post(t.Context(), m, tt.mode, marker, body("new"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range m.state() {
				b, _, _ := strings.Cut(c.Body, "\n\n"+marker)
				got = append(got, b)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("comments %q, want %q", got, tt.want)
			}
			if res != tt.res {
				t.Errorf("result %+v, want %+v", res, tt.res)
			}
			if !slices.Equal(m.calls, tt.calls) {
				t.Errorf("calls %q, want %q", m.calls, tt.calls)
			}
		})
	}
}

func TestPostErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name         string
		mode, body   string
		err          error
		wantIs       error
		wantContains string
	}{
		{name: "thread error passes through", mode: forge.ModeUpdate, body: body("x"), err: boom, wantIs: boom},
		{name: "unknown mode", mode: "sideways", body: body("x"), wantContains: `unknown comment mode "sideways"`},
		{name: "body without marker", mode: forge.ModeUpdate, body: "x", wantContains: "does not carry its marker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sticky.Post(t.Context(), &memThread{err: tt.err}, tt.mode, marker, tt.body)
			if err == nil || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) || !strings.Contains(err.Error(), tt.wantContains) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestMixedModes races update and recreate posters on one thread: they
// agree on the newest comment, so exactly one is left.
func TestMixedModes(t *testing.T) {
	m := &memThread{jitter: time.Millisecond}
	for round := range 50 {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			mode := []string{forge.ModeUpdate, forge.ModeRecreate}[i%2]
			wg.Go(func() {
				_, errs[i] = sticky.Post(t.Context(), m, mode, marker, body(fmt.Sprint(round, i)))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if s := m.state(); len(s) != 1 {
			t.Fatalf("round %d: %d comments, want 1: %+v", round, len(s), s)
		}
	}
}

// TestSuite runs the conformance suite on memThread, the model the forges'
// adapters are held to.
func TestSuite(t *testing.T) {
	stickytest.Run(t, func(t *testing.T) stickytest.Thread { return &memSuite{m: &memThread{jitter: time.Millisecond}} })
}

// memSuite gives memThread to the suite; comments by others carry a prefix
// that List hides.
type memSuite struct{ m *memThread }

const theirs = "theirs:"

func (s *memSuite) Poster(t *testing.T) forge.Forge { return memForge{s.m} }

func (s *memSuite) Comments(t *testing.T) []stickytest.Comment {
	var out []stickytest.Comment
	for _, c := range s.m.state() {
		b, other := strings.CutPrefix(c.Body, theirs)
		out = append(out, stickytest.Comment{ID: c.ID, Mine: !other, Body: b, URL: c.URL})
	}
	return out
}

func (s *memSuite) Add(t *testing.T, mine bool, b string) {
	if !mine {
		b = theirs + b
	}
	s.m.add(b)
}

// memForge posts on a memThread, hiding others' comments as a forge does.
type memForge struct{ m *memThread }

func (memForge) Name() string { return "mem" }

func (f memForge) Post(ctx context.Context, r forge.Report) (forge.Result, error) {
	mode := r.Mode
	if mode == "" {
		mode = forge.ModeUpdate
	}
	res, err := sticky.Post(ctx, ownOnly{f.m}, mode, forge.Marker(r.ID), r.Body+"\n\n"+forge.Marker(r.ID))
	return forge.Result{CommentURL: res.Comment.URL, Unchanged: res.Unchanged}, err
}

type ownOnly struct{ *memThread }

func (o ownOnly) List(ctx context.Context) ([]sticky.Comment, error) {
	all, err := o.memThread.List(ctx)
	return slices.DeleteFunc(all, func(c sticky.Comment) bool { return strings.HasPrefix(c.Body, theirs) }), err
}

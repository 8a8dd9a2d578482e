package gitlabfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// reply is what a handler decided, written after mu is released.
type reply struct {
	status int
	body   any
	header http.Header
}

func errReply(status int, msg any) reply {
	return reply{status: status, body: map[string]any{"message": msg}}
}

var (
	notFound     = errReply(http.StatusNotFound, "404 Not found")
	forbidden    = errReply(http.StatusForbidden, "403 Forbidden")
	unauthorized = errReply(http.StatusUnauthorized, "401 Unauthorized")
	badMethod    = errReply(http.StatusMethodNotAllowed, "405 Method Not Allowed")
)

// serve records, delays, injects faults, authenticates and routes, in that
// order, as the middleware of the GitHub fake does.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	inAPI := strings.HasPrefix(p, BasePath+"/")
	p = "/" + strings.TrimPrefix(strings.TrimPrefix(p, BasePath), "/")
	f := s.faults.Take(r.Method, p)
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d > 0 && !wait(r.Context(), d) {
		return
	}
	if f != nil {
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		msg := cmp.Or(f.Message, fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)))
		write(w, errReply(f.Status, strings.ReplaceAll(msg, "{token}", rawToken(r))))
		return
	}
	if !inAPI {
		write(w, notFound)
		return
	}
	tok, ok := s.auth(r)
	if !ok {
		write(w, unauthorized)
		return
	}
	form, err := params(r)
	if err != nil {
		write(w, reply{status: http.StatusBadRequest, body: map[string]string{"error": err.Error()}})
		return
	}
	s.mu.Lock()
	rep := s.route(r, tok, strings.Split(strings.TrimPrefix(p, "/"), "/"), form)
	s.mu.Unlock()
	write(w, rep)
}

// route dispatches on the path segments; the caller holds mu.
func (s *Server) route(r *http.Request, tok token, seg []string, form url.Values) reply {
	if len(seg) == 1 && seg[0] == "user" {
		if r.Method != http.MethodGet {
			return badMethod
		}
		return reply{status: http.StatusOK, body: tok.user}
	}
	if rep, ok := s.runnerRoute(r, tok, seg, form); ok {
		return rep
	}
	if len(seg) < 3 || seg[0] != "projects" {
		return notFound
	}
	id, err := url.PathUnescape(seg[1])
	if err != nil {
		return notFound
	}
	p := s.project(id)
	if p == nil {
		return notFound
	}
	isWrite := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete
	switch {
	case len(seg) == 4 && seg[2] == "statuses":
		if r.Method != http.MethodPost {
			return badMethod
		}
		if !tok.canWrite {
			return forbidden
		}
		return s.setStatus(p, seg[3], tok.user, form)
	case seg[2] == "deployments":
		if isWrite && !tok.canWrite {
			return forbidden
		}
		return s.deployments(r, p, seg, tok.user, form)
	case seg[2] == "issues":
		if isWrite && !tok.canWrite {
			return forbidden
		}
		return s.issues(r, p, seg, tok.user, form)
	case len(seg) == 3 && seg[2] == "merge_requests":
		if isWrite && !tok.canWrite {
			return forbidden
		}
		return s.mergeRequests(r, p, tok.user, form)
	case len(seg) >= 4 && seg[2] == "merge_requests":
		iid, _ := strconv.Atoi(seg[3])
		m := p.mrs[iid]
		if m == nil {
			return notFound
		}
		if isWrite && !tok.canWrite {
			return forbidden
		}
		switch {
		case len(seg) == 4 && r.Method == http.MethodGet:
			return reply{status: http.StatusOK, body: s.mrJSON(p, m)}
		case len(seg) == 4 && r.Method == http.MethodPut:
			return s.editMergeRequest(p, m, form)
		case len(seg) == 5 && seg[4] == "notes":
			return s.notes(r, p, m, tok.user, form)
		case len(seg) == 6 && seg[4] == "notes":
			return s.note(r, m, seg[5], tok.user, form)
		}
	}
	return notFound
}

func (s *Server) notes(r *http.Request, p *project, m *mergeRequest, user Author, form url.Values) reply {
	switch r.Method {
	case http.MethodGet:
		notes := slices.Clone(m.notes)
		by := func(n *Note) int64 { return n.CreatedAt.UnixNano() }
		if form.Get("order_by") == "updated_at" {
			by = func(n *Note) int64 { return n.UpdatedAt.UnixNano() }
		}
		slices.SortStableFunc(notes, func(a, b *Note) int {
			return cmp.Or(cmp.Compare(by(a), by(b)), cmp.Compare(a.ID, b.ID))
		})
		if form.Get("sort") != "asc" { // GitLab's default is newest first
			slices.Reverse(notes)
		}
		lo, hi, h := s.paginate(r, form, len(notes))
		out := make([]Note, 0, hi-lo)
		for _, n := range notes[lo:hi] {
			out = append(out, *n)
		}
		return reply{status: http.StatusOK, body: out, header: h}
	case http.MethodPost:
		if bad, ok := checkBody(form); !ok {
			return bad
		}
		return reply{status: http.StatusCreated, body: *s.addNote(p.id, m, user, form.Get("body"))}
	}
	return badMethod
}

func (s *Server) note(r *http.Request, m *mergeRequest, id string, user Author, form url.Values) reply {
	i := slices.IndexFunc(m.notes, func(n *Note) bool { return strconv.Itoa(n.ID) == id })
	if i < 0 {
		return notFound
	}
	n := m.notes[i]
	switch r.Method {
	case http.MethodGet:
		return reply{status: http.StatusOK, body: *n}
	case http.MethodPut:
		if n.Author.ID != user.ID {
			return forbidden
		}
		if bad, ok := checkBody(form); !ok {
			return bad
		}
		n.Body = form.Get("body")
		n.UpdatedAt = time.Now().UTC()
		return reply{status: http.StatusOK, body: *n}
	case http.MethodDelete:
		if n.Author.ID != user.ID {
			return forbidden
		}
		m.notes = slices.Delete(m.notes, i, i+1)
		return reply{status: http.StatusNoContent}
	}
	return badMethod
}

func checkBody(form url.Values) (reply, bool) {
	b, ok := form["body"]
	if !ok || b[0] == "" {
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "body is missing"}}, false
	}
	if utf8.RuneCountInString(b[0]) > MaxNoteChars {
		return errReply(http.StatusBadRequest, map[string][]string{
			"note": {fmt.Sprintf("is too long (maximum is %d characters)", MaxNoteChars)}}), false
	}
	return reply{}, true
}

var states = []string{"pending", "running", "success", "failed", "canceled", "skipped"}

func (s *Server) setStatus(p *project, sha string, user Author, form url.Values) reply {
	if !slices.Contains(states, form.Get("state")) {
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "state does not have a valid value"}}
	}
	if utf8.RuneCountInString(form.Get("description")) > 255 {
		return errReply(http.StatusBadRequest, map[string][]string{"description": {"is too long (maximum is 255 characters)"}})
	}
	name := cmp.Or(form.Get("name"), form.Get("context"), "default")
	st := Status{ID: s.nextID(), SHA: sha, Ref: form.Get("ref"), Status: form.Get("state"), Name: name,
		TargetURL: form.Get("target_url"), Description: form.Get("description"), CreatedAt: time.Now().UTC(), Author: user}
	p.statuses[sha] = append(p.statuses[sha], st)
	return reply{status: http.StatusCreated, body: st}
}

// paginate applies page and per_page as GitLab does (defaults 1 and 20,
// per_page capped at 100) and builds its pagination headers.
func (s *Server) paginate(r *http.Request, form url.Values, n int) (lo, hi int, h http.Header) {
	page, err := strconv.Atoi(form.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	per, err := strconv.Atoi(form.Get("per_page"))
	if err != nil || per < 1 {
		per = 20
	}
	per = min(per, 100)
	pages := max((n+per-1)/per, 1)
	lo, hi = min((page-1)*per, n), min(page*per, n)
	h = http.Header{}
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(n))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(pg int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(pg))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.srv.URL, r.URL.EscapedPath(), q.Encode(), rel)
	}
	var links []string
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	if page > 1 && page <= pages {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	return lo, hi, h
}

// params merges the query with a JSON or form body, as Grape does.
func params(r *http.Request) (url.Values, error) {
	v := r.URL.Query()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Body == nil || r.Method == http.MethodGet:
	case ct == "application/json":
		var m map[string]any
		b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("invalid JSON body: %w", err)
			}
		}
		for k, x := range m {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			case float64:
				v.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
			case bool:
				v.Set(k, strconv.FormatBool(x))
			case []any:
				// Arrays (tag_list) arrive as a form's repeated keys would.
				for _, e := range x {
					if e, ok := e.(string); ok {
						v.Add(k, e)
					}
				}
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, x := range r.PostForm {
			v[k] = x
		}
	}
	return v, nil
}

func write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.status == http.StatusNoContent || rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

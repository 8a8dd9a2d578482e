package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes below follow the REST API docs, with the field names
// go-github v62 decodes.

type userJSON struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type commentJSON struct {
	ID                int64     `json:"id"`
	NodeID            string    `json:"node_id"`
	URL               string    `json:"url"`
	HTMLURL           string    `json:"html_url"`
	IssueURL          string    `json:"issue_url,omitempty"`
	CommitID          string    `json:"commit_id,omitempty"`
	Body              string    `json:"body"`
	User              userJSON  `json:"user"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	AuthorAssociation string    `json:"author_association"`
}

type statusJSON struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url"`
	State       string    `json:"state"`
	Description string    `json:"description,omitempty"`
	TargetURL   string    `json:"target_url,omitempty"`
	Context     string    `json:"context"`
	Creator     userJSON  `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type annotationJSON struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title,omitempty"`
	Message         string `json:"message"`
}

type outputJSON struct {
	Title            *string          `json:"title,omitempty"`
	Summary          *string          `json:"summary,omitempty"`
	Text             *string          `json:"text,omitempty"`
	Annotations      []annotationJSON `json:"annotations,omitempty"`
	AnnotationsCount int              `json:"annotations_count"`
}

// checkRunJSON is both the request (create, update) and the response.
type checkRunJSON struct {
	ID          int64       `json:"id,omitempty"`
	HTMLURL     string      `json:"html_url,omitempty"`
	Name        *string     `json:"name,omitempty"`
	HeadSHA     string      `json:"head_sha,omitempty"`
	Status      *string     `json:"status,omitempty"`
	Conclusion  *string     `json:"conclusion,omitempty"`
	DetailsURL  *string     `json:"details_url,omitempty"`
	ExternalID  *string     `json:"external_id,omitempty"`
	Output      *outputJSON `json:"output,omitempty"`
	StartedAt   *time.Time  `json:"started_at,omitempty"`
	CompletedAt *time.Time  `json:"completed_at,omitempty"`
}

type pullJSON struct {
	ID        int64     `json:"id"`
	Number    int       `json:"number"`
	State     string    `json:"state"`
	Title     string    `json:"title"`
	Body      *string   `json:"body"`
	URL       string    `json:"url"`
	HTMLURL   string    `json:"html_url"`
	User      userJSON  `json:"user"`
	Labels    []label   `json:"labels"`
	CreatedAt time.Time `json:"created_at"`
	Head      branchRef `json:"head"`
	Base      branchRef `json:"base"`
}

type branchRef struct {
	Label string `json:"label,omitempty"`
	Ref   string `json:"ref,omitempty"`
	SHA   string `json:"sha"`
}

type label struct {
	Name string `json:"name"`
}

// issueJSON is an issue, or a pull request as the issues API lists it
// (with pull_request set).
type issueJSON struct {
	ID          int64      `json:"id"`
	Number      int        `json:"number"`
	State       string     `json:"state"`
	StateReason *string    `json:"state_reason"`
	Title       string     `json:"title"`
	Body        *string    `json:"body"`
	URL         string     `json:"url"`
	HTMLURL     string     `json:"html_url"`
	User        userJSON   `json:"user"`
	Labels      []label    `json:"labels"`
	Comments    int        `json:"comments"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	PullRequest *struct {
		URL     string `json:"url"`
		HTMLURL string `json:"html_url"`
	} `json:"pull_request,omitempty"`
}

type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field"`
	Message  string `json:"message,omitempty"`
}

type errorJSON struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorJSON{Message: msg, DocumentationURL: "https://docs.github.com/rest"})
}

// writeInvalid is GitHub's 422 for one bad field.
func writeInvalid(w http.ResponseWriter, resource, field, code, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, errorJSON{
		Message:          "Validation Failed",
		Errors:           []fieldError{{Resource: resource, Code: code, Field: field, Message: msg}},
		DocumentationURL: "https://docs.github.com/rest",
	})
}

// decode reads a JSON request body into v, answering 400 on bad JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// page slices n items the way GitHub pages them (per_page default 30, at
// most 100; page from 1) and sets the Link header.
func page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	pg, err := strconv.Atoi(q.Get("page"))
	if err != nil || pg < 1 {
		pg = 1
	}
	last := max((n+per-1)/per, 1)
	link := func(p int, rel string) string {
		// Handlers see the path with /api/v3 stripped; links carry it again.
		u := url.URL{Scheme: "http", Host: r.Host, Path: strings.TrimSuffix(BasePath, "/") + r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(min(pg-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((pg-1)*per, n)
	return lo, min(lo+per, n)
}

func userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func toString(v any) string { return fmt.Sprint(v) }

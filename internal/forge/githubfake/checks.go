package githubfake

import (
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxAnnotations is GitHub's limit per create or update request.
const maxAnnotations = 50

// createCheckRun is POST /repos/o/r/check-runs; only App tokens may call it.
func (s *Server) createCheckRun(c *call) {
	if !c.tok.isApp {
		writeError(c.w, http.StatusForbidden, notAccessible)
		return
	}
	var in checkRunJSON
	if !decode(c.w, c.r, &in) {
		return
	}
	switch {
	case in.Name == nil || *in.Name == "":
		writeInvalid(c.w, "CheckRun", "name", "missing_field", "")
		return
	case in.HeadSHA == "":
		writeInvalid(c.w, "CheckRun", "head_sha", "missing_field", "")
		return
	}
	cr := &CheckRun{ID: s.id("check-run"), Name: *in.Name, HeadSHA: in.HeadSHA, Status: "queued"}
	if !applyCheckRun(c, cr, &in) {
		return
	}
	c.rp.checkRuns = append(c.rp.checkRuns, cr)
	writeJSON(c.w, http.StatusCreated, s.checkRunJSON(c, cr))
}

// updateCheckRun is PATCH /repos/o/r/check-runs/{id}; annotations add to
// those already sent.
func (s *Server) updateCheckRun(c *call) {
	if !c.tok.isApp {
		writeError(c.w, http.StatusForbidden, notAccessible)
		return
	}
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	i := slices.IndexFunc(c.rp.checkRuns, func(cr *CheckRun) bool { return cr.ID == id })
	if i < 0 {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	var in checkRunJSON
	if !decode(c.w, c.r, &in) {
		return
	}
	cr := *c.rp.checkRuns[i]
	if in.Name != nil && *in.Name != "" {
		cr.Name = *in.Name
	}
	if !applyCheckRun(c, &cr, &in) {
		return
	}
	*c.rp.checkRuns[i] = cr
	writeJSON(c.w, http.StatusOK, s.checkRunJSON(c, &cr))
}

// applyCheckRun validates in like GitHub and copies it into cr.
func applyCheckRun(c *call, cr *CheckRun, in *checkRunJSON) bool {
	if in.Status != nil {
		cr.Status = *in.Status
	}
	if in.Conclusion != nil {
		cr.Conclusion, cr.Status = *in.Conclusion, "completed"
	}
	if cr.Status == "completed" && cr.Conclusion == "" {
		writeInvalid(c.w, "CheckRun", "conclusion", "missing_field", "conclusion is required when status is completed")
		return false
	}
	if in.DetailsURL != nil {
		cr.DetailsURL = *in.DetailsURL
	}
	o := in.Output
	if o == nil {
		return true
	}
	switch {
	case o.Title == nil || o.Summary == nil:
		writeInvalid(c.w, "CheckRun", "output", "missing_field", "output needs a title and a summary")
		return false
	case utf8.RuneCountInString(*o.Summary) > 65535:
		writeInvalid(c.w, "CheckRun", "output.summary", "custom", "summary is too long (maximum is 65535 characters)")
		return false
	case len(o.Annotations) > maxAnnotations:
		writeInvalid(c.w, "CheckRun", "output.annotations", "custom", "only 50 annotations are allowed per request")
		return false
	}
	for _, a := range o.Annotations {
		valid := a.Path != "" && a.Message != "" && a.StartLine >= 1 && a.EndLine >= a.StartLine
		switch a.AnnotationLevel {
		case "notice", "warning", "failure":
		default:
			valid = false
		}
		if !valid {
			writeInvalid(c.w, "CheckRun", "output.annotations", "invalid", "an annotation needs path, start_line, end_line, annotation_level (notice, warning or failure) and message")
			return false
		}
	}
	cr.Title, cr.Summary = *o.Title, *o.Summary
	if o.Text != nil {
		cr.Text = *o.Text
	}
	for _, a := range o.Annotations {
		cr.Annotations = append(cr.Annotations, Annotation{Path: a.Path, StartLine: a.StartLine, EndLine: a.EndLine,
			Level: a.AnnotationLevel, Title: a.Title, Message: a.Message})
	}
	return true
}

func (s *Server) listCheckRuns(c *call) {
	sha := c.r.PathValue("sha")
	var list []*CheckRun
	for _, cr := range c.rp.checkRuns {
		if cr.HeadSHA == sha {
			list = append(list, cr)
		}
	}
	lo, hi := page(c.w, c.r, len(list))
	out := struct {
		TotalCount int            `json:"total_count"`
		CheckRuns  []checkRunJSON `json:"check_runs"`
	}{TotalCount: len(list), CheckRuns: []checkRunJSON{}}
	for _, cr := range list[lo:hi] {
		out.CheckRuns = append(out.CheckRuns, s.checkRunJSON(c, cr))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (s *Server) checkRunJSON(c *call, cr *CheckRun) checkRunJSON {
	out := checkRunJSON{
		ID:      cr.ID,
		HTMLURL: s.srv.URL + "/" + c.owner + "/" + c.name + "/runs/" + itoa(cr.ID),
		Name:    &cr.Name, HeadSHA: cr.HeadSHA, Status: &cr.Status,
		Output: &outputJSON{Title: &cr.Title, Summary: &cr.Summary, Text: &cr.Text, AnnotationsCount: len(cr.Annotations)},
	}
	if cr.Conclusion != "" {
		out.Conclusion = &cr.Conclusion
	}
	if cr.DetailsURL != "" {
		out.DetailsURL = &cr.DetailsURL
	}
	return out
}

func (s *Server) user(login string) userJSON {
	return userJSON{Login: login, ID: s.userID(login), Type: userType(login)}
}

func (s *Server) apiURL(c *call, rest string) string {
	return s.URL() + "repos/" + c.owner + "/" + c.name + "/" + rest
}

func (s *Server) issueCommentJSON(c *call, number int, cm *Comment) commentJSON {
	return commentJSON{
		ID: cm.ID, NodeID: "IC_" + itoa(cm.ID), Body: cm.Body, HTMLURL: cm.HTMLURL,
		URL:       s.apiURL(c, "issues/comments/"+itoa(cm.ID)),
		IssueURL:  s.apiURL(c, "issues/"+strconv.Itoa(number)),
		User:      s.user(cm.Login),
		CreatedAt: cm.CreatedAt, UpdatedAt: cm.UpdatedAt, AuthorAssociation: "NONE",
	}
}

func (s *Server) commitCommentJSON(c *call, sha string, cm *Comment) commentJSON {
	return commentJSON{
		ID: cm.ID, NodeID: "CC_" + itoa(cm.ID), Body: cm.Body, HTMLURL: cm.HTMLURL,
		URL:       s.apiURL(c, "comments/"+itoa(cm.ID)),
		CommitID:  sha,
		User:      s.user(cm.Login),
		CreatedAt: cm.CreatedAt, UpdatedAt: cm.UpdatedAt, AuthorAssociation: "NONE",
	}
}

func (s *Server) statusJSON(c *call, st *Status) statusJSON {
	return statusJSON{ID: st.ID, URL: s.apiURL(c, "statuses/"+itoa(st.ID)), State: st.State, Description: st.Description,
		TargetURL: st.TargetURL, Context: st.Context, Creator: s.user(st.Creator), CreatedAt: st.CreatedAt, UpdatedAt: st.CreatedAt}
}

func (s *Server) pullJSON(c *call, p *pull) pullJSON {
	out := pullJSON{ID: int64(p.number), Number: p.number, State: p.state, Title: p.title,
		URL:     s.apiURL(c, "pulls/"+strconv.Itoa(p.number)),
		HTMLURL: s.srv.URL + "/" + c.owner + "/" + c.name + "/pull/" + strconv.Itoa(p.number),
		User:    s.user(p.login), Labels: labels(p.labels), CreatedAt: p.created}
	if p.body != "" {
		out.Body = &p.body
	}
	out.Head = branchRef{Ref: p.head, SHA: p.headSHA}
	if p.head != "" {
		out.Head.Label = c.owner + ":" + p.head
	}
	out.Base = branchRef{Ref: p.base}
	if p.base != "" {
		out.Base.Label = c.owner + ":" + p.base
	}
	return out
}

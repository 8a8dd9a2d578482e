package ciprovider

import (
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/local"
)

const localName = "local"

// localSystem is a run outside any CI: a developer's shell, or a CI mlci
// does not know. The report goes to a file.
type localSystem struct{ e env }

func (localSystem) Name() string           { return localName }
func (localSystem) running() bool          { return true }
func (localSystem) Event() Event           { return EventUnknown }
func (localSystem) RunURL() string         { return "" }
func (localSystem) RepositoryURL() string  { return "" }
func (l localSystem) Actor() string        { return l.e.getenv("USER") }
func (localSystem) TargetBranch() string   { return "" }
func (localSystem) BuilderID() string      { return "https://mlci.dev/local" }
func (localSystem) CommentLimit() int      { return 0 }
func (localSystem) Outputs() Outputs       { return nil }
func (localSystem) Mask(string)            {}
func (localSystem) WorkflowCommands() bool { return false }
func (localSystem) Input(string) string    { return "" }

func (localSystem) Forge(root string) (forge.Forge, error) {
	return &local.Forge{Dir: root}, nil
}

func (localSystem) RegistryCredential(string) (string, string, error) { return "", "", nil }

package temporal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Hash is a flow source's content hash, as carried in the workflow input.
func Hash(source []byte) string {
	s := sha256.Sum256(source)
	return "sha256:" + hex.EncodeToString(s[:])
}

// Served holds the flows a worker serves: the current version of every flow file under its
// paths, and the earlier versions it has loaded, kept in its state directory so that instances
// started on them run on after the file changes. Anything else is refused.
type Served struct {
	components *engine.Registry // compiles the flows
	mu         sync.RWMutex
	versions   map[string]*engine.Flow // name@hash
	served     map[string]bool         // flow names under the worker's paths
	stateDir   string
}

// NewServed makes an empty set of served flows, compiled with components, keeping versions in
// stateDir ("" keeps none).
func NewServed(components *engine.Registry, stateDir string) *Served {
	return &Served{components: components, versions: map[string]*engine.Flow{}, served: map[string]bool{}, stateDir: stateDir}
}

// Flow implements Flows: the flow of that name and hash, if this worker serves it.
func (r *Served) Flow(name, hash string) (*engine.Flow, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.served[name] {
		return nil, fmt.Errorf("refused: this worker does not serve flow %q", name)
	}
	f := r.versions[name+"@"+hash]
	if f == nil {
		return nil, fmt.Errorf("refused: flow %s version %s is neither a current file of this worker nor one it has kept", name, short(hash))
	}
	return f, nil
}

func short(hash string) string {
	if h, ok := strings.CutPrefix(hash, "sha256:"); ok && len(h) > 12 {
		return h[:12]
	}
	return hash
}

// keptVersion is a flow version in the state directory.
type keptVersion struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Source string `json:"source"`
}

// Load compiles the flow files under paths (current versions) and the versions kept in the state
// directory, and keeps the current ones there. Invalid flow files are errors.
func (r *Served) Load(paths []string) error {
	var errs yamldoc.ErrorList
	if r.stateDir != "" {
		if err := os.MkdirAll(r.stateDir, 0o700); err != nil {
			return err
		}
		entries, _ := os.ReadDir(r.stateDir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(r.stateDir, e.Name()))
			if err != nil {
				return err
			}
			var kv keptVersion
			if json.Unmarshal(b, &kv) != nil {
				continue
			}
			if f, err := r.components.Load(kv.File, []byte(kv.Source)); err == nil {
				r.versions[f.Name+"@"+Hash([]byte(kv.Source))] = f
			}
		}
	}
	files, err := FlowFiles(paths)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no flow files under %s", strings.Join(paths, ", "))
	}
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := r.components.Load(p, src)
		if err != nil {
			if l, ok := yamldoc.AsList(err); ok {
				errs = append(errs, l...)
				continue
			}
			return err
		}
		hash := Hash(src)
		r.mu.Lock()
		r.versions[f.Name+"@"+hash] = f
		r.served[f.Name] = true
		r.mu.Unlock()
		if r.stateDir != "" {
			b, _ := json.Marshal(keptVersion{Name: f.Name, File: p, Source: string(src)})
			name := filepath.Join(r.stateDir, f.Name+"@"+short(hash)+".json")
			if err := os.WriteFile(name, b, 0o600); err != nil {
				return err
			}
		}
	}
	if len(errs) > 0 {
		return errs.Sort()
	}
	return nil
}

// Names lists the flows served.
func (r *Served) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedKeys(r.served)
}

// FlowFiles lists the flow files under paths: YAML files with a top-level flow: key, not test
// or mock files.
func FlowFiles(paths []string) ([]string, error) {
	var out []string
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !isFlowFile(p) {
				return nil
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isFlowFile(p string) bool {
	base := filepath.Base(p)
	if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") ||
		strings.Contains(base, ".test.") || strings.Contains(base, ".mock.") {
		return false
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) > 16<<20 {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(b, &top) != nil {
		return false
	}
	_, ok := top["flow"]
	_, nodes := top["nodes"]
	return ok && nodes
}

// Fixed serves one flow version (the test environment).
type Fixed struct {
	F    *engine.Flow
	Hash string
}

// Flow implements Flows.
func (x Fixed) Flow(name, hash string) (*engine.Flow, error) {
	if name != x.F.Name || hash != x.Hash {
		return nil, fmt.Errorf("refused: flow %s version %s is not the one under test", name, short(hash))
	}
	return x.F, nil
}

package imagebuild

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	"github.com/berth/berth/machine"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Store is what a build needs of the image store.
type Store interface {
	Get(ctx context.Context, nameOrID string) (imagestore.Image, error)
	Commit(ctx context.Context, o imagestore.CommitOptions) (imagestore.Image, error)
	Tag(ctx context.Context, source, target string) error
	LayerPath(chain digest.Digest) string
	ConfigJSON(img imagestore.Image) ([]byte, error)
}

// RunRequest is one RUN step: argv in a container of Image, with the
// image's config (Env, User, WorkingDir) and Env added.
type RunRequest struct {
	Image   digest.Digest
	Argv    []string
	Env     []string
	Network string // "" or "default" (the bridge), "host", "none"
	// Mounts are RUN --mount's: cache directories (binds) and tmpfs.
	Mounts []machine.Mount
	Stdout io.Writer
	Stderr io.Writer
}

// Runner runs RUN steps. Run runs req to its end, then calls changes
// with the container's overlay upper directory while the container
// still exists, and removes the container whatever happens. It returns
// the command's exit code.
type Runner interface {
	Run(ctx context.Context, req RunRequest, changes func(upper string) error) (int, error)
}

// Options of a build.
type Options struct {
	ContextDir string
	Dockerfile *Dockerfile
	BuildArgs  map[string]string
	Target     string
	NoCache    bool
	Labels     map[string]string
	Network    string
	Tags       []string
	// CacheDir holds the cache's keys: one file per key naming an image.
	CacheDir string
	// TmpDir is where layer tars wait to be stored.
	TmpDir string
	// Pull, when set (--pull), is called for every image a FROM names
	// before it is looked up: it fetches the newest from its registry.
	Pull func(ctx context.Context, ref string) error
	// Out gets the steps; nil for none (-q). Stdout and Stderr get RUN's output.
	Out, Stdout, Stderr io.Writer
}

// RunError is a RUN step whose command failed.
type RunError struct {
	File string
	Line int
	Argv []string
	Code int
}

func (e *RunError) Error() string {
	return fmt.Sprintf("%s:%d: RUN %s: returned a non-zero code: %d", e.File, e.Line, strings.Join(e.Argv, " "), e.Code)
}

// predefinedArgs may be passed with --build-arg without an ARG.
var predefinedArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true, "ALL_PROXY": true, "all_proxy": true,
}

// extra is the part of Docker's image config that the OCI config has
// not: it is kept beside it in the same JSON.
type extra struct {
	Healthcheck *dockerspec.HealthcheckConfig `json:"Healthcheck,omitempty"`
	OnBuild     []string                      `json:"OnBuild,omitempty"`
	Shell       []string                      `json:"Shell,omitempty"`
}

// stage is the state of the stage being built.
type stage struct {
	name     string
	img      *imagestore.Image // nil: scratch, nothing stored yet
	cfg      ocispec.Image
	extra    extra
	args     map[string]string // ARGs in scope
	cmdSet   bool              // CMD given in this stage
	fromText string
}

type builder struct {
	ctx    context.Context
	st     Store
	run    Runner
	o      Options
	df     *Dockerfile
	lex    *shell.Lex
	meta   map[string]string // global ARGs
	done   []*stage
	step   int
	steps  int
	ignore *Ignore
	// metaOnly applies metadata instructions to the stage's config and
	// stores nothing (berth commit --change).
	metaOnly bool
	// consumed are the build args an ARG declared.
	consumed map[string]bool
}

func (b *builder) errf(c interface{ Location() []parser.Range }, format string, a ...any) error {
	return &Error{File: b.df.Name, Line: line(c), Msg: fmt.Sprintf(format, a...)}
}

func (b *builder) printf(format string, a ...any) {
	if b.o.Out != nil {
		fmt.Fprintf(b.o.Out, format, a...)
	}
}

// Build builds the Dockerfile's stages up to the target and tags the
// result. A failing step leaves the images of the steps before it (the
// cache) and nothing else: no tag, no container.
func Build(ctx context.Context, st Store, r Runner, o Options) (imagestore.Image, error) {
	df := o.Dockerfile
	b := &builder{ctx: ctx, st: st, run: r, o: o, df: df, lex: newLex(df), meta: map[string]string{}, consumed: map[string]bool{}}
	last := len(df.Stages) - 1
	if o.Target != "" {
		i, ok := b.stageIndex(o.Target)
		if !ok {
			return imagestore.Image{}, fmt.Errorf("target stage %q could not be found: %w", o.Target, errdefs.ErrInvalid)
		}
		last = i
	}
	for _, a := range df.MetaArgs {
		for _, kv := range a.Args {
			b.consumed[kv.Key] = true
			v, ok := o.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				v, _ = b.expand(*kv.Value, b.env(nil))
				ok = true
			}
			if ok {
				b.meta[kv.Key] = v
			}
		}
	}
	for i := 0; i <= last; i++ {
		b.steps += 1 + len(df.Stages[i].Commands)
	}
	if len(o.Labels) > 0 {
		b.steps++
	}
	if f, err := os.Open(filepath.Join(o.ContextDir, ".dockerignore")); err == nil {
		b.ignore, err = ParseIgnore(f)
		f.Close()
		if err != nil {
			return imagestore.Image{}, err
		}
	}
	var s *stage
	for i := 0; i <= last; i++ {
		var err error
		if s, err = b.buildStage(&df.Stages[i]); err != nil {
			return imagestore.Image{}, err
		}
		b.done = append(b.done, s)
	}
	if len(o.Labels) > 0 {
		keys := make([]string, 0, len(o.Labels))
		for k := range o.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var text []string
		for _, k := range keys {
			text = append(text, strconv.Quote(k)+"="+strconv.Quote(o.Labels[k]))
		}
		b.step++
		b.printf("STEP %d/%d: LABEL %s\n", b.step, b.steps, strings.Join(text, " "))
		if err := b.commitStep(s, "LABEL "+strings.Join(text, " "), "", func() (*os.File, error) {
			if s.cfg.Config.Labels == nil {
				s.cfg.Config.Labels = map[string]string{}
			}
			for k, v := range o.Labels {
				s.cfg.Config.Labels[k] = v
			}
			return nil, nil
		}); err != nil {
			return imagestore.Image{}, err
		}
	}
	if s.img == nil {
		// FROM scratch and nothing else: an empty image.
		img, err := st.Commit(ctx, imagestore.CommitOptions{Config: s.cfg})
		if err != nil {
			return imagestore.Image{}, err
		}
		s.img = &img
	}
	var unused []string
	for k := range o.BuildArgs {
		if !b.consumed[k] && !predefinedArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		b.printf("[Warning] One or more build-args %v were not consumed\n", unused)
	}
	for _, t := range o.Tags {
		if err := st.Tag(ctx, s.img.ID.String(), t); err != nil {
			return imagestore.Image{}, fmt.Errorf("tag %s: %w", t, err)
		}
		b.printf("Successfully tagged %s\n", t)
	}
	return st.Get(ctx, s.img.ID.String())
}

func (b *builder) stageIndex(name string) (int, bool) {
	for i, s := range b.df.Stages {
		if strings.EqualFold(s.Name, name) {
			return i, true
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < len(b.df.Stages) {
		return n, true
	}
	return 0, false
}

// env is what expansion sees: the stage's ARGs, then its ENV (which
// wins, as in Docker).
func (b *builder) env(s *stage) shell.EnvGetter {
	var list []string
	if s == nil {
		for k, v := range b.meta {
			list = append(list, k+"="+v)
		}
		return shell.EnvsFromSlice(list)
	}
	for k, v := range s.args {
		list = append(list, k+"="+v)
	}
	list = append(list, s.cfg.Config.Env...)
	return shell.EnvsFromSlice(list)
}

func (b *builder) expand(word string, env shell.EnvGetter) (string, error) {
	r, err := b.lex.ProcessWordWithMatches(word, env)
	return r.Result, err
}

// buildStage runs one stage's FROM and its commands.
func (b *builder) buildStage(ds *instructions.Stage) (*stage, error) {
	s := &stage{name: ds.Name, args: map[string]string{}}
	b.step++
	base, err := b.expand(ds.BaseName, b.env(nil))
	if err != nil {
		return nil, &Error{File: b.df.Name, Line: stageLine(ds), Msg: err.Error()}
	}
	b.printf("STEP %d/%d: %s\n", b.step, b.steps, ds.SourceCode)
	switch {
	case strings.EqualFold(base, "scratch"):
		now := time.Now().UTC()
		s.cfg = ocispec.Image{Created: &now, Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
			RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}}
	default:
		var from *imagestore.Image
		if i, ok := b.stageIndex(base); ok && i < len(b.done) {
			prev := b.done[i]
			if prev.img == nil {
				return nil, &Error{File: b.df.Name, Line: stageLine(ds), Msg: fmt.Sprintf("stage %s is empty", base)}
			}
			from = prev.img
			s.extra = prev.extra
		} else {
			if b.o.Pull != nil {
				if err := b.o.Pull(b.ctx, base); err != nil {
					return nil, &Error{File: b.df.Name, Line: stageLine(ds), Msg: fmt.Sprintf("FROM %s: pull: %v", base, err)}
				}
			}
			img, err := b.st.Get(b.ctx, base)
			if err != nil {
				if errdefs.IsNotFound(err) {
					return nil, &Error{File: b.df.Name, Line: stageLine(ds), Msg: fmt.Sprintf("FROM %s: no such image (berth build uses local images: berth pull or berth load it first)", base)}
				}
				return nil, err
			}
			from = &img
			if raw, err := b.st.ConfigJSON(img); err == nil {
				var c struct{ Config extra }
				if json.Unmarshal(raw, &c) == nil {
					s.extra = c.Config
				}
			}
		}
		s.img = from
		s.cfg = from.Config
		s.cfg.Config.Env = append([]string(nil), from.Config.Config.Env...)
		s.cfg.Config.Labels = copyMap(from.Config.Config.Labels)
		s.cfg.History = append([]ocispec.History(nil), from.Config.History...)
		b.printf("--> %s\n", short(from.ID))
		if err := b.onBuild(s, ds); err != nil {
			return nil, err
		}
	}
	for _, c := range ds.Commands {
		b.step++
		b.printf("STEP %d/%d: %s\n", b.step, b.steps, text(c))
		if err := b.command(s, c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// onBuild runs the base image's ONBUILD triggers, as Docker does right
// after FROM, and drops them from the new image.
func (b *builder) onBuild(s *stage, ds *instructions.Stage) error {
	triggers := s.extra.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	s.extra.OnBuild = nil
	for _, tr := range triggers {
		df, err := Parse(b.df.Name, strings.NewReader("FROM scratch\n"+tr+"\n"))
		if err != nil || len(df.Stages[0].Commands) != 1 {
			return &Error{File: b.df.Name, Line: stageLine(ds), Msg: fmt.Sprintf("the base image's ONBUILD %s: %v", tr, err)}
		}
		c := df.Stages[0].Commands[0]
		switch strings.ToLower(c.Name()) {
		case "onbuild", "from", "maintainer":
			return &Error{File: b.df.Name, Line: stageLine(ds), Msg: fmt.Sprintf("the base image's ONBUILD %s: not allowed as a trigger", tr)}
		}
		b.printf("--> ONBUILD %s\n", tr)
		if err := b.command(s, c); err != nil {
			return err
		}
	}
	return nil
}

func stageLine(ds *instructions.Stage) int {
	if len(ds.Location) > 0 {
		return ds.Location[0].Start.Line
	}
	return 0
}

// text is an instruction as written (after expansion for most).
func text(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(c.Name())
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func short(d digest.Digest) string { return d.Encoded()[:12] }

// argsKey is the build args in scope, sorted, for cache keys and RUN's
// environment.
func (s *stage) argsEnv() []string {
	var out []string
	for k, v := range s.args {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// commitStep ends a step: a cache hit, or apply (which changes s.cfg and
// returns the step's layer tar, nil for none; its caller closes it)
// then a new intermediate image.
func (b *builder) commitStep(s *stage, createdBy, contentKey string, apply func() (*os.File, error)) error {
	parent := "scratch"
	if s.img != nil {
		parent = s.img.ID.String()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", parent, createdBy, contentKey, strings.Join(s.argsEnv(), "\x00"))
	key := fmt.Sprintf("%x", h.Sum(nil))
	keyFile := filepath.Join(b.o.CacheDir, key)
	if !b.o.NoCache {
		if id, err := os.ReadFile(keyFile); err == nil {
			if img, err := b.st.Get(b.ctx, strings.TrimSpace(string(id))); err == nil {
				b.useImage(s, img)
				b.printf("--> CACHED %s\n", short(img.ID))
				return nil
			}
		}
	}
	var layer *os.File
	if apply != nil {
		var err error
		if layer, err = apply(); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	s.cfg.Created = &now
	s.cfg.History = append(s.cfg.History, ocispec.History{Created: &now, CreatedBy: createdBy, Comment: "berth build", EmptyLayer: layer == nil})
	o := imagestore.CommitOptions{Parent: s.img, Config: s.cfg, Intermediate: true, DockerConfig: s.extraMap()}
	if layer != nil {
		if _, err := layer.Seek(0, io.SeekStart); err != nil {
			return err
		}
		o.Layer = bufio.NewReaderSize(layer, 1<<20)
	}
	img, err := b.st.Commit(b.ctx, o)
	if err != nil {
		return err
	}
	s.img = &img
	s.cfg = img.Config
	if err := os.MkdirAll(b.o.CacheDir, 0o700); err == nil {
		// Best effort: a key not written is a cache miss next time.
		fsutil.WriteFileAtomic(keyFile, []byte(img.ID.String()+"\n"), 0o600)
	}
	b.printf("--> %s\n", short(img.ID))
	return nil
}

func (s *stage) extraMap() map[string]any {
	m := map[string]any{}
	if s.extra.Healthcheck != nil {
		m["Healthcheck"] = s.extra.Healthcheck
	}
	if len(s.extra.OnBuild) > 0 {
		m["OnBuild"] = s.extra.OnBuild
	}
	if len(s.extra.Shell) > 0 {
		m["Shell"] = s.extra.Shell
	}
	return m
}

func newLex(df *Dockerfile) *shell.Lex { return shell.NewLex(df.Escape) }

// useImage makes a cached image the stage's state.
func (b *builder) useImage(s *stage, img imagestore.Image) {
	s.img = &img
	s.cfg = img.Config
	b.useExtra(s, img)
}

// useExtra reads img's Docker config fields into the stage.
func (b *builder) useExtra(s *stage, img imagestore.Image) {
	if raw, err := b.st.ConfigJSON(img); err == nil {
		var c struct{ Config extra }
		if json.Unmarshal(raw, &c) == nil {
			s.extra = c.Config
		}
	}
}

func (s *stage) shell() []string {
	if len(s.extra.Shell) > 0 {
		return s.extra.Shell
	}
	return []string{"/bin/sh", "-c"}
}

// cmdline is the argv of a CMD, ENTRYPOINT or RUN.
func (s *stage) cmdline(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	return append(append([]string(nil), s.shell()...), strings.Join(c.CmdLine, " "))
}

// command runs one instruction of a stage.
func (b *builder) command(s *stage, c instructions.Command) error {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := c.(*instructions.RunCommand); !isRun {
			env := b.env(s)
			if err := ex.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
				return b.errf(c, "%v", err)
			}
		}
	}
	meta := func(createdBy string, apply func()) error {
		if b.metaOnly {
			apply()
			return nil
		}
		return b.commitStep(s, createdBy, "", func() (*os.File, error) { apply(); return nil, nil })
	}
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if b.consumed != nil {
				b.consumed[kv.Key] = true
			}
			v, ok := b.o.BuildArgs[kv.Key]
			if !ok {
				if kv.Value != nil {
					v, ok = *kv.Value, true
				} else if gv, isMeta := b.meta[kv.Key]; isMeta {
					v, ok = gv, true
				}
			}
			if ok {
				s.args[kv.Key] = v
			} // else declared but unset, as in Docker: ${K:-x} gives x
		}
		b.printf("--> %s\n", b.shortImg(s))
		return nil
	case *instructions.EnvCommand:
		return meta(text(c), func() {
			for _, kv := range c.Env {
				s.cfg.Config.Env = setEnv(s.cfg.Config.Env, kv.Key, kv.Value)
			}
		})
	case *instructions.LabelCommand:
		return meta(text(c), func() {
			if s.cfg.Config.Labels == nil {
				s.cfg.Config.Labels = map[string]string{}
			}
			for _, kv := range c.Labels {
				s.cfg.Config.Labels[kv.Key] = kv.Value
			}
		})
	case *instructions.MaintainerCommand:
		return meta(text(c), func() { s.cfg.Author = c.Maintainer })
	case *instructions.UserCommand:
		return meta(text(c), func() { s.cfg.Config.User = c.User })
	case *instructions.ExposeCommand:
		return meta(text(c), func() {
			if s.cfg.Config.ExposedPorts == nil {
				s.cfg.Config.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range c.Ports {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				s.cfg.Config.ExposedPorts[p] = struct{}{}
			}
		})
	case *instructions.VolumeCommand:
		return meta(text(c), func() {
			if s.cfg.Config.Volumes == nil {
				s.cfg.Config.Volumes = map[string]struct{}{}
			}
			for _, v := range c.Volumes {
				s.cfg.Config.Volumes[v] = struct{}{}
			}
		})
	case *instructions.StopSignalCommand:
		return meta(text(c), func() { s.cfg.Config.StopSignal = c.Signal })
	case *instructions.CmdCommand:
		argv := s.cmdline(c.ShellDependantCmdLine)
		return meta(text(c), func() { s.cfg.Config.Cmd = argv; s.cmdSet = true })
	case *instructions.EntrypointCommand:
		argv := s.cmdline(c.ShellDependantCmdLine)
		return meta(text(c), func() {
			s.cfg.Config.Entrypoint = argv
			if !s.cmdSet {
				s.cfg.Config.Cmd = nil // a base image's CMD does not survive a new ENTRYPOINT
			}
		})
	case *instructions.ShellCommand:
		return meta(text(c), func() { s.extra.Shell = c.Shell })
	case *instructions.HealthCheckCommand:
		return meta(text(c), func() { s.extra.Healthcheck = c.Health })
	case *instructions.OnbuildCommand:
		return meta(text(c), func() { s.extra.OnBuild = append(s.extra.OnBuild, c.Expression) })
	case *instructions.WorkdirCommand:
		return b.workdir(s, c)
	case *instructions.RunCommand:
		return b.runStep(s, c)
	case *instructions.CopyCommand:
		return b.copyStep(s, c, c.SourcesAndDest, c.From, c.Chown, c.Chmod, false)
	case *instructions.AddCommand:
		return b.copyStep(s, c, c.SourcesAndDest, "", c.Chown, c.Chmod, true)
	}
	return b.errf(c, "%s is not supported by berth build", strings.ToUpper(c.Name()))
}

func (b *builder) shortImg(s *stage) string {
	if s.img == nil {
		return "scratch"
	}
	return short(s.img.ID)
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func (b *builder) layerDirs(img *imagestore.Image) []string {
	if img == nil {
		return nil
	}
	return machine.LayerDirs(img.ChainIDs(), b.st.LayerPath)
}

// imageView opens the stage's root filesystem (nil for scratch).
func (b *builder) imageView(img *imagestore.Image) (*view, error) {
	if img == nil {
		return &view{}, nil
	}
	return openView(machine.LayerDirs(img.ChainIDs(), b.st.LayerPath))
}

// tempFile makes a file for a layer tar.
func (b *builder) tempFile() (*os.File, error) {
	if err := os.MkdirAll(b.o.TmpDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.o.TmpDir, "build-layer-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file is all we need
	return f, nil
}

func (b *builder) workdir(s *stage, c *instructions.WorkdirCommand) error {
	p := c.Path
	if !path.IsAbs(p) {
		p = path.Join("/", s.cfg.Config.WorkingDir, p)
	}
	p = path.Clean(p)
	lower, err := b.imageView(s.img)
	if err != nil {
		return err
	}
	defer lower.close()
	var layer *os.File
	if fi, _, err := lower.lstat(p); err != nil || fi == nil {
		if layer, err = b.tempFile(); err != nil {
			return err
		}
		defer layer.Close()
		lt := newLayerTar(layer)
		if err := b.parents(lt, lower, p, true); err != nil {
			return err
		}
		if err := lt.close(); err != nil {
			return err
		}
	}
	return b.commitStep(s, "WORKDIR "+p, "", func() (*os.File, error) { s.cfg.Config.WorkingDir = p; return layer, nil })
}

// parents writes directory entries for p's parents (and p itself when
// self): as they are in lower when they exist there, else 0755 root.
func (b *builder) parents(lt *layerTar, lower *view, p string, self bool) error {
	var dirs []string
	d := clean(p)
	if !self {
		d = path.Dir(d)
	}
	for ; d != "."; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: time.Now()}
		if fi, _, err := lower.lstat(d); err == nil && fi != nil && fi.IsDir() {
			if h, err = header(fi, ""); err != nil {
				return err
			}
			h.Name = d
		}
		if err := lt.add(h, nil); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) runStep(s *stage, c *instructions.RunCommand) error {
	if s.img == nil || len(s.img.DiffIDs()) == 0 {
		return b.errf(c, "RUN in a stage with no files (FROM scratch): there is no shell to run it")
	}
	var argv []string
	switch {
	case len(c.Files) == 1 && c.PrependShell && parser.MustParseHeredoc(strings.Join(c.CmdLine, " ")) != nil:
		// RUN <<EOF: the heredoc is the script.
		argv = append(append([]string(nil), s.shell()...), c.Files[0].Data)
	case len(c.Files) > 0 && c.PrependShell:
		// RUN cmd <<EOF …: the shell reads its own heredocs.
		script := strings.Join(c.CmdLine, " ")
		for _, f := range c.Files {
			script += "\n" + f.Data + f.Name
		}
		argv = append(append([]string(nil), s.shell()...), script)
	default:
		argv = s.cmdline(c.ShellDependantCmdLine)
	}
	network := instructions.GetNetwork(c)
	if network == "" || network == instructions.NetworkDefault {
		network = b.o.Network
	}
	env := b.env(s)
	if err := c.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
		return b.errf(c, "%v", err)
	}
	mounts, err := b.runMounts(c)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	for _, m := range mounts {
		skip[clean(m.Target)] = true
	}
	createdBy := "RUN " + strings.Join(argv, " ")
	var layer *os.File
	defer func() {
		if layer != nil {
			layer.Close()
		}
	}()
	return b.commitStep(s, createdBy, "", func() (*os.File, error) {
		lower, err := b.imageView(s.img)
		if err != nil {
			return nil, err
		}
		defer lower.close()
		var env []string
		for _, a := range s.argsEnv() {
			k, _, _ := strings.Cut(a, "=")
			if !hasEnv(s.cfg.Config.Env, k) {
				env = append(env, a)
			}
		}
		// The proxy variables need no ARG, and are not part of the
		// cache key (as in Docker).
		for k, v := range b.o.BuildArgs {
			if _, declared := s.args[k]; predefinedArgs[k] && !declared && !hasEnv(s.cfg.Config.Env, k) {
				env = append(env, k+"="+v)
			}
		}
		f, err := b.tempFile()
		if err != nil {
			return nil, err
		}
		n := 0
		code, err := b.run.Run(b.ctx, RunRequest{Image: s.img.ID, Argv: argv, Env: env, Network: network, Mounts: mounts, Stdout: b.o.Stdout, Stderr: b.o.Stderr},
			func(upper string) error {
				var err error
				n, err = diffUpper(upper, lower, skip, f)
				return err
			})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s:%d: RUN: %w", b.df.Name, line(c), err)
		}
		if code != 0 {
			f.Close()
			return nil, &RunError{File: b.df.Name, Line: line(c), Argv: argv, Code: code}
		}
		if n == 0 {
			f.Close() // nothing changed: no layer
			return nil, nil
		}
		layer = f
		return f, nil
	})
}

// runMounts turns RUN --mount=type=cache into a bind of a directory
// under the build cache that outlives the build (one per id, else per
// target) and type=tmpfs into a tmpfs.
func (b *builder) runMounts(c *instructions.RunCommand) ([]machine.Mount, error) {
	var out []machine.Mount
	for _, m := range instructions.GetMounts(c) {
		target := m.Target
		if !path.IsAbs(target) {
			return nil, b.errf(c, "RUN --mount: target %q must be absolute", target)
		}
		switch m.Type {
		case instructions.MountTypeTmpfs:
			out = append(out, machine.Mount{Type: machine.MountTmpfs, Target: target})
		case instructions.MountTypeCache:
			id := m.CacheID
			if id == "" {
				id = target
			}
			dir := filepath.Join(b.o.CacheDir, "mounts", fmt.Sprintf("%x", sha256.Sum256([]byte(id))))
			if _, err := os.Stat(dir); os.IsNotExist(err) {
				mode := os.FileMode(0o755)
				if m.Mode != nil {
					mode = os.FileMode(*m.Mode)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, err
				}
				os.Chmod(dir, mode)
				if m.UID != nil || m.GID != nil {
					uid, gid := 0, 0
					if m.UID != nil {
						uid = int(*m.UID)
					}
					if m.GID != nil {
						gid = int(*m.GID)
					}
					os.Chown(dir, uid, gid)
				}
			}
			out = append(out, machine.Mount{Type: machine.MountBind, Source: dir, Target: target, ReadOnly: m.ReadOnly})
		}
	}
	return out, nil
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			return true
		}
	}
	return false
}

// copyStep is COPY and ADD: the files become a layer tar first, whose
// content digest is part of the cache key.
func (b *builder) copyStep(s *stage, c instructions.Command, sd instructions.SourcesAndDest, from, chown, chmod string, add bool) error {
	var src *view
	var err error
	var ignore *Ignore
	fromText := "context"
	if from != "" {
		if i, ok := b.stageIndex(from); ok && i < len(b.done) {
			src, err = b.imageView(b.done[i].img)
		} else if _, ok := b.stageIndex(from); ok {
			return b.errf(c, "COPY --from=%s: that stage comes later", from)
		} else {
			img, gerr := b.st.Get(b.ctx, from)
			if gerr != nil {
				return b.errf(c, "COPY --from=%s: no such stage or image", from)
			}
			src, err = b.imageView(&img)
			fromText = img.ID.String()
		}
		if fromText == "context" {
			fromText = "stage " + from
		}
	} else {
		src, err = openView([]string{b.o.ContextDir})
		ignore = b.ignore
	}
	if err != nil {
		return err
	}
	defer src.close()
	lower, err := b.imageView(s.img)
	if err != nil {
		return err
	}
	defer lower.close()

	uid, gid := 0, 0
	if chown != "" {
		fsys, err := machine.OpenLayers(b.layerDirs(s.img))
		if err != nil {
			return err
		}
		u, err := machine.ResolveUser(fsys, chown)
		fsys.Close()
		if err != nil {
			return b.errf(c, "--chown=%s: %v", chown, err)
		}
		uid, gid = int(u.UID), int(u.GID)
	}
	var mode int64 = -1
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return b.errf(c, "--chmod=%s: want an octal mode", chmod)
		}
		mode = int64(m)
	}

	dest := sd.DestPath
	destDir := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	if !path.IsAbs(dest) {
		dest = path.Join("/", s.cfg.Config.WorkingDir, dest)
	}
	dest = path.Clean(dest)

	var matches []string
	for _, p := range sd.SourcePaths {
		m, err := src.glob(p)
		if err != nil {
			return b.errf(c, "%s: %v", p, err)
		}
		var kept []string
		for _, x := range m {
			if !ignore.Excluded(x) {
				kept = append(kept, x)
			}
		}
		if len(kept) == 0 {
			return b.errf(c, "%s %s: file not found in build context or excluded by .dockerignore", strings.ToUpper(c.Name()), p)
		}
		matches = append(matches, kept...)
	}
	if len(matches)+len(sd.SourceContents) > 1 {
		destDir = true
	}
	env := b.env(s)
	if err := sd.ExpandRaw(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
		return b.errf(c, "%v", err)
	}
	if fi, _, err := lower.lstat(dest); err == nil && fi != nil && fi.IsDir() {
		destDir = true
	}

	f, err := b.tempFile()
	if err != nil {
		return err
	}
	defer f.Close()
	lt := newLayerTar(f)
	if err := b.parents(lt, lower, dest, destDir); err != nil {
		f.Close()
		return err
	}
	own := func(h *tar.Header) {
		h.Uid, h.Gid = uid, gid
		if mode >= 0 {
			h.Mode = h.Mode&^0o7777 | mode
		}
	}
	for _, m := range matches {
		fi, root, err := src.lstat(m)
		if err != nil || fi == nil {
			f.Close()
			return b.errf(c, "%s: %v", m, err)
		}
		if fi.IsDir() {
			if err := b.copyTree(lt, src, ignore, m, dest, own); err != nil {
				f.Close()
				return b.errf(c, "%v", err)
			}
			continue
		}
		target := dest
		if destDir {
			target = path.Join(dest, path.Base(m))
		}
		if add && fi.Mode().IsRegular() {
			if ok, err := b.extract(lt, root, m, dest, own); err != nil {
				f.Close()
				return b.errf(c, "ADD %s: %v", m, err)
			} else if ok {
				continue
			}
		}
		if err := copyFile(lt, src, root, m, fi, target, own); err != nil {
			f.Close()
			return b.errf(c, "%v", err)
		}
	}
	// COPY <<EOF /file: the heredoc is the file.
	for _, sc := range sd.SourceContents {
		target := dest
		if destDir {
			target = path.Join(dest, sc.Path)
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: target, Mode: 0o644, Size: int64(len(sc.Data)), ModTime: time.Now()}
		own(h)
		if err := lt.add(h, strings.NewReader(sc.Data)); err != nil {
			return err
		}
	}
	if err := lt.close(); err != nil {
		f.Close()
		return err
	}
	createdBy := text(c)
	return b.commitStep(s, createdBy, fromText+" "+lt.digest(), func() (*os.File, error) { return f, nil })
}

func copyFile(lt *layerTar, src *view, root *os.Root, rel string, fi fs.FileInfo, target string, own func(*tar.Header)) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = root.Readlink(rel); err != nil {
			return err
		}
	}
	h, err := header(fi, link)
	if err != nil {
		return err
	}
	h.Name = target
	own(h)
	if h.Typeflag != tar.TypeReg {
		return lt.add(h, nil)
	}
	r, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer r.Close()
	return lt.add(h, r)
}

// copyTree copies the contents of directory dir to dest.
func (b *builder) copyTree(lt *layerTar, src *view, ignore *Ignore, dir, dest string, own func(*tar.Header)) error {
	fi, _, err := src.lstat(dir)
	if err != nil {
		return err
	}
	h, err := header(fi, "")
	if err != nil {
		return err
	}
	h.Name = dest
	own(h)
	if err := lt.add(h, nil); err != nil {
		return err
	}
	names, err := src.readDir(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		rel := path.Join(dir, n)
		if ignore.Excluded(rel) {
			continue
		}
		fi, root, err := src.lstat(rel)
		if err != nil || fi == nil {
			continue
		}
		if fi.IsDir() {
			if err := b.copyTree(lt, src, ignore, rel, path.Join(dest, n), own); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(lt, src, root, rel, fi, path.Join(dest, n), own); err != nil {
			return err
		}
	}
	return nil
}

// extract is ADD of a local tar archive (plain or gzip): its entries go
// under dest. It says false, and writes nothing, for a file that is not
// an archive.
func (b *builder) extract(lt *layerTar, root *os.Root, rel, dest string, own func(*tar.Header)) (bool, error) {
	f, err := root.Open(rel)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false, nil
		}
		r = zr
	}
	tr := tar.NewReader(r)
	first, err := tr.Next()
	if err != nil {
		return false, nil // not an archive: copied as a file
	}
	for h := first; ; {
		name := path.Join(dest, path.Clean("/"+h.Name))
		h.Name = name
		if h.Typeflag == tar.TypeLink {
			h.Linkname = path.Join(dest, path.Clean("/"+h.Linkname))
		}
		if err := lt.add(h, tr); err != nil {
			return true, err
		}
		if h, err = tr.Next(); err == io.EOF {
			return true, nil
		} else if err != nil {
			return true, err
		}
	}
}

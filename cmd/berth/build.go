package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/imagebuild"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

// buildRunner runs a build's RUN steps as containers of berth run: a
// container record, its transient unit, output followed in the journal.
type buildRunner struct {
	h      *host
	labels map[string]string
}

func (r *buildRunner) Run(ctx context.Context, req imagebuild.RunRequest, changes func(upper string) error) (int, error) {
	network := req.Network
	if network == "" || network == "default" {
		network = "bridge"
	}
	empty := ""
	o := machine.RunOptions{
		Image:      req.Image.String(),
		Cmd:        req.Argv,
		Entrypoint: &empty,
		Env:        req.Env,
		Network:    network,
		Mounts:     req.Mounts,
		Labels:     map[string]string{"org.berth.build": "true"},
	}
	id := machine.NewID()
	o.Name = "berth-build-" + id[:12]
	if err := o.Validate(); err != nil {
		return 0, err
	}
	rec, err := r.h.createWithID(ctx, o, id, "")
	if err != nil {
		return 0, err
	}
	defer r.h.destroy(rec)
	out, errw := r.h.cmd.OutOrStdout(), r.h.cmd.ErrOrStderr()
	r.h.cmd.SetOut(req.Stdout)
	r.h.cmd.SetErr(req.Stderr)
	err = r.h.startAttached(ctx, rec)
	r.h.cmd.SetOut(out)
	r.h.cmd.SetErr(errw)
	code := 0
	var ec exitCodeError
	var sf startFailure
	switch {
	case errors.As(err, &ec):
		code = ec.code
	case errors.As(err, &sf):
		fmt.Fprintln(req.Stderr, sf.msg)
		code = sf.code
	case err != nil:
		return 0, err
	}
	if code != 0 {
		return code, nil
	}
	return 0, changes(filepath.Join(r.h.cs.Dir(rec.ID), "upper"))
}

func newBuildCommand(g *globalOptions) *cobra.Command {
	var (
		tags, buildArgs, labels []string
		file, target, network   string
		noCache, quiet, pull    bool
	)
	c := &cobra.Command{
		Use:   "build [OPTIONS] PATH",
		Short: "Build an image from a Dockerfile",
		Long: "Build an image from a Dockerfile and the context directory PATH. Every RUN step runs as a\n" +
			"container of its own (a transient unit, as berth run); every step's image is kept as the cache.",
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctxDir := args[0]
			if fi, err := os.Stat(ctxDir); err != nil || !fi.IsDir() {
				return usageError{fmt.Errorf("unable to prepare context: path %q not found or not a directory", ctxDir)}
			}
			if file == "" {
				file = filepath.Join(ctxDir, "Dockerfile")
			} else if file == "-" {
				file = "/dev/stdin"
			}
			opts := imagebuild.Options{ContextDir: ctxDir, Target: target, NoCache: noCache, Network: network,
				BuildArgs: map[string]string{}, Labels: map[string]string{},
				CacheDir: filepath.Join(g.root, "build-cache"), TmpDir: filepath.Join(g.root, "tmp"),
				Out: c.OutOrStdout(), Stdout: c.OutOrStdout(), Stderr: c.ErrOrStderr()}
			if quiet {
				opts.Out, opts.Stdout, opts.Stderr = nil, io.Discard, io.Discard
			}
			switch network {
			case "", "default", "bridge", "host", "none":
			default:
				return usageError{fmt.Errorf("invalid --network %q: berth build knows default, host and none", network)}
			}
			for _, t := range tags {
				ref, err := imagestore.ParseReference(t)
				if err != nil {
					return usageError{fmt.Errorf("invalid tag %q: %w", t, err)}
				}
				opts.Tags = append(opts.Tags, ref.String())
			}
			for _, a := range buildArgs {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					if v, ok = os.LookupEnv(k); !ok {
						continue // as Docker: an unset variable is no build arg
					}
				}
				opts.BuildArgs[k] = v
			}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				opts.Labels[k] = v
			}
			f, err := os.Open(file)
			if err != nil {
				return usageError{fmt.Errorf("read the Dockerfile: %w", err)}
			}
			name := file
			if rel, err := filepath.Rel(ctxDir, file); err == nil && !strings.HasPrefix(rel, "..") {
				name = rel
			}
			df, err := imagebuild.Parse(name, f)
			f.Close()
			if err != nil {
				return usageError{err}
			}
			opts.Dockerfile = df
			if pull {
				opts.Pull = func(ctx context.Context, ref string) error { return buildPull(c, g, ref, opts.Out) }
			}
			h, err := g.host(c)
			if err != nil {
				return engineError{err}
			}
			defer h.close()
			s, err := g.openStore(c)
			if err != nil {
				return engineError{err}
			}
			if needsRun(df) {
				// Reach systemd before anything is built: RUN needs it.
				if _, err := h.systemd(c.Context()); err != nil {
					return err
				}
			}
			img, err := imagebuild.Build(c.Context(), s, &buildRunner{h: h}, opts)
			var re *imagebuild.RunError
			if errors.As(err, &re) {
				fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", re)
				return exitCodeError{re.Code}
			}
			if err != nil {
				if errdefs.IsInvalid(err) {
					return usageError{err}
				}
				return engineError{err}
			}
			fmt.Fprintln(c.OutOrStdout(), img.ID)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&tags, "tag", "t", nil, "Name and optionally a tag in the 'name:tag' format")
	fl.StringVarP(&file, "file", "f", "", "Name of the Dockerfile (default: 'PATH/Dockerfile'; - for stdin)")
	fl.StringArrayVar(&buildArgs, "build-arg", nil, "Set build-time variables")
	fl.StringVar(&target, "target", "", "Set the target build stage to build")
	fl.BoolVar(&noCache, "no-cache", false, "Do not use cache when building the image")
	fl.StringArrayVar(&labels, "label", nil, "Set metadata for an image")
	fl.StringVar(&network, "network", "default", "Networking mode for the RUN instructions: default, host or none")
	fl.BoolVar(&pull, "pull", false, "Always attempt to pull a newer version of the base images")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	return c
}

// needsRun says whether a build has a RUN step.
func needsRun(df *imagebuild.Dockerfile) bool {
	for _, s := range df.Stages {
		for _, c := range s.Commands {
			if strings.EqualFold(c.Name(), "run") {
				return true
			}
		}
	}
	return false
}

// buildPull is --pull: ref is fetched as berth pull fetches it (search
// registries, registries.toml), its progress printed to out (nil: none).
func buildPull(c *cobra.Command, g *globalOptions, ref string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
	if err != nil {
		return err
	}
	s, err := g.openStore(c)
	if err != nil {
		return err
	}
	saved := c.OutOrStdout()
	c.SetOut(out)
	defer c.SetOut(saved)
	cands, _ := cfg.Candidates(ref)
	for i, cand := range cands {
		err = pullOne(c, s, cfg, cand, false, "", true)
		if err == nil || i == len(cands)-1 || !(errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrUnavailable)) {
			return err
		}
	}
	return err
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newPullCommand(g *globalOptions) *cobra.Command {
	var (
		quiet     bool
		platform  string
		tlsVerify bool
	)
	c := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: `Download an image from a registry into the local store, as docker pull does.
A name without a registry (a short name) is tried in each of the
unqualified-search-registries of /etc/berth/registries.toml in turn; with
none configured it comes from Docker Hub (busybox is
docker.io/library/busybox:latest), and berth says so. Registries must speak
HTTPS, except on loopback (localhost, 127.0.0.1, ::1) and those marked
insecure in registries.toml; --tls-verify=false allows plain HTTP and
unverified certificates. Credentials come from berth login
($REGISTRY_AUTH_FILE or $HOME/.docker/config.json).`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := imagestore.ParseRemoteReference(args[0]); err != nil {
				return usageError{err}
			}
			cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
			if err != nil {
				return engineError{err}
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			cands, defaulted := cfg.Candidates(args[0])
			if defaulted {
				fmt.Fprintf(c.ErrOrStderr(), "berth: short name %q resolved to docker.io (no unqualified-search-registries in %s)\n",
					args[0], imagestore.RegistriesConfPath())
			}
			for i, cand := range cands {
				err := pullOne(c, s, cfg, cand, quiet, platform, tlsVerify)
				if err == nil {
					return nil
				}
				if (errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrUnavailable)) && i < len(cands)-1 {
					// Not in this search registry, or it does not
					// answer: try the next, as podman does.
					fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", err)
					continue
				}
				// Printed here, not by execute: its hints are about
				// local images and containers, not registries. Every
				// failure past the reference is exit 1, as Docker's.
				fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", err)
				if msg := err.Error(); strings.Contains(msg, "plain HTTP refused") || strings.Contains(msg, "x509") {
					fmt.Fprintln(c.ErrOrStderr(), "hint: for a registry without (valid) TLS, pass --tls-verify=false or mark it insecure in "+imagestore.RegistriesConfPath())
				}
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image's reference")
	f.StringVar(&platform, "platform", "", "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: this machine's)")
	f.BoolVar(&tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (except on loopback)")
	return c
}

// pullOne pulls ref (which names its registry, or is Docker Hub's) and
// prints docker pull's lines.
func pullOne(c *cobra.Command, s *imagestore.Store, cfg *imagestore.RegistriesConfig, ref string, quiet bool, platform string, tlsVerify bool) error {
	rr, err := imagestore.ParseRemoteReference(ref)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	var before digest.Digest
	if img, err := s.Get(c.Context(), rr.Local.String()); err == nil {
		before = img.Manifest
	}
	pp := &pullPrinter{out: out, tty: isTerminal(out), quiet: quiet, rr: rr}
	img, err := s.Pull(c.Context(), ref, imagestore.PullOptions{
		Platform: platform,
		Insecure: !tlsVerify || cfg.Insecure(rr.Registry),
		Progress: pp.event,
	})
	if err != nil {
		return err
	}
	if before != img.Manifest {
		emit("pull", journal.Field{Name: "BERTH_IMAGE_ID", Value: img.ID.String()},
			journal.Field{Name: "BERTH_IMAGE_REF", Value: rr.Full})
	}
	if quiet {
		fmt.Fprintln(out, rr.Full)
		return nil
	}
	fmt.Fprintf(out, "Digest: %s\n", pp.resolved)
	if before == img.Manifest {
		fmt.Fprintf(out, "Status: Image is up to date for %s\n", rr.Local)
	} else {
		fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", rr.Local)
	}
	fmt.Fprintln(out, rr.Full)
	return nil
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// pullPrinter prints a pull's progress as docker pull does: on a
// terminal one line per layer, redrawn in place; otherwise a plain line
// per change of state.
type pullPrinter struct {
	out      io.Writer
	tty      bool
	quiet    bool
	rr       imagestore.RemoteReference
	resolved digest.Digest
	order    []digest.Digest
	lines    map[digest.Digest]string
	drawn    int // lines on screen to redraw
}

func (p *pullPrinter) event(ev imagestore.ProgressEvent) {
	if ev.State == imagestore.PullResolved {
		// Docker's first line, once the registry knows the image.
		p.resolved = ev.Digest
		if !p.quiet {
			tag := p.rr.Local.Tag
			if p.rr.Local.Digest != "" {
				tag = p.rr.Local.Digest.String()
			}
			fmt.Fprintf(p.out, "%s: Pulling from %s\n", tag, p.rr.Repository)
		}
		return
	}
	if p.quiet {
		return
	}
	short := ev.Digest.Encoded()
	if len(short) > 12 {
		short = short[:12]
	}
	if !p.tty {
		switch ev.State {
		case imagestore.PullWaiting:
			fmt.Fprintf(p.out, "%s: Pulling fs layer\n", short)
		case imagestore.PullDone:
			fmt.Fprintf(p.out, "%s: Download complete\n%s: Pull complete\n", short, short)
		case imagestore.PullExists:
			fmt.Fprintf(p.out, "%s: Already exists\n", short)
		}
		return
	}
	if p.lines == nil {
		p.lines = map[digest.Digest]string{}
	}
	if _, ok := p.lines[ev.Digest]; !ok {
		p.order = append(p.order, ev.Digest)
	}
	line := short + ": " + ev.State.String()
	switch ev.State {
	case imagestore.PullWaiting:
		line = short + ": Pulling fs layer"
	case imagestore.PullDownloading:
		line += " " + progressBar(ev.Current, ev.Total)
	}
	p.lines[ev.Digest] = line
	p.redraw()
}

// redraw moves the cursor up over the layer lines and rewrites them.
func (p *pullPrinter) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, d := range p.order {
		fmt.Fprintf(&b, "\r\x1b[2K%s\n", p.lines[d])
	}
	p.drawn = len(p.order)
	io.WriteString(p.out, b.String())
}

// progressBar is Docker's (its jsonmessage.JSONProgress):
// "[=====>     ]      1.2MB/3.4MB", 50 steps wide, the count right-aligned.
func progressBar(cur, total int64) string {
	human := func(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
	if total <= 0 {
		return fmt.Sprintf("%8v", human(cur))
	}
	n := min(max(int(float64(cur)/float64(total)*100)/2, 0), 50)
	return fmt.Sprintf("[%s>%s] %8v/%v", strings.Repeat("=", n), strings.Repeat(" ", 50-n), human(cur), human(total))
}

package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/fscopy"
	"github.com/berth/berth/machine/nsinit"
	"github.com/spf13/cobra"
)

func newCpCommand(g *globalOptions) *cobra.Command {
	var archive, follow bool
	c := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container, running or not, and the local filesystem, with\n" +
			"Docker's rules for where they land. Use '-' as the source to read a tar archive from stdin\n" +
			"and extract it into a directory in the container, or as the destination to write a tar\n" +
			"archive of the container's path to stdout. Paths in the container are resolved inside its\n" +
			"root: a symlink in it cannot lead a copy to the host.",
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			srcC, srcP := splitCpArg(args[0])
			dstC, dstP := splitCpArg(args[1])
			switch {
			case srcC == "" && dstC == "":
				return errors.New("must specify at least one container source")
			case srcC != "" && dstC != "":
				return errors.New("copying between containers is not supported")
			case srcP == "" || dstP == "":
				return errors.New("filesystem path cannot be empty")
			}
			h, err := g.host(c)
			if err != nil {
				return engineError{err}
			}
			defer h.close()
			rec, err := h.cs.Lookup(srcC + dstC)
			if err != nil {
				return err
			}
			owner := fscopy.FixedOwner(os.Getuid(), os.Getgid())
			if archive {
				owner = fscopy.KeepOwner
			}
			if srcC != "" {
				if archive {
					owner = usernsOwnerOut(rec, owner) // userns.go
				}
				return withContainerRoot(h, rec, func(ctr *fscopy.Root) error {
					return copyFromContainer(c, rec, ctr, srcP, dstP, follow, owner)
				})
			}
			if !archive {
				// The container's root, as Docker: -a keeps the source's.
				owner = fscopy.FixedOwner(0, 0)
			}
			owner = usernsOwner(rec, owner) // userns.go
			if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Root != nil && spec.Root.Readonly {
				return fmt.Errorf("container rootfs is marked read-only")
			}
			return withContainerRoot(h, rec, func(ctr *fscopy.Root) error {
				return copyToContainer(c, rec, ctr, srcP, dstP, follow, owner)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	fl.BoolVarP(&follow, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return c
}

// splitCpArg splits CONTAINER:PATH as Docker does: an absolute path, or
// one that starts with ".", is local even with a colon in it.
func splitCpArg(arg string) (container, p string) {
	if strings.HasPrefix(arg, "/") {
		return "", arg
	}
	name, rest, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(name, ".") {
		return "", arg
	}
	return name, rest
}

// withContainerRoot calls fn with the container's root: a running
// container's through /proc/PID/root (its mount namespace: volumes and
// binds are there), a stopped one's by mounting its overlay privately.
// A stopped container's volumes are not mounted: a path in one is the
// path in the container's own layer.
func withContainerRoot(h *host, rec *machine.Container, fn func(*fscopy.Root) error) error {
	name := "container " + rec.Name
	if rec.IsRunning() {
		r, err := fscopy.OpenRoot(fmt.Sprintf("/proc/%d/root", rec.State.Pid), name)
		if err != nil {
			return engineError{err}
		}
		defer r.Close()
		return fn(r)
	}
	dir := h.cs.Dir(rec.ID)
	data, rel, err := nsinit.OverlayData(rec.LowerDirs, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err != nil {
		return engineError{err}
	}
	o := fscopy.Overlay{Data: data, Target: filepath.Join(dir, "rootfs")}
	if rel {
		o.Chdir = nsinit.OverlayChdir(rec.LowerDirs)
	}
	return fscopy.WithOverlay(o, name, fn)
}

// containerPath makes a path in a container absolute, keeping a
// trailing "/" or "/." that the copy rules read.
func containerPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// localPath makes a local path absolute the same way.
func localPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasSuffix(p, "/."):
		abs += "/."
	case strings.HasSuffix(p, "/") && abs != "/":
		abs += "/"
	}
	return abs, nil
}

func noSuchPath(rec *machine.Container, p string) error {
	return fmt.Errorf("No such container:path: %s:%s", rec.Name, p)
}

func copyFromContainer(c *cobra.Command, rec *machine.Container, ctr *fscopy.Root, srcP, dstP string, follow bool, owner fscopy.Owner) error {
	src := containerPath(srcP)
	info, err := ctr.Stat(src, follow)
	if fscopy.IsNotExist(err) {
		return noSuchPath(rec, srcP)
	}
	if err != nil {
		return err
	}
	if fscopy.HasTrailingSep(src) && !info.IsDir {
		return fmt.Errorf("%s:%s: %w", rec.Name, srcP, fscopy.ErrNotDirectory)
	}
	if dstP == "-" {
		return writeTar(c.OutOrStdout(), ctr, src, path.Base(path.Clean(src)), follow)
	}
	dst, err := localPath(dstP)
	if err != nil {
		return err
	}
	host, err := fscopy.OpenRoot("/", "the host")
	if err != nil {
		return err
	}
	defer host.Close()
	// Docker's check of the output path.
	parent := filepath.Dir(filepath.Clean(dst))
	if pi, err := host.Stat(parent, true); err != nil || !pi.IsDir {
		return fmt.Errorf("invalid output path: directory %q does not exist", parent)
	}
	dinfo, err := host.Stat(dst, true)
	if err != nil && !fscopy.IsNotExist(err) {
		return err
	}
	t, err := fscopy.Plan(src, info.IsDir, dst, dinfo)
	if err != nil {
		return err
	}
	return pipeTar(ctr, src, t, follow, host, owner)
}

func copyToContainer(c *cobra.Command, rec *machine.Container, ctr *fscopy.Root, srcP, dstP string, follow bool, owner fscopy.Owner) error {
	dst := containerPath(dstP)
	dinfo, err := ctr.Stat(dst, true)
	if err != nil && !fscopy.IsNotExist(err) {
		return err
	}
	if srcP == "-" {
		if !dinfo.IsDir {
			return fmt.Errorf("destination \"%s:%s\" must be a directory", rec.Name, dstP)
		}
		return ctr.ExtractTar(tar.NewReader(c.InOrStdin()), dst, owner)
	}
	if !dinfo.Exists {
		parent := path.Dir(path.Clean(dst))
		if pi, err := ctr.Stat(parent, true); err != nil || !pi.IsDir {
			return noSuchPath(rec, parent)
		}
	}
	src, err := localPath(srcP)
	if err != nil {
		return err
	}
	host, err := fscopy.OpenRoot("/", "the host")
	if err != nil {
		return err
	}
	defer host.Close()
	info, err := host.Stat(src, follow)
	if fscopy.IsNotExist(err) {
		return fmt.Errorf("lstat %s: no such file or directory", strings.TrimSuffix(src, "/."))
	}
	if err != nil {
		return err
	}
	t, err := fscopy.Plan(src, info.IsDir, dst, dinfo)
	if err != nil {
		return err
	}
	return pipeTar(host, src, t, follow, ctr, owner)
}

// writeTar writes src of root as a tar archive named name to w.
func writeTar(w io.Writer, root *fscopy.Root, src, name string, follow bool) error {
	tw := tar.NewWriter(w)
	if err := root.WriteTar(tw, src, name, follow); err != nil {
		return err
	}
	return tw.Close()
}

var errExtractStopped = errors.New("extraction stopped")

// pipeTar copies src of from to t in to, as a tar stream.
func pipeTar(from *fscopy.Root, src string, t fscopy.Target, follow bool, to *fscopy.Root, owner fscopy.Owner) error {
	name := t.Name
	if name == "" {
		name = "." // the content of a directory
	}
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeTar(pw, from, src, name, follow)
		pw.CloseWithError(err)
		werr <- err
	}()
	err := to.ExtractTar(tar.NewReader(pr), t.Dir, owner)
	pr.CloseWithError(errExtractStopped)
	// The reader's error, unless it only saw the writer's.
	if e := <-werr; e != nil && !errors.Is(e, errExtractStopped) {
		return e
	}
	return err
}

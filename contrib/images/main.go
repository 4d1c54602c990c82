package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

const (
	// defaultBusybox is where Debian's busybox-static package installs the binary.
	defaultBusybox = "/bin/busybox"

	// rootfsTarName and layoutDirName are the outputs inside OUTDIR.
	rootfsTarName = "busybox.tar"
	layoutDirName = "busybox-layered"

	// layeredRef is the org.opencontainers.image.ref.name of the layered image.
	layeredRef = "busybox-layered:latest"

	// IndexHTMLText is served by the rootfs' /var/www/index.html; demos grep for it.
	indexHTMLText = "Hello from a berth container"

	installHint = "install it with: apt-get install busybox-static"
)

// epoch is the fixed modification time of every tar entry and the creation
// time recorded in the image config.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

// run parses args and builds all images.
func run(args []string, stderr io.Writer) error {
	fset := flag.NewFlagSet("images", flag.ContinueOnError)
	fset.SetOutput(stderr)
	out := fset.String("o", "", "output `directory` (created if missing; required)")
	bb := fset.String("busybox", defaultBusybox, "`path` of a statically linked busybox (Debian: busybox-static)")
	fset.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./contrib/images -o OUTDIR [-busybox PATH]\n\n")
		fmt.Fprintf(stderr, "Writes OUTDIR/%s (rootfs tarball) and OUTDIR/%s/ (OCI image layout).\n\n", rootfsTarName, layoutDirName)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() != 0 {
		fset.Usage()
		return fmt.Errorf("unexpected arguments: %q", fset.Args())
	}
	if *out == "" {
		fset.Usage()
		return errors.New("-o OUTDIR is required")
	}
	applets, version, err := probeBusybox(*bb)
	if err != nil {
		return err
	}
	if err := build(*out, *bb, applets, version); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "images: busybox %s (%d applets): wrote %s and %s\n", version, len(applets),
		filepath.Join(*out, rootfsTarName), filepath.Join(*out, layoutDirName))
	return nil
}

// checkStatic verifies that path is an ELF executable without a program
// interpreter (PT_INTERP), i.e. it can run in an otherwise empty rootfs.
func checkStatic(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("busybox not found at %s; %s", path, installHint)
		}
		return fmt.Errorf("busybox: %w; %s", err, installHint)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("busybox %s is not a regular file; %s", path, installHint)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox %s is not an ELF executable (%v); %s", path, err, installHint)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(io.LimitReader(p.Open(), 4096))
			return fmt.Errorf("busybox %s is dynamically linked (interpreter %s), the images need a static one; %s",
				path, strings.TrimRight(string(interp), "\x00"), installHint)
		}
	}
	return nil
}

// probeBusybox checks that path is a static busybox and asks it for its
// applet list and version.
func probeBusybox(path string) (applets []string, version string, err error) {
	if err := checkStatic(path); err != nil {
		return nil, "", err
	}
	list, err := runBusybox(path, "--list")
	if err != nil {
		return nil, "", err
	}
	applets, err = parseApplets(list)
	if err != nil {
		return nil, "", fmt.Errorf("busybox --list: %w", err)
	}
	// Without arguments busybox prints "BusyBox v1.35.0 (...) multi-call binary."
	banner, err := runBusybox(path)
	if err != nil {
		return nil, "", err
	}
	version, err = parseVersion(banner)
	if err != nil {
		return nil, "", err
	}
	return applets, version, nil
}

func runBusybox(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"LC_ALL=C"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Some busybox builds exit non-zero after printing their usage banner;
	// only treat a failure without output as an error.
	if err != nil && stdout.Len() == 0 && stderr.Len() == 0 {
		return "", fmt.Errorf("running %s %s: %w", path, strings.Join(args, " "), err)
	}
	if stdout.Len() == 0 {
		return stderr.String(), nil
	}
	return stdout.String(), nil
}

// validApplet matches applet names that are safe as a single path component.
var validApplet = regexp.MustCompile(`^[A-Za-z0-9_.\[\]+-]+$`)

// parseApplets turns `busybox --list` output into a sorted, de-duplicated
// list of applet names, dropping "busybox" itself.
func parseApplets(list string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || name == "busybox" || seen[name] {
			continue
		}
		if err := checkAppletName(name); err != nil {
			return nil, err
		}
		seen[name] = true
		out = append(out, name)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no applets listed")
	}
	sort.Strings(out)
	return out, nil
}

func checkAppletName(name string) error {
	if name == "." || name == ".." || !validApplet.MatchString(name) {
		return fmt.Errorf("invalid applet name %q", name)
	}
	return nil
}

// versionRE extracts the version from the first line of busybox's banner.
var versionRE = regexp.MustCompile(`^BusyBox v([0-9][A-Za-z0-9._~-]*)`)

// validVersion is what may appear as VERSION_ID in /etc/os-release.
var validVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9._~-]*$`)

// parseVersion extracts e.g. "1.35.0" from "BusyBox v1.35.0 (Debian ...) multi-call binary.".
func parseVersion(banner string) (string, error) {
	first, _, _ := strings.Cut(strings.TrimLeft(banner, "\r\n\t "), "\n")
	m := versionRE.FindStringSubmatch(strings.TrimSpace(first))
	if m == nil {
		return "", fmt.Errorf("cannot find the busybox version in %q", first)
	}
	return m[1], nil
}

// build writes OUTDIR/busybox.tar and OUTDIR/busybox-layered/ from the
// busybox binary at busyboxPath, which is not executed (the caller supplies
// the applet list and version).
func build(outDir, busyboxPath string, applets []string, version string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var l1, l2, l3 bytes.Buffer
	if err := rootfsTar(&l1, busyboxPath, applets, version); err != nil {
		return err
	}
	if err := layer2Tar(&l2); err != nil {
		return err
	}
	if err := layer3Tar(&l3); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(outDir, rootfsTarName), l1.Bytes()); err != nil {
		return err
	}
	layers := []layer{
		{tar: l1.Bytes(), createdBy: fmt.Sprintf("berth contrib/images: busybox %s rootfs (/bin/busybox, %d applet symlinks, /etc, /var/www/index.html)", version, len(applets))},
		{tar: l2.Bytes(), createdBy: "berth contrib/images: add /etc/motd, /data/a.txt, /data/b.txt and hardlink /data/a-link -> /data/a.txt"},
		{tar: l3.Bytes(), createdBy: "berth contrib/images: whiteout /data/b.txt, make /var/www opaque with a new index.html, replace /etc/motd"},
	}
	return writeLayoutAtomic(filepath.Join(outDir, layoutDirName), layeredRef, layers)
}

// writeFileAtomic writes data to path through a temporary file and rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeLayoutAtomic builds the layout in a temporary sibling directory and
// then replaces dir with it, so no stale blobs from earlier runs survive.
func writeLayoutAtomic(dir, ref string, layers []layer) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := writeLayout(tmp, ref, layers); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

package main

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/fscopy"
)

// The archive endpoints behind docker cp: HEAD stats a path in the
// container, GET sends it as a tar archive, PUT extracts one into a
// directory. The CLI plans the copy itself (Docker's rules for where
// things land) from the stat; berth cp's root handling does the rest: a
// running container's root through /proc/PID/root, a stopped one's
// overlay mounted privately, every path resolved inside it.

// archivePath is the request's path= as an absolute path in the
// container, keeping a trailing "/" or "/." that the copy rules read.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", fmt.Errorf("no path given: %w", errdefs.ErrInvalid)
	}
	return containerPath(p), nil
}

func notInContainer(rec *machine.Container, p string) error {
	return fmt.Errorf("Could not find the file %s in container %s: %w", p, rec.Name, errdefs.ErrNotFound)
}

// statHeader sets Docker's X-Docker-Container-Path-Stat: the path's
// stat as base64 JSON.
func statHeader(w http.ResponseWriter, info fscopy.PathInfo) {
	b, _ := json.Marshal(info)
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(b))
}

// archiveStat is HEAD /containers/{id}/archive (docker cp's look at a
// path first).
func (s *apiServer) archiveStat(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		return withContainerRoot(h, rec, func(ctr *fscopy.Root) error {
			info, err := ctr.Lstat(p)
			if fscopy.IsNotExist(err) {
				return notInContainer(rec, p)
			}
			if err != nil {
				return err
			}
			statHeader(w, info)
			w.WriteHeader(http.StatusOK)
			return nil
		})
	})
}

// archiveGet is GET /containers/{id}/archive (docker cp CONTAINER:SRC):
// the path as a tar archive whose top entry is its base name, or "."
// for SRC/. (the content of a directory).
func (s *apiServer) archiveGet(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		return withContainerRoot(h, rec, func(ctr *fscopy.Root) error {
			info, err := ctr.Lstat(p)
			if fscopy.IsNotExist(err) {
				return notInContainer(rec, p)
			}
			if err != nil {
				return err
			}
			follow := false
			if fscopy.HasTrailingSep(p) {
				// SRC/ must be a directory; a link to one is followed.
				st, err := ctr.Stat(p, true)
				if err != nil || !st.IsDir {
					return fmt.Errorf("%s:%s: %w", rec.Name, p, classed{fscopy.ErrNotDirectory, errdefs.ErrInvalid})
				}
				follow = true
			}
			name := path.Base(path.Clean(p))
			if strings.HasSuffix(p, "/.") {
				name = "."
			}
			statHeader(w, info)
			w.Header().Set("Content-Type", "application/x-tar")
			w.WriteHeader(http.StatusOK)
			if err := writeTar(w, ctr, p, name, follow); err != nil {
				// The status is sent: the client sees a short archive.
				fmt.Fprintf(os.Stderr, "berth: archive of %s:%s: %v\n", rec.Name, p, err)
			}
			return nil
		})
	})
}

// archivePut is PUT /containers/{id}/archive (docker cp SRC
// CONTAINER:DEST): the body, a tar archive the CLI has named for its
// place, is extracted into the directory path=; files belong to the
// container's root unless copyUIDGID (docker cp -a) keeps the archive's.
func (s *apiServer) archivePut(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Root != nil && spec.Root.Readonly {
			return fmt.Errorf("container rootfs is marked read-only: %w", errdefs.ErrConflict)
		}
		owner := fscopy.FixedOwner(0, 0)
		if boolParam(r, "copyUIDGID") {
			owner = fscopy.KeepOwner
		}
		return withContainerRoot(h, rec, func(ctr *fscopy.Root) error {
			st, err := ctr.Stat(p, true)
			if fscopy.IsNotExist(err) {
				return notInContainer(rec, p)
			}
			if err != nil {
				return err
			}
			if !st.IsDir {
				return fmt.Errorf("extraction point is not a directory: %w", errdefs.ErrInvalid)
			}
			if err := ctr.ExtractTar(tar.NewReader(r.Body), p, owner); err != nil {
				return classed{err, errdefs.ErrInvalid}
			}
			w.WriteHeader(http.StatusOK)
			return nil
		})
	})
}

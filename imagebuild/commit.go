package imagebuild

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions are berth commit's.
type CommitOptions struct {
	Message   string   // -m: the history comment
	Author    string   // -a
	Changes   []string // -c: Dockerfile instructions applied to the config
	CreatedBy string   // the history's created_by: the container's command
	Ref       string   // the new image's name; "" for none
	TmpDir    string
	// MapOwner, when set, gives the layer's owner of a file that the
	// upper directory gives to uid and gid: a container with a user
	// namespace keeps host ids there (see rewriteOwners).
	MapOwner func(uid, gid int) (int, int)
}

// commitChanges are the instructions berth commit -c takes, as Docker.
var commitChanges = map[string]bool{"cmd": true, "entrypoint": true, "env": true, "expose": true, "label": true,
	"onbuild": true, "user": true, "volume": true, "workdir": true, "stopsignal": true, "healthcheck": true, "shell": true}

// Commit makes an image of a container: img (the container's image)
// plus the container's overlay upper directory as one layer, with o's
// changes to the config. A container that changed nothing gets an image
// with no new layer.
func Commit(ctx context.Context, st Store, img imagestore.Image, upper string, o CommitOptions) (imagestore.Image, error) {
	df, err := Parse("--change", strings.NewReader("FROM scratch\n"+strings.Join(o.Changes, "\n")+"\n"))
	if err != nil {
		return imagestore.Image{}, err
	}
	b := &builder{ctx: ctx, st: st, df: df, lex: nil, metaOnly: true, o: Options{TmpDir: o.TmpDir}}
	b.lex = newLex(df)
	s := &stage{img: &img, cfg: img.Config, args: map[string]string{}}
	s.cfg.Config.Env = append([]string(nil), img.Config.Config.Env...)
	s.cfg.Config.Labels = copyMap(img.Config.Config.Labels)
	s.cfg.History = append([]ocispec.History(nil), img.Config.History...)
	b.useExtra(s, img)
	for _, c := range df.Stages[0].Commands {
		if !commitChanges[strings.ToLower(c.Name())] {
			return imagestore.Image{}, fmt.Errorf("berth commit --change: %s is not a change commit accepts (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, …): %w",
				strings.ToUpper(c.Name()), errdefs.ErrInvalid)
		}
		if w, ok := c.(*instructions.WorkdirCommand); ok {
			s.cfg.Config.WorkingDir = w.Path
			continue
		}
		if err := b.command(s, c); err != nil {
			return imagestore.Image{}, err
		}
	}
	lower, err := b.imageView(&img)
	if err != nil {
		return imagestore.Image{}, err
	}
	defer lower.close()
	f, err := b.tempFile()
	if err != nil {
		return imagestore.Image{}, err
	}
	defer f.Close()
	n, err := diffUpperOwners(upper, lower, f, o.MapOwner)
	if err != nil {
		return imagestore.Image{}, err
	}
	now := time.Now().UTC()
	s.cfg.Created = &now
	if o.Author != "" {
		s.cfg.Author = o.Author
	}
	s.cfg.History = append(s.cfg.History, ocispec.History{Created: &now, CreatedBy: o.CreatedBy, Comment: o.Message, Author: o.Author, EmptyLayer: n == 0})
	co := imagestore.CommitOptions{Parent: &img, Config: s.cfg, DockerConfig: s.extraMap()}
	if n > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return imagestore.Image{}, err
		}
		co.Layer = f
	}
	if o.Ref != "" {
		ref, err := imagestore.ParseReference(o.Ref)
		if err != nil {
			return imagestore.Image{}, fmt.Errorf("invalid reference format %q: %w", o.Ref, errdefs.ErrInvalid)
		}
		co.Ref = ref
	}
	return st.Commit(ctx, co)
}

// diffUpperOwners is diffUpper of the upper directory into out, with
// each entry's owner given by mapOwner when it is set.
func diffUpperOwners(upper string, lower *view, out io.Writer, mapOwner func(uid, gid int) (int, int)) (int, error) {
	if mapOwner == nil {
		return diffUpper(upper, lower, nil, out)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- rewriteOwners(pr, out, mapOwner) }()
	n, err := diffUpper(upper, lower, nil, pw)
	pw.CloseWithError(err)
	if rerr := <-done; err == nil && rerr != nil {
		err = fmt.Errorf("map the owners of the container's changes: %w", rerr)
	}
	return n, err
}

// rewriteOwners copies the tar stream r to w with every header's Uid and
// Gid mapped; names, modes, bodies and PAX records are kept. It reads r
// to its end, so that the writer never blocks.
func rewriteOwners(r io.Reader, w io.Writer, mapOwner func(uid, gid int) (int, int)) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			io.Copy(io.Discard, r)
			return err
		}
		h.Uid, h.Gid = mapOwner(h.Uid, h.Gid)
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			io.Copy(io.Discard, r)
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			io.Copy(io.Discard, r)
			return err
		}
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

func (g *globalOptions) openStore(c *cobra.Command) (*imagestore.Store, error) {
	warned := map[string]bool{}
	return imagestore.Open(g.root, imagestore.Options{
		Warn: func(msg string) {
			if !warned[msg] {
				warned[msg] = true
				fmt.Fprintf(c.ErrOrStderr(), "berth: warning: %s\n", msg)
			}
		},
		InUse: g.imageUser,
	})
}

// imageUser names a container that uses image id, running ones first.
func (g *globalOptions) imageUser(id digest.Digest) (string, bool) {
	cs, err := machine.OpenContainers(g.root)
	if err != nil {
		return "", false
	}
	recs, _ := cs.List()
	user := ""
	for _, r := range recs {
		if r.ImageID != id.String() {
			continue
		}
		if r.IsRunning() || r.State.Status == machine.StatusRestarting {
			return machine.ShortID(r.ID), true
		}
		user = machine.ShortID(r.ID)
	}
	return user, false
}

func newImageCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"list"}
	rm := newRmiCommand(g)
	rm.Use, rm.Aliases = "rm [OPTIONS] IMAGE [IMAGE...]", []string{"remove"}
	c.AddCommand(newImportCommand(g), ls, rm, newImageInspectCommand(g), newTagCommand(g), newPushCommand(g), newPullCommand(g),
		newHistoryCommand(g), newImagePruneCommand(g), newSaveCommand(g), newLoadCommand(g), newFsckCommand(g))
	return c
}

func newImportCommand(g *globalOptions) *cobra.Command {
	var message string
	var changes []string
	c := &cobra.Command{
		Use:   "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
		Short: "Make a one-layer image from a root filesystem tarball (plain or gzip)",
		Args:  rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			ref, opts, err := importOptions(name, message, changes)
			if err != nil {
				return usageError{err}
			}
			var in io.Reader = c.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			img, err := s.Import(c.Context(), in, ref, opts)
			if err != nil {
				return err
			}
			emitImport(img)
			fmt.Fprintln(c.OutOrStdout(), img.ID)
			return nil
		},
	}
	c.Flags().StringVarP(&message, "message", "m", "", "commit message recorded in the image history")
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, "Apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, USER, WORKDIR, VOLUME, EXPOSE, LABEL")
	return c
}

// imageRow is one line of `berth images`, with Docker's field names.
type imageRow struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedAt    string
	CreatedSince string
	Size         string
	VirtualSize  string
	Containers   string
}

func newImagesCommand(g *globalOptions) *cobra.Command {
	var quiet, noTrunc, all, digests bool
	var format string
	var filters []string
	c := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  rangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			match, err := imageFilter(filters)
			if err != nil {
				return usageError{err}
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			imgs, err := s.List(c.Context())
			if err != nil {
				return err
			}
			table := "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			if digests {
				table = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			}
			if quiet {
				format = "{{.ID}}"
			}
			f, err := newFormatter(c.OutOrStdout(), format, table,
				map[string]string{"ID": "IMAGE ID", "CreatedSince": "CREATED"})
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, img := range imgs {
				if img.Intermediate && len(img.Names) == 0 && !all {
					continue // a build step's image (the layer cache), as docker images hides them
				}
				for _, row := range imageRows([]imagestore.Image{img}, noTrunc) {
					if len(args) == 1 && !matchRepo(row, args[0]) || !match(img, row) {
						continue
					}
					if quiet {
						if seen[row.ID] {
							continue
						}
						seen[row.ID] = true
					}
					if err := f.row(row); err != nil {
						return err
					}
				}
			}
			return f.flush()
		},
	}
	c.Flags().BoolVar(&digests, "digests", false, "show digests (the manifest's: for a pulled image the registry's, of the platform's image)")
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter output: dangling=true|false, reference=PATTERN, label=KEY[=VALUE]")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	c.Flags().BoolVarP(&all, "all", "a", false, "show all images (default hides the intermediate images of builds)")
	c.Flags().StringVar(&format, "format", "", "output format: table, json, 'table TEMPLATE' or a Go template")
	return c
}

// imageRows flattens images into one row per name, with a <none> row for
// a dangling image, as docker images does.
func imageRows(imgs []imagestore.Image, noTrunc bool) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		id := img.ID.String()
		if !noTrunc {
			id = img.ID.Encoded()[:12]
		}
		base := imageRow{ID: id, Repository: "<none>", Tag: "<none>", Digest: img.Manifest.String(), Containers: "N/A",
			Size: units.HumanSizeWithPrecision(float64(img.Size), 3)}
		base.VirtualSize = base.Size
		if t := img.Config.Created; t != nil {
			base.CreatedAt = t.Local().Format("2006-01-02 15:04:05 -0700 MST")
			base.CreatedSince = units.HumanDuration(time.Since(*t)) + " ago"
		}
		if len(img.Names) == 0 {
			rows = append(rows, base)
		}
		for _, n := range img.Names {
			r := base
			if ref, err := imagestore.ParseReference(n); err == nil {
				r.Repository, r.Tag = ref.Name, ref.Tag
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// matchRepo filters `berth images REPO[:TAG]`.
func matchRepo(row imageRow, arg string) bool {
	name, tag, hasTag := strings.Cut(arg, ":")
	return row.Repository == name && (!hasTag || row.Tag == tag)
}

func newRmiCommand(g *globalOptions) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			var failed error
			for _, a := range args {
				res, err := s.Remove(c.Context(), a, force)
				if err != nil {
					// Like docker rmi: report each failure, go on, fail at the end.
					fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", err)
					failed = exitCodeError{exitError}
					continue
				}
				for _, n := range res.Untagged {
					fmt.Fprintf(c.OutOrStdout(), "Untagged: %s\n", n)
					emit("untag", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
				}
				for _, d := range res.Deleted {
					fmt.Fprintf(c.OutOrStdout(), "Deleted: %s\n", d)
					emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
				}
			}
			return failed
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "remove the image even when several names refer to it, or a stopped container uses it (it then stays, untagged)")
	return c
}

// imageInspect is Docker's image inspect shape, where it maps.
type imageInspect struct {
	ID           string `json:"Id"`
	RepoTags     []string
	RepoDigests  []string
	Created      string
	Comment      string
	Config       any
	Architecture string
	Os           string
	Size         int64
	GraphDriver  struct {
		Name string
		Data map[string]string
	}
	RootFS struct {
		Type   string
		Layers []string
	}
}

func newImageInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Show details of one or more images",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			var out []any
			for _, a := range args {
				img, err := s.Get(c.Context(), a)
				if err != nil {
					return err
				}
				out = append(out, inspectImage(s, img))
			}
			// Templates see Docker's JSON names ({{.Id}}), as for
			// containers.
			return printInspect(c, out, format)
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "", "format the output with a Go template, or json")
	return c
}

func inspectImage(s *imagestore.Store, img imagestore.Image) imageInspect {
	o := imageInspect{ID: img.ID.String(), RepoTags: img.Names, RepoDigests: []string{}, Config: img.Config.Config,
		Architecture: img.Config.Architecture, Os: img.Config.OS, Size: img.Size}
	if o.RepoTags == nil {
		o.RepoTags = []string{}
	}
	if img.Config.Created != nil {
		o.Created = img.Config.Created.Format(time.RFC3339Nano)
	}
	if h := img.Config.History; len(h) > 0 {
		o.Comment = h[len(h)-1].Comment
	}
	o.RootFS.Type = "layers"
	for _, d := range img.DiffIDs() {
		o.RootFS.Layers = append(o.RootFS.Layers, d.String())
	}
	// The unpacked layers in overlayfs lowerdir order (top first), as
	// Docker's overlay2 driver reports them.
	chains := img.ChainIDs()
	dirs := make([]string, len(chains))
	for i, ch := range chains {
		dirs[len(chains)-1-i] = s.LayerPath(ch)
	}
	o.GraphDriver.Name = "overlay"
	o.GraphDriver.Data = map[string]string{"LowerDir": strings.Join(dirs, ":")}
	return o
}

// importOptions are berth import's (and docker import's) reference,
// history message and Dockerfile changes as the store takes them: name
// may be empty (an untagged image), never a digest.
func importOptions(name, message string, changes []string) (imagestore.Reference, imagestore.ImportOptions, error) {
	ref := imagestore.Reference{}
	if name != "" {
		r, err := imagestore.ParseReference(name)
		if err != nil {
			return ref, imagestore.ImportOptions{}, err
		}
		if r.Digest != "" {
			return ref, imagestore.ImportOptions{}, fmt.Errorf("import %s: a digest cannot be given, it is computed: %w", name, errdefs.ErrInvalid)
		}
		ref = r
	}
	opts := imagestore.ImportOptions{Message: message}
	if len(changes) > 0 {
		opts.Config = &ocispec.ImageConfig{}
		if err := applyChanges(opts.Config, changes); err != nil { // importchange.go
			return ref, opts, err
		}
	}
	return ref, opts, nil
}

// emitImport records an import in the journal (berth events).
func emitImport(img imagestore.Image) {
	emit("import", journal.Field{Name: "BERTH_IMAGE_ID", Value: img.ID.String()},
		journal.Field{Name: "BERTH_IMAGE_REF", Value: strings.Join(img.Names, ",")})
}

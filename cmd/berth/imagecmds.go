package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// historyRow is one line of `berth image history`, with Docker's names.
type historyRow struct {
	ID           string
	CreatedAt    string
	CreatedSince string
	CreatedBy    string
	Size         string
	Comment      string
}

func newHistoryCommand(g *globalOptions) *cobra.Command {
	var noTrunc, quiet, human bool
	var format string
	c := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			img, err := s.Get(c.Context(), args[0])
			if err != nil {
				return err
			}
			hist, err := s.History(img)
			if err != nil {
				return err
			}
			if quiet {
				format = "{{.ID}}"
			}
			f, err := newFormatter(c.OutOrStdout(), format, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
				map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED"})
			if err != nil {
				return err
			}
			for _, r := range historyRows(img, hist, noTrunc, human, time.Now()) {
				if err := f.row(r); err != nil {
					return err
				}
			}
			return f.flush()
		},
	}
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	c.Flags().BoolVarP(&human, "human", "H", true, "print sizes and dates in human readable format")
	c.Flags().StringVar(&format, "format", "", "output format: table, json, 'table TEMPLATE' or a Go template")
	return c
}

// historyRows renders an image's history as docker history does: the
// newest step carries the image's ID, older ones <missing> (berth keeps
// no intermediate images), CREATED BY cut at 45 characters.
func historyRows(img imagestore.Image, hist []imagestore.HistoryEntry, noTrunc, human bool, now time.Time) []historyRow {
	var rows []historyRow
	for i, h := range hist {
		r := historyRow{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if i == 0 {
			r.ID = img.ID.String()
			if !noTrunc {
				r.ID = img.ID.Encoded()[:12]
			}
		}
		if h.Created != nil {
			r.CreatedAt = h.Created.Format(time.RFC3339)
			r.CreatedSince = units.HumanDuration(now.Sub(*h.Created)) + " ago"
			if !human {
				r.CreatedSince = r.CreatedAt
			}
		} else {
			r.CreatedSince = "N/A"
		}
		r.Size = units.HumanSizeWithPrecision(float64(h.Size), 3)
		if !human {
			r.Size = fmt.Sprint(h.Size)
		}
		if !noTrunc {
			r.CreatedBy = ellipsis(strings.ReplaceAll(r.CreatedBy, "\t", " "), 45)
		}
		rows = append(rows, r)
	}
	return rows
}

// ellipsis cuts s to at most n characters, the last one "…".
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newImagePruneCommand(g *globalOptions) *cobra.Command {
	var all, force bool
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Long: `Remove dangling images (no name, no container using them), or with -a
every image that no container uses. Prints what was untagged and deleted
and the space reclaimed, as docker image prune does.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			warning := "WARNING! This will remove all dangling images."
			if all {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !force && !confirm(c, warning) {
				return nil
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			res, err := s.Prune(c.Context(), all)
			out := c.OutOrStdout()
			if len(res.Untagged)+len(res.Deleted) > 0 {
				fmt.Fprintln(out, "Deleted Images:")
				for _, n := range res.Untagged {
					fmt.Fprintf(out, "untagged: %s\n", n)
					emit("untag", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
				}
				for _, d := range res.Deleted {
					fmt.Fprintf(out, "deleted: %s\n", d)
					emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(res.Reclaimed), 3))
			return err
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return c
}

func newSystemCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Manage berth",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	c.AddCommand(newSystemDfCommand(g), newSystemPruneCommand(g), newSystemCheckCommand(g), newSystemGCCommand(g), newSystemServiceCommand(g)) // system.go, check.go, apiservice.go
	return c
}

// dfRow is one line of `berth system df`, with Docker's names.
type dfRow struct {
	Type        string
	TotalCount  string
	Active      string
	Size        string
	Reclaimable string
}

// dfImageRow, dfContainerRow and dfVolumeRow are the lines of
// `berth system df -v`.
type dfImageRow struct {
	Repository, Tag, ID, CreatedSince, Size, SharedSize, UniqueSize, Containers string
}

type dfContainerRow struct {
	ID, Image, Command, LocalVolumes, Size, RunningFor, Status, Names string
}

type dfVolumeRow struct {
	Name, Links, Size string
}

func newSystemDfCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	var format string
	c := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show disk usage: images, containers, local volumes, build cache",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			u, err := measureDiskUsage(c, g)
			if err != nil {
				return err
			}
			s, du, recs, volList := u.store, u.du, u.recs, u.vols
			ctrSizes, volSizes, volLinks, usedBy := u.ctrSizes, u.volSizes, u.volLinks, u.usedBy
			human := func(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
			pct := func(part, whole int64) string {
				if whole == 0 {
					return human(part)
				}
				return fmt.Sprintf("%s (%d%%)", human(part), part*100/whole)
			}

			// Images: active ones are those a container uses.
			var active []imagestore.Image
			for _, u := range du.Images {
				if usedBy[u.ID.String()] > 0 {
					active = append(active, u.Image)
				}
			}
			activeSize := du.SizeOf(s, active)

			// Containers: their writable layers.
			var ctrSize, ctrReclaim int64
			ctrActive := 0
			for _, r := range recs {
				ctrSize += ctrSizes[r.ID]
				if r.IsRunning() {
					ctrActive++
				} else {
					ctrReclaim += ctrSizes[r.ID]
				}
			}
			// Volumes.
			var volSize, volReclaim int64
			volActive := 0
			for _, v := range volList {
				volSize += volSizes[v.Name]
				if volLinks[v.Name] > 0 {
					volActive++
				} else {
					volReclaim += volSizes[v.Name]
				}
			}

			out := c.OutOrStdout()
			if verbose {
				return dfVerbose(c, format, du, recs, ctrSizes, volList, volSizes, volLinks, usedBy)
			}
			rows := []dfRow{
				{"Images", fmt.Sprint(len(du.Images)), fmt.Sprint(len(active)), human(du.Total), pct(du.Total-activeSize, du.Total)},
				{"Containers", fmt.Sprint(len(recs)), fmt.Sprint(ctrActive), human(ctrSize), pct(ctrReclaim, ctrSize)},
				{"Local Volumes", fmt.Sprint(len(volList)), fmt.Sprint(volActive), human(volSize), pct(volReclaim, volSize)},
				{"Build Cache", "0", "0", "0B", "0B"},
			}
			f, err := newFormatter(out, format, "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
				map[string]string{"TotalCount": "TOTAL"})
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := f.row(r); err != nil {
					return err
				}
			}
			return f.flush()
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "show detailed information on space usage")
	c.Flags().StringVar(&format, "format", "", "output format: table, json, 'table TEMPLATE' or a Go template")
	return c
}

// diskUsage is what berth system df (and the API's GET /system/df)
// measures: the images' content, each container's writable layer, each
// volume's tree, and who uses which.
type diskUsage struct {
	store    *imagestore.Store
	du       imagestore.DiskUsage
	recs     []*machine.Container
	ctrSizes map[string]int64 // container ID → its upper directory's size
	vols     []machine.Volume
	volSizes map[string]int64 // volume name → its tree's size
	volLinks map[string]int   // volume name → containers that mount it
	usedBy   map[string]int   // image ID → containers made from it
}

// measureDiskUsage measures the store, the containers and the volumes
// under g's root; directories are walked, so it takes a moment on a big
// store.
func measureDiskUsage(c *cobra.Command, g *globalOptions) (*diskUsage, error) {
	s, err := g.openStore(c)
	if err != nil {
		return nil, err
	}
	du, err := s.DiskUsage(c.Context())
	if err != nil {
		return nil, err
	}
	cs, err := machine.OpenContainers(g.root)
	if err != nil {
		return nil, err
	}
	recs, err := cs.List()
	if err != nil {
		return nil, err
	}
	vols, err := machine.OpenVolumes(g.root)
	if err != nil {
		return nil, err
	}
	volList, err := vols.List()
	if err != nil {
		return nil, err
	}
	u := &diskUsage{store: s, du: du, recs: recs, vols: volList, ctrSizes: map[string]int64{},
		volSizes: map[string]int64{}, volLinks: map[string]int{}, usedBy: map[string]int{}}
	for _, r := range recs {
		u.usedBy[r.ImageID]++
		u.ctrSizes[r.ID] = imagestore.DirSize(cs.Dir(r.ID) + "/upper")
		for _, m := range r.Options.Mounts {
			if m.Type == machine.MountVolume {
				u.volLinks[m.Source]++
			}
		}
	}
	for _, v := range volList {
		u.volSizes[v.Name] = imagestore.DirSize(vols.Path(v.Name))
	}
	return u, nil
}

// dfVerbose prints system df -v: a table per kind, or with --format json
// one JSON object with the lists, as Docker does.
func dfVerbose(c *cobra.Command, format string, du imagestore.DiskUsage, recs []*machine.Container,
	ctrSizes map[string]int64, vols []machine.Volume, volSizes map[string]int64, volLinks map[string]int, usedBy map[string]int) error {
	human := func(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
	var images []dfImageRow
	for _, u := range du.Images {
		base := dfImageRow{Repository: "<none>", Tag: "<none>", ID: u.ID.Encoded()[:12], Size: human(u.DiskSize),
			SharedSize: human(u.SharedSize), UniqueSize: human(u.UniqueSize), Containers: fmt.Sprint(usedBy[u.ID.String()])}
		if t := u.Config.Created; t != nil {
			base.CreatedSince = units.HumanDuration(time.Since(*t)) + " ago"
		}
		if len(u.Names) == 0 {
			images = append(images, base)
		}
		for _, n := range u.Names {
			r := base
			if ref, err := imagestore.ParseReference(n); err == nil {
				r.Repository, r.Tag = ref.Name, ref.Tag
			}
			images = append(images, r)
		}
	}
	var ctrs []dfContainerRow
	for _, r := range recs {
		nvol := 0
		for _, m := range r.Options.Mounts {
			if m.Type == machine.MountVolume {
				nvol++
			}
		}
		status := r.State.Status
		if r.IsRunning() {
			status = "Up"
		}
		ctrs = append(ctrs, dfContainerRow{ID: machine.ShortID(r.ID), Image: r.Image,
			Command: fmt.Sprintf("%q", ellipsis(strings.Join(r.Options.Cmd, " "), 20)), LocalVolumes: fmt.Sprint(nvol),
			Size: human(ctrSizes[r.ID]), RunningFor: units.HumanDuration(time.Since(r.Created)) + " ago", Status: status, Names: r.Name})
	}
	var volRows []dfVolumeRow
	for _, v := range vols {
		volRows = append(volRows, dfVolumeRow{Name: v.Name, Links: fmt.Sprint(volLinks[v.Name]), Size: human(volSizes[v.Name])})
	}
	out := c.OutOrStdout()
	if format == "json" {
		b, err := json.Marshal(struct {
			Images     []dfImageRow
			Containers []dfContainerRow
			Volumes    []dfVolumeRow
			BuildCache []struct{}
		}{orEmpty(images), orEmpty(ctrs), orEmpty(volRows), []struct{}{}})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	if format != "" {
		return usageError{fmt.Errorf("system df -v: --format takes only json")}
	}
	section := func(title, table string, names map[string]string, rows []any) error {
		fmt.Fprintf(out, "%s\n\n", title)
		f, err := newFormatter(out, "", table, names)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := f.row(r); err != nil {
				return err
			}
		}
		if err := f.flush(); err != nil {
			return err
		}
		fmt.Fprintln(out)
		return nil
	}
	if err := section("Images space usage:", "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
		map[string]string{"ID": "IMAGE ID", "CreatedSince": "CREATED"}, anys(images)); err != nil {
		return err
	}
	if err := section("Containers space usage:", "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
		map[string]string{"ID": "CONTAINER ID", "RunningFor": "CREATED"}, anys(ctrs)); err != nil {
		return err
	}
	if err := section("Local Volumes space usage:", "{{.Name}}\t{{.Links}}\t{{.Size}}",
		map[string]string{"Name": "VOLUME NAME"}, anys(volRows)); err != nil {
		return err
	}
	fmt.Fprintf(out, "Build cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n")
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

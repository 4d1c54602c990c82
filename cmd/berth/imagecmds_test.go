package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImageFilter(t *testing.T) {
	named := imagestore.Image{Names: []string{"127.0.0.1:5000/it/bb:1"}}
	named.Config.Config.Labels = map[string]string{"tier": "web", "beta": ""}
	dangling := imagestore.Image{}
	namedRow := imageRow{Repository: "127.0.0.1:5000/it/bb", Tag: "1"}
	noneRow := imageRow{Repository: "<none>", Tag: "<none>"}
	for _, tc := range []struct {
		filters      []string
		named, dangl bool
		err          string
	}{
		{nil, true, true, ""},
		{[]string{"dangling=true"}, false, true, ""},
		{[]string{"dangling=false"}, true, false, ""},
		{[]string{"reference=127.0.0.1:5000/it/*"}, true, false, ""},
		{[]string{"reference=127.0.0.1:5000/it/bb:1"}, true, false, ""},
		{[]string{"reference=127.0.0.1:5000/it/bb:2"}, false, false, ""},
		{[]string{"reference=*/bb"}, false, false, ""},
		{[]string{"reference=other", "reference=*/*/bb"}, true, false, ""},
		{[]string{"label=tier"}, true, false, ""},
		{[]string{"label=tier=web", "dangling=false"}, true, false, ""},
		{[]string{"label=tier=db"}, false, false, ""},
		{[]string{"label=beta="}, true, false, ""},
		{[]string{"dangling=maybe"}, false, false, "invalid filter 'dangling=maybe'"},
		{[]string{"before=x"}, false, false, "invalid filter 'before'"},
		{[]string{"dangling"}, false, false, "bad format of filter"},
		{[]string{"reference=[x"}, false, false, "invalid filter 'reference=[x'"},
	} {
		match, err := imageFilter(tc.filters)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.filters, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		if got := match(named, namedRow); got != tc.named {
			t.Errorf("%v on a named image: %v, want %v", tc.filters, got, tc.named)
		}
		if got := match(dangling, noneRow); got != tc.dangl {
			t.Errorf("%v on a dangling image: %v, want %v", tc.filters, got, tc.dangl)
		}
	}
}

func TestHistoryRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := now.Add(-72 * time.Hour)
	img := imagestore.Image{ID: digest.Digest("sha256:" + strings.Repeat("ab", 32))}
	hist := []imagestore.HistoryEntry{
		{History: ocispec.History{Created: &now, CreatedBy: `/bin/sh -c #(nop)  CMD ["sh"]`, EmptyLayer: true}},
		{History: ocispec.History{Created: &old, CreatedBy: "/bin/sh -c #(nop) ADD file:4a4d8fbb8a6f2ea2fbd2c8d4e5b3 in / ", Comment: "base"}, Size: 4_260_000},
	}
	rows := historyRows(img, hist, false, true, now)
	want := []historyRow{
		{ID: "abababababab", CreatedAt: now.Format(time.RFC3339), CreatedSince: "Less than a second ago", CreatedBy: `/bin/sh -c #(nop)  CMD ["sh"]`, Size: "0B"},
		{ID: "<missing>", CreatedAt: old.Format(time.RFC3339), CreatedSince: "3 days ago", CreatedBy: "/bin/sh -c #(nop) ADD file:4a4d8fbb8a6f2ea2f…", Size: "4.26MB", Comment: "base"},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, rows[i], want[i])
		}
	}
	full := historyRows(img, hist, true, false, now)
	if full[0].ID != img.ID.String() || full[1].CreatedBy != hist[1].CreatedBy || full[1].Size != "4260000" || full[1].CreatedSince != full[1].CreatedAt {
		t.Errorf("--no-trunc -H=false rows: %+v", full)
	}
}

// TestImageCommandsCLI runs history, images --digests/--filter, image
// prune and system df in-process on a private root.
func TestImageCommandsCLI(t *testing.T) {
	root := t.TempDir()
	tarball := writeRootfs(t)
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, stderr := run(t, root, args...)
		if code != 0 {
			t.Fatalf("berth %v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	oldID := strings.TrimSpace(mustRun("import", "-m", "first", tarball, "box:1"))
	newID := strings.TrimSpace(mustRun("import", "-m", "second", tarball, "box:1")) // the first one dangles
	if oldID == newID {
		t.Fatal("two imports made the same image")
	}

	out := mustRun("history", "box:1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "IMAGE ") || !strings.Contains(lines[0], "CREATED BY") ||
		!strings.HasPrefix(lines[1], newID[7:19]+" ") || !strings.Contains(lines[1], "second") {
		t.Errorf("history:\n%s", out)
	}
	var hrow map[string]string
	if err := json.Unmarshal([]byte(mustRun("image", "history", "--format", "json", "--no-trunc", "box:1")), &hrow); err != nil ||
		hrow["ID"] != newID || hrow["Comment"] != "second" {
		t.Errorf("image history --format json: %v %v", hrow, err)
	}

	out = mustRun("images", "--digests")
	if !strings.Contains(strings.Split(out, "\n")[0], "DIGEST") || strings.Count(out, "sha256:") != 2 {
		t.Errorf("images --digests:\n%s", out)
	}
	if out := mustRun("images", "-q", "--no-trunc", "--filter", "dangling=true"); strings.TrimSpace(out) != oldID {
		t.Errorf("images --filter dangling=true: %q, want %s", out, oldID)
	}
	if out := mustRun("image", "ls", "-q", "--no-trunc", "-f", "reference=bo*"); strings.TrimSpace(out) != newID {
		t.Errorf("image ls -f reference=bo*: %q, want %s", out, newID)
	}
	if code, _, stderr := run(t, root, "images", "--filter", "color=red"); code != exitEngine || !strings.Contains(stderr, "invalid filter 'color'") {
		t.Errorf("images --filter color=red: exit %d, %q", code, stderr)
	}

	out = mustRun("system", "df")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[1], "Images ") ||
		!strings.Contains(lines[1], " 2 ") || !strings.Contains(lines[1], "(100%)") || !strings.HasPrefix(lines[4], "Build Cache") {
		t.Errorf("system df:\n%s", out)
	}
	var df map[string]string
	if err := json.Unmarshal([]byte(strings.Split(mustRun("system", "df", "--format", "json"), "\n")[0]), &df); err != nil ||
		df["Type"] != "Images" || df["TotalCount"] != "2" || df["Active"] != "0" {
		t.Errorf("system df --format json: %v %v", df, err)
	}
	if out := mustRun("system", "df", "-v"); !strings.Contains(out, "Images space usage:") || !strings.Contains(out, "SHARED SIZE") ||
		!strings.Contains(out, "box ") {
		t.Errorf("system df -v:\n%s", out)
	}

	// Without -f prune asks, and a "no" leaves everything.
	code, out, _ := run(t, root, "image", "prune")
	if code != 0 || out != "" || len(strings.Fields(mustRun("images", "-q"))) != 2 {
		t.Errorf("image prune without an answer: exit %d, %q", code, out)
	}
	out = mustRun("image", "prune", "-f")
	if !strings.HasPrefix(out, "Deleted Images:\ndeleted: "+oldID+"\n\nTotal reclaimed space: ") || strings.Contains(out, "untagged") {
		t.Errorf("image prune -f:\n%s", out)
	}
	if out := mustRun("image", "prune", "-f"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("second image prune -f: %q", out)
	}
	out = mustRun("image", "prune", "-a", "-f")
	if !strings.Contains(out, "untagged: box:1\ndeleted: "+newID+"\n") {
		t.Errorf("image prune -a -f:\n%s", out)
	}
	if out := mustRun("images", "-q"); out != "" {
		t.Errorf("images after prune -a: %q", out)
	}
}

package integration

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushLayered pushes an image of the offline busybox layer and the
// given extra layers to ref.
func pushLayered(t *testing.T, ref string, extra ...v1.Layer) {
	t.Helper()
	bb, err := tarball.LayerFromFile(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{bb}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func randomLayers(t *testing.T, n int, size int64) []v1.Layer {
	t.Helper()
	var ls []v1.Layer
	for range n {
		l, err := random.Layer(size, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return ls
}

// fsckClean runs berth image fsck and fails t unless it finds nothing.
func fsckClean(t *testing.T, when string) {
	t.Helper()
	r := run(t, "image", "fsck")
	if r.code != 0 || !strings.Contains(r.stdout, ": 0 problems") {
		t.Fatalf("berth image fsck %s: exit %d:\n%s%s", when, r.code, r.stdout, r.stderr)
	}
}

// TestPullKilledAtRandom kills berth pull with SIGKILL at random moments
// until 20 pulls died (a pull that ends first is tried again); after each berth image fsck must find the store
// consistent, and in the end a pull completes and the image runs.
func TestPullKilledAtRandom(t *testing.T) {
	testutil.RequiresTestbed(t)
	startRegistry(t)
	const ref = registryAddr + "/it/crash:1"
	pushLayered(t, ref, randomLayers(t, 4, 8<<20)...)
	run(t, "rmi", "-f", ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref) })

	start := time.Now()
	ok(t, "pull", ref)
	full := time.Since(start)
	fsckClean(t, "after a whole pull")
	seed := time.Now().UnixNano()
	t.Logf("a whole pull takes %v; kill delays drawn with seed %d", full, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	killed := 0
	for i := 0; killed < 20 && i < 150; i++ {
		// Start from nothing every other time, else from what the
		// killed pulls left.
		if i%2 == 0 {
			run(t, "rmi", "-f", ref)
		}
		// A pull resumed from a killed one's layers is shorter: draw
		// its kill from the first third, so that most still land.
		span := full
		if i%2 == 1 {
			span = max(full/3, time.Millisecond)
		}
		delay := time.Duration(rng.Int64N(int64(span)))
		c := exec.Command(binary(t, "BERTH_BIN"), "pull", ref)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.Process.Kill() // SIGKILL
		err := c.Wait()
		if err != nil {
			killed++
		}
		fsckClean(t, fmt.Sprintf("after pull %d, killed after %v (%v)", i, delay, err))
	}
	if killed < 20 {
		t.Errorf("only %d pulls were killed before they ended", killed)
	}
	out := ok(t, "pull", ref)
	if !strings.Contains(out, "Status: ") {
		t.Errorf("the pull after the kills printed:\n%s", out)
	}
	fsckClean(t, "after the last pull")
	ok(t, "run", "--rm", ref, "true")
}

// TestConcurrentPulls runs 10 pulls of three images that share layers at
// once: all succeed, and the store is consistent.
func TestConcurrentPulls(t *testing.T) {
	testutil.RequiresTestbed(t)
	startRegistry(t)
	shared := randomLayers(t, 3, 2<<20)
	refs := []string{registryAddr + "/it/conc-a:1", registryAddr + "/it/conc-b:1", registryAddr + "/it/conc-c:1"}
	pushLayered(t, refs[0], shared...)
	pushLayered(t, refs[1], append(shared[:2:2], randomLayers(t, 1, 2<<20)...)...)
	pushLayered(t, refs[2], append(shared[:1:1], randomLayers(t, 2, 2<<20)...)...)
	for _, r := range refs {
		run(t, "rmi", "-f", r)
		t.Cleanup(func() { run(t, "rmi", "-f", r) })
	}
	var wg sync.WaitGroup
	results := make([]result, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(t, "pull", refs[i%len(refs)])
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("pull %d of %s: exit %d: %s%s", i, refs[i%len(refs)], r.code, r.stdout, r.stderr)
		}
	}
	fsckClean(t, "after 10 concurrent pulls")
	for _, r := range refs {
		ok(t, "image", "inspect", r)
	}
}

package machine

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OOMKills counts the OOM kills in the calling process's memory cgroup:
// `oom_kill` of memory.events on cgroup v2, of memory.oom_control on
// v1. The container's cleanup runs in its unit's cgroup, so this is the
// container's count; 0 when nothing can be read.
func OOMKills() int {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	defer f.Close()
	var v1, v2 string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "":
			v2 = parts[2]
		case hasController(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	if v1 != "" {
		return counter(filepath.Join("/sys/fs/cgroup/memory", v1, "memory.oom_control"), "oom_kill")
	}
	if v2 != "" {
		return counter(filepath.Join("/sys/fs/cgroup", v2, "memory.events"), "oom_kill")
	}
	return 0
}

func hasController(list, c string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == c {
			return true
		}
	}
	return false
}

// counter reads "key N" from a flat-keyed cgroup file.
func counter(path, key string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

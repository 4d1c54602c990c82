package main

import (
	"fmt"
	"net/http"
	"reflect"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/docker/docker/api/types/container"
)

// updateFromAPI maps docker update's body to berth update's changes:
// memory, CPUs (NanoCpus, or CpuQuota over CpuPeriod), the PIDs limit
// and the restart policy. Anything else it sets is refused (berth's
// units have no CPU shares, cpusets or block I/O weights).
func updateFromAPI(cfg container.UpdateConfig) (machine.Update, error) {
	var u machine.Update
	res := cfg.Resources
	if res.Memory != 0 {
		u.Memory = &res.Memory
	}
	switch {
	case res.NanoCPUs != 0:
		n := float64(res.NanoCPUs) / 1e9
		u.CPUs = &n
	case res.CPUQuota > 0 && res.CPUPeriod > 0:
		n := float64(res.CPUQuota) / float64(res.CPUPeriod)
		u.CPUs = &n
	}
	if res.PidsLimit != nil {
		u.PidsLimit = res.PidsLimit
	}
	if cfg.RestartPolicy.Name != "" {
		p := machine.RestartPolicy{Name: string(cfg.RestartPolicy.Name), MaximumRetryCount: cfg.RestartPolicy.MaximumRetryCount}
		u.Restart = &p
	}
	// What is left once the served fields are cleared must be zero (a
	// swap limit the same as the memory's is berth's own).
	rest := res
	rest.Memory, rest.NanoCPUs, rest.CPUQuota, rest.CPUPeriod, rest.PidsLimit = 0, 0, 0, 0, nil
	if rest.MemorySwap == res.Memory || rest.MemorySwap == -1 {
		rest.MemorySwap = 0
	}
	if !reflect.DeepEqual(rest, container.Resources{}) {
		return u, fmt.Errorf("berth update changes --memory, --cpus, --pids-limit and --restart only: %w", errdefs.ErrInvalid)
	}
	if u.IsEmpty() {
		return u, fmt.Errorf("you must provide one or more flags when using this command: %w", errdefs.ErrInvalid)
	}
	return u, nil
}

// containerUpdate is POST /containers/{id}/update (docker update):
// berth update's function.
func (s *apiServer) containerUpdate(w http.ResponseWriter, r *http.Request) {
	var cfg container.UpdateConfig
	if err := decodeBody(r, &cfg); err != nil {
		apiError(w, err)
		return
	}
	u, err := updateFromAPI(cfg)
	if err != nil {
		apiError(w, err)
		return
	}
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	warnings, err := h.update(r.Context(), r.PathValue("id"), u)
	if err != nil {
		apiError(w, err)
		return
	}
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusOK, container.UpdateResponse{Warnings: warnings})
}

// containerRename is POST /containers/{id}/rename?name=NEW (docker
// rename): berth rename's function.
func (s *apiServer) containerRename(w http.ResponseWriter, r *http.Request) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	if err := h.rename(r.PathValue("id"), r.URL.Query().Get("name")); err != nil {
		apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

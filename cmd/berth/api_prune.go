package main

import (
	"fmt"
	"net/http"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	dnetwork "github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// volumePrune is POST /volumes/prune (docker volume prune): berth volume
// prune's function. Anonymous volumes only, unless the filter all=true,
// as Docker since API 1.42; older clients' prune took named ones too.
func (s *apiServer) volumePrune(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		apiError(w, err)
		return
	}
	all := versionLess(requestVersion(r), "1.42")
	for _, v := range f["all"] {
		all = v == "true" || v == "1"
	}
	removed, reclaimed, err := pruneVolumes(s.g.root, all)
	if err != nil {
		apiError(w, err)
		return
	}
	if removed == nil {
		removed = []string{}
	}
	writeJSON(w, http.StatusOK, volume.PruneReport{VolumesDeleted: removed, SpaceReclaimed: uint64(reclaimed)})
}

// networkPrune is POST /networks/prune (docker network prune): the user
// networks no container uses.
func (s *apiServer) networkPrune(w http.ResponseWriter, r *http.Request) {
	removed, err := pruneNetworks(s.g.root)
	if err != nil {
		apiError(w, err)
		return
	}
	if removed == nil {
		removed = []string{}
	}
	writeJSON(w, http.StatusOK, dnetwork.PruneReport{NetworksDeleted: removed})
}

// imageHistory is GET /images/{name}/history (docker history): berth
// history's steps, newest first; the newest carries the image's ID and
// names, older ones <missing>.
func (s *apiServer) imageHistory(w http.ResponseWriter, r *http.Request, name string) {
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	img, err := st.Get(r.Context(), name)
	if err != nil {
		apiError(w, noSuchImage(name, err))
		return
	}
	hist, err := st.History(img)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, historyItems(img, hist))
}

func historyItems(img imagestore.Image, hist []imagestore.HistoryEntry) []image.HistoryResponseItem {
	out := []image.HistoryResponseItem{}
	for i, h := range hist {
		it := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Size: h.Size}
		if i == 0 {
			it.ID, it.Tags = img.ID.String(), img.Names
		}
		if h.Created != nil {
			it.Created = h.Created.Unix()
		}
		out = append(out, it)
	}
	return out
}

// imagePrune is POST /images/prune (docker image prune): berth image
// prune's function: dangling images, or with the filter dangling=false
// (docker image prune -a) every image no container uses.
func (s *apiServer) imagePrune(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		apiError(w, err)
		return
	}
	all := false
	for k, vs := range f {
		if k != "dangling" {
			apiError(w, fmt.Errorf("invalid filter %q: berth prunes images by dangling only: %w", k, errdefs.ErrInvalid))
			return
		}
		for _, v := range vs {
			all = v == "false" || v == "0"
		}
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	res, err := st.Prune(r.Context(), all)
	rep := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}, SpaceReclaimed: uint64(res.Reclaimed)}
	for _, n := range res.Untagged {
		rep.ImagesDeleted = append(rep.ImagesDeleted, image.DeleteResponse{Untagged: n})
		emit("untag", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
	}
	for _, d := range res.Deleted {
		rep.ImagesDeleted = append(rep.ImagesDeleted, image.DeleteResponse{Deleted: d.String()})
		emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
	}
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// buildPrune is POST /build/prune (docker builder prune, and the last
// step of docker system prune). berth's build cache is its build steps'
// images, which have no names: this removes the dangling images that no
// container uses, as docker image prune does (an unnamed commit goes
// too), and reports them as the cache deleted.
func (s *apiServer) buildPrune(w http.ResponseWriter, r *http.Request) {
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	res, err := st.Prune(r.Context(), false)
	rep := build.CachePruneReport{CachesDeleted: []string{}, SpaceReclaimed: uint64(res.Reclaimed)}
	for _, d := range res.Deleted {
		rep.CachesDeleted = append(rep.CachesDeleted, d.String())
		emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
	}
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

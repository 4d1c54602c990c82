package main

import (
	"net/http"

	"github.com/berth/berth/imagestore"
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

package main

import (
	"net/http"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
)

// systemDf is GET /system/df (docker system df [-v]): berth system df's
// measurements (measureDiskUsage) in Docker's shape: the images' content
// (LayersSize counts shared content once), each image's size, shared
// size and containers, each container's writable layer, each volume's
// size and the containers that mount it. berth's build cache is its
// build steps' images, which the image list has: the build cache list is
// empty.
func (s *apiServer) systemDf(w http.ResponseWriter, r *http.Request) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	u, err := measureDiskUsage(h.cmd, s.g)
	if err != nil {
		apiError(w, err)
		return
	}
	out := types.DiskUsage{LayersSize: u.du.Total, Images: []*image.Summary{}, Containers: []*container.Summary{},
		Volumes: []*volume.Volume{}, BuildCache: []*build.CacheRecord{}}
	for _, iu := range u.du.Images {
		sum := image.Summary{ID: iu.ID.String(), RepoTags: iu.Names, RepoDigests: []string{}, Size: iu.DiskSize,
			SharedSize: iu.SharedSize, Containers: int64(u.usedBy[iu.ID.String()]), Labels: iu.Config.Config.Labels}
		if sum.RepoTags == nil {
			sum.RepoTags = []string{}
		}
		if sum.Labels == nil {
			sum.Labels = map[string]string{}
		}
		if t := iu.Config.Created; t != nil {
			sum.Created = t.Unix()
		}
		out.Images = append(out.Images, &sum)
	}
	now := time.Now()
	for _, rec := range u.recs {
		sum := containerSummary(h, h.refresh(r.Context(), rec), now)
		sum.SizeRw = u.ctrSizes[rec.ID]
		out.Containers = append(out.Containers, &sum)
	}
	for _, v := range u.vols {
		av := apiVolume(v)
		av.UsageData = &volume.UsageData{Size: u.volSizes[v.Name], RefCount: int64(u.volLinks[v.Name])}
		out.Volumes = append(out.Volumes, &av)
	}
	writeJSON(w, http.StatusOK, out)
}

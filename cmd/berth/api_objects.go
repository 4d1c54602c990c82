package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/netsetup/network"
	"github.com/docker/docker/api/types/image"
	dnetwork "github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// store opens the image store for one request.
func (s *apiServer) store(r *http.Request) (*imagestore.Store, error) {
	h, err := s.host(r)
	if err != nil {
		return nil, err
	}
	return s.g.openStore(h.cmd)
}

// imageList is GET /images/json (docker images [-a] [--filter]): berth
// images' list, filters (dangling, reference, label) and hiding of the
// build steps' images without all=1. With a reference filter an image
// lists only the names that match, as Docker's.
func (s *apiServer) imageList(w http.ResponseWriter, r *http.Request) {
	filters, err := filterArgs(r)
	if err != nil {
		apiError(w, err)
		return
	}
	match, err := imageFilter(filters)
	if err != nil {
		apiError(w, classed{err, errdefs.ErrInvalid})
		return
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	imgs, err := st.List(r.Context())
	if err != nil {
		apiError(w, err)
		return
	}
	out := []image.Summary{}
	for _, img := range imgs {
		if img.Intermediate && len(img.Names) == 0 && !boolParam(r, "all") {
			continue // a build step's image (the layer cache), as docker images hides them
		}
		var names []string
		hit := false
		for i, row := range imageRows([]imagestore.Image{img}, false) {
			if match(img, row) {
				hit = true
				if len(img.Names) > 0 {
					names = append(names, img.Names[i])
				}
			}
		}
		if !hit {
			continue
		}
		sum := image.Summary{ID: img.ID.String(), RepoTags: names, RepoDigests: []string{}, Size: img.Size,
			SharedSize: -1, Containers: -1, Labels: img.Config.Config.Labels}
		if sum.RepoTags == nil {
			sum.RepoTags = []string{}
		}
		if sum.Labels == nil {
			sum.Labels = map[string]string{}
		}
		if t := img.Config.Created; t != nil {
			sum.Created = t.Unix()
		}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

// imageGet is GET /images/{name}/json (docker image inspect), and
// docker save's GET /images/{name}/get and /images/get?names=.
func (s *apiServer) imageGet(w http.ResponseWriter, r *http.Request) {
	if p := r.PathValue("name"); p == "get" || strings.HasSuffix(p, "/get") {
		names := r.URL.Query()["names"]
		if p != "get" {
			names = []string{strings.TrimSuffix(p, "/get")}
		}
		s.imageSave(w, r, names)
		return
	}
	if name, ok := strings.CutSuffix(r.PathValue("name"), "/history"); ok {
		s.imageHistory(w, r, name)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("name"), "/json")
	if !ok {
		apiError(w, fmt.Errorf("page not found: %w", errdefs.ErrNotFound))
		return
	}
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
	writeJSON(w, http.StatusOK, inspectImage(st, img))
}

// noSuchImage words a missing image as Docker does.
func noSuchImage(name string, err error) error {
	if errdefs.IsNotFound(err) {
		return classed{fmt.Errorf("No such image: %s", name), errdefs.ErrNotFound}
	}
	return err
}

// imageDelete is DELETE /images/{name} (docker rmi).
func (s *apiServer) imageDelete(w http.ResponseWriter, r *http.Request) {
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	name := r.PathValue("name")
	res, err := st.Remove(r.Context(), name, boolParam(r, "force"))
	if err != nil {
		apiError(w, noSuchImage(name, err))
		return
	}
	out := []image.DeleteResponse{}
	for _, n := range res.Untagged {
		out = append(out, image.DeleteResponse{Untagged: n})
		emit("untag", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
	}
	for _, d := range res.Deleted {
		out = append(out, image.DeleteResponse{Deleted: d.String()})
		emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
	}
	writeJSON(w, http.StatusOK, out)
}

// imagePost is POST /images/{name}/tag?repo=R&tag=T (docker tag),
// /images/{name}/push (docker push) and /images/load (docker load).
func (s *apiServer) imagePost(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") == "load" {
		s.imageLoad(w, r)
		return
	}
	if name, ok := strings.CutSuffix(r.PathValue("name"), "/push"); ok {
		s.imagePush(w, r, name)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("name"), "/tag")
	if !ok {
		apiError(w, fmt.Errorf("page not found: berth does not serve POST %s: %w", r.URL.Path, errdefs.ErrNotFound))
		return
	}
	target := r.URL.Query().Get("repo")
	if t := r.URL.Query().Get("tag"); t != "" {
		target += ":" + t
	}
	target = familiarName(target)
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	if err := st.Tag(r.Context(), name, target); err != nil {
		apiError(w, noSuchImage(name, err))
		return
	}
	emit("tag", journal.Field{Name: "BERTH_IMAGE_REF", Value: target})
	w.WriteHeader(http.StatusCreated)
}

// familiarName is an image name as the store keeps it: Docker Hub's in
// Docker's short form (docker.io/library/busybox is busybox), as
// berth pull stores them. The Docker 28 CLI sends docker tag's and
// docker commit's new names fully qualified; berth's names, and what the
// user then types, are the short ones. A name that does not parse is
// left for the store to refuse.
func familiarName(s string) string {
	rr, err := imagestore.ParseRemoteReference(s)
	if err != nil {
		return s
	}
	return rr.Local.String()
}

// progressMessage is one line of Docker's JSON progress stream, which
// the docker CLI draws as its pull progress.
type progressMessage struct {
	Stream         string          `json:"stream,omitempty"`
	Status         string          `json:"status,omitempty"`
	ID             string          `json:"id,omitempty"`
	Progress       string          `json:"progress,omitempty"`
	ProgressDetail *progressDetail `json:"progressDetail,omitempty"`
	Error          string          `json:"error,omitempty"`
	ErrorDetail    *struct {
		Message string `json:"message"`
	} `json:"errorDetail,omitempty"`
}

type progressDetail struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

// imageCreate is POST /images/create?fromImage=NAME&tag=TAG (docker
// pull): the image store's pull, its progress as Docker's JSON stream.
// Errors once streaming has begun are a last message with "error".
func (s *apiServer) imageCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("fromSrc") {
		s.imageImport(w, r)
		return
	}
	ref := q.Get("fromImage")
	if ref == "" {
		apiError(w, fmt.Errorf("no image to pull (fromImage) or import (fromSrc=-): %w", errdefs.ErrInvalid))
		return
	}
	if tag := q.Get("tag"); tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	}
	if _, err := imagestore.ParseRemoteReference(ref); err != nil {
		apiError(w, classed{err, errdefs.ErrInvalid})
		return
	}
	cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
	if err != nil {
		apiError(w, err)
		return
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	send := func(m progressMessage) { jsonLine(w, m) }
	cands, _ := cfg.Candidates(ref)
	for i, cand := range cands {
		err = apiPullOne(r, st, cfg, cand, send)
		if err == nil {
			return
		}
		if !(errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrUnavailable)) || i == len(cands)-1 {
			break
		}
	}
	send(errorMessage(err))
}

func apiPullOne(r *http.Request, st *imagestore.Store, cfg *imagestore.RegistriesConfig, ref string, send func(progressMessage)) error {
	rr, err := imagestore.ParseRemoteReference(ref)
	if err != nil {
		return err
	}
	var before, resolved string
	if img, err := st.Get(r.Context(), rr.Local.String()); err == nil {
		before = img.Manifest.String()
	}
	tag := rr.Local.Tag
	if rr.Local.Digest != "" {
		tag = rr.Local.Digest.String()
	}
	auth, err := clientAuth(r, rr.Registry)
	if err != nil {
		return err
	}
	img, err := st.Pull(r.Context(), ref, imagestore.PullOptions{
		Insecure: cfg.Insecure(rr.Registry),
		Auth:     auth,
		Progress: func(ev imagestore.ProgressEvent) {
			if ev.State == imagestore.PullResolved {
				resolved = ev.Digest.String()
				send(progressMessage{Status: "Pulling from " + rr.Repository, ID: tag})
				return
			}
			id := ev.Digest.Encoded()
			if len(id) > 12 {
				id = id[:12]
			}
			m := progressMessage{Status: ev.State.String(), ID: id}
			switch ev.State {
			case imagestore.PullWaiting:
				m.Status = "Pulling fs layer"
			case imagestore.PullDownloading:
				m.ProgressDetail = &progressDetail{Current: ev.Current, Total: ev.Total}
				m.Progress = progressBar(ev.Current, ev.Total)
			}
			send(m)
		},
	})
	if err != nil {
		return err
	}
	send(progressMessage{Status: "Digest: " + resolved})
	if before == img.Manifest.String() {
		send(progressMessage{Status: "Status: Image is up to date for " + rr.Local.String()})
		return nil
	}
	emit("pull", journal.Field{Name: "BERTH_IMAGE_ID", Value: img.ID.String()},
		journal.Field{Name: "BERTH_IMAGE_REF", Value: rr.Full})
	send(progressMessage{Status: "Status: Downloaded newer image for " + rr.Local.String()})
	return nil
}

// networkList is GET /networks (docker network ls): the rows berth
// network ls/inspect print, which have Docker's shape.
func (s *apiServer) networkList(w http.ResponseWriter, r *http.Request) {
	filter, err := apiObjectFilter(r, "networks", networkFilterKeys)
	if err != nil {
		apiError(w, err)
		return
	}
	all, err := filteredNetworks(s.g.root, filter)
	if err != nil {
		apiError(w, err)
		return
	}
	out := []networkRow{}
	for _, n := range all {
		out = append(out, toRow(s.g.root, n, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *apiServer) networkInspect(w http.ResponseWriter, r *http.Request) {
	n, err := networkStore(s.g.root).Get(r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toRow(s.g.root, n, true))
}

// networkCreate is POST /networks/create (docker network create).
func (s *apiServer) networkCreate(w http.ResponseWriter, r *http.Request) {
	var req dnetwork.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		apiError(w, err)
		return
	}
	if req.Driver != "" && req.Driver != "bridge" {
		apiError(w, fmt.Errorf("network driver %q is not supported: berth has bridge networks: %w", req.Driver, errdefs.ErrInvalid))
		return
	}
	o := network.CreateOptions{Internal: req.Internal, Labels: req.Labels}
	if req.IPAM != nil && len(req.IPAM.Config) > 0 {
		c := req.IPAM.Config[0]
		var err error
		if c.Subnet != "" {
			if o.Subnet, err = netip.ParsePrefix(c.Subnet); err != nil {
				apiError(w, fmt.Errorf("invalid subnet %q: %v: %w", c.Subnet, err, errdefs.ErrInvalid))
				return
			}
		}
		if c.Gateway != "" {
			if o.Gateway, err = netip.ParseAddr(c.Gateway); err != nil {
				apiError(w, fmt.Errorf("invalid gateway %q: %v: %w", c.Gateway, err, errdefs.ErrInvalid))
				return
			}
		}
	}
	n, err := networkStore(s.g.root).Create(req.Name, o, hostRoutes())
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, dnetwork.CreateResponse{ID: n.ID, Warning: ""})
}

func (s *apiServer) networkDelete(w http.ResponseWriter, r *http.Request) {
	if _, err := removeNetwork(s.g.root, r.PathValue("id")); err != nil {
		apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiVolume is v in Docker's shape.
func apiVolume(v machine.Volume) volume.Volume {
	out := volume.Volume{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Labels: v.Labels,
		Scope: v.Scope, CreatedAt: v.CreatedAt.Format(time.RFC3339), Options: map[string]string{}}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	return out
}

func (s *apiServer) volumeList(w http.ResponseWriter, r *http.Request) {
	filter, err := apiObjectFilter(r, "volumes", volumeFilterKeys)
	if err != nil {
		apiError(w, err)
		return
	}
	all, err := filteredVolumes(s.g.root, filter)
	if err != nil {
		apiError(w, err)
		return
	}
	out := volume.ListResponse{Volumes: []*volume.Volume{}, Warnings: []string{}}
	for _, v := range all {
		av := apiVolume(v)
		out.Volumes = append(out.Volumes, &av)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *apiServer) volumeCreate(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateOptions
	if err := decodeBody(r, &req); err != nil {
		apiError(w, err)
		return
	}
	if req.Name == "" {
		req.Name = machine.NewID() // Docker's too: 64 hex digits
	}
	if req.Driver != "" && req.Driver != "local" {
		apiError(w, fmt.Errorf("volume driver %q is not supported: berth has local volumes: %w", req.Driver, errdefs.ErrInvalid))
		return
	}
	vols, err := machine.OpenVolumes(s.g.root)
	if err != nil {
		apiError(w, err)
		return
	}
	v, created, err := vols.Create(req.Name, req.Labels)
	if err != nil {
		apiError(w, err)
		return
	}
	if created {
		emitVolume("create", v.Name)
	}
	writeJSON(w, http.StatusCreated, apiVolume(v))
}

func (s *apiServer) volumeInspect(w http.ResponseWriter, r *http.Request) {
	vols, err := machine.OpenVolumes(s.g.root)
	if err != nil {
		apiError(w, err)
		return
	}
	v, err := vols.Get(r.PathValue("name"))
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiVolume(v))
}

func (s *apiServer) volumeDelete(w http.ResponseWriter, r *http.Request) {
	if err := removeVolume(s.g.root, r.PathValue("name")); err != nil {
		if !(boolParam(r, "force") && errdefs.IsNotFound(err)) {
			apiError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// filterArgs is a request's filters= as the CLI's --filter KEY=VALUE
// arguments, for the filters the CLI and the API share (ps, images).
func filterArgs(r *http.Request) ([]string, error) {
	want, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, err
	}
	var args []string
	for k, vs := range want {
		for _, v := range vs {
			args = append(args, k+"="+v)
		}
	}
	return args, nil
}

// apiObjectFilter is the filters= of GET /networks or /volumes.
func apiObjectFilter(r *http.Request, kind string, keys []string) (objectFilter, error) {
	m, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, err
	}
	f := objectFilter(m)
	return f, f.check(kind, keys)
}

// parseFilters reads Docker's filters query value: {"k":{"v":true}}, or
// the older {"k":["v"]}.
func parseFilters(s string) (map[string][]string, error) {
	out := map[string][]string{}
	if s == "" {
		return out, nil
	}
	var m map[string]map[string]bool
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		for k, vs := range m {
			for v, on := range vs {
				if on {
					out[k] = append(out[k], v)
				}
			}
		}
		return out, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("invalid filters %q: %v: %w", s, err, errdefs.ErrInvalid)
	}
	return out, nil
}

// events is GET /events (docker events): berth's events from the
// journal, one JSON object a line, followed until the client hangs up or
// until= has passed.
func (s *apiServer) events(w http.ResponseWriter, r *http.Request) {
	want, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		apiError(w, err)
		return
	}
	for k := range want {
		if k != "type" && k != "event" && k != "container" && k != "image" && k != "volume" && k != "network" && k != "unit" {
			apiError(w, fmt.Errorf("invalid filter %q: berth filters events by type, event, container, image, volume, network and unit: %w", k, errdefs.ErrInvalid))
			return
		}
	}
	now := time.Now()
	q := journal.Query{Follow: true, Since: now}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			t, err := parseSince(v, now)
			if err != nil {
				apiError(w, classed{err, errdefs.ErrInvalid})
				return
			}
			*p.t = t
		}
	}
	if !q.Until.IsZero() {
		q.Follow = false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	if err := readEvents(r.Context(), q, want, func(ev eventJSON) error { return jsonLine(w, ev) }); err != nil {
		fmt.Fprintf(os.Stderr, "berth: events: %v\n", err)
	}
}

// imageSave streams berth save's Docker archive of names.
func (s *apiServer) imageSave(w http.ResponseWriter, r *http.Request, names []string) {
	if len(names) == 0 {
		apiError(w, fmt.Errorf("no image names given: %w", errdefs.ErrInvalid))
		return
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	for _, n := range names {
		if _, err := st.Get(r.Context(), n); err != nil {
			apiError(w, noSuchImage(n, err))
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := st.Save(r.Context(), w, names, imagestore.DockerArchive); err != nil {
		// Past the headers: the client sees a short archive.
		fmt.Fprintf(os.Stderr, "berth: save %s: %v\n", strings.Join(names, " "), err)
	}
}

// imageLoad is POST /images/load: the body (a Docker or OCI archive,
// not size-limited) is kept in a file, as berth load keeps its stdin,
// and loaded; the answer is Docker's JSON stream.
func (s *apiServer) imageLoad(w http.ResponseWriter, r *http.Request) {
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	f, err := os.CreateTemp("", "berth-load-")
	if err != nil {
		apiError(w, err)
		return
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r.Body)
	f.Close()
	if err != nil {
		apiError(w, fmt.Errorf("read the archive: %w", err))
		return
	}
	names, err := st.Load(r.Context(), f.Name())
	if err != nil && len(names) == 0 {
		apiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	for _, n := range names {
		emit("load", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
		jsonLine(w, progressMessage{Stream: "Loaded image: " + n + "\n"})
	}
	if err != nil {
		jsonLine(w, errorMessage(err))
	}
}

// errorMessage is err as the last message of a JSON stream.
func errorMessage(err error) progressMessage {
	m := progressMessage{Error: err.Error()}
	m.ErrorDetail = &struct {
		Message string `json:"message"`
	}{err.Error()}
	return m
}

// imagePush is POST /images/{name}/push?tag=T (docker push): berth
// push's function; the registry's credentials are berth login's (the
// X-Registry-Auth header is not used).
func (s *apiServer) imagePush(w http.ResponseWriter, r *http.Request, name string) {
	ref := name
	if t := r.URL.Query().Get("tag"); t != "" {
		ref += ":" + t
	}
	rr, err := imagestore.ParseRemoteReference(ref)
	if err != nil {
		apiError(w, classed{err, errdefs.ErrInvalid})
		return
	}
	cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
	if err != nil {
		apiError(w, err)
		return
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	if _, err := st.Get(r.Context(), rr.Local.String()); err != nil {
		apiError(w, noSuchImage(ref, err))
		return
	}
	auth, err := clientAuth(r, rr.Registry)
	if err != nil {
		apiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	jsonLine(w, progressMessage{Status: fmt.Sprintf("The push refers to repository [%s/%s]", rr.Registry, rr.Repository)})
	d, err := st.Push(r.Context(), ref, imagestore.PushOptions{Insecure: cfg.Insecure(rr.Registry), Auth: auth})
	if err != nil {
		jsonLine(w, errorMessage(err))
		return
	}
	emit("push", journal.Field{Name: "BERTH_IMAGE_REF", Value: rr.Full})
	jsonLine(w, progressMessage{Status: fmt.Sprintf("%s: digest: %s", rr.Local.Tag, d)})
}

// networkConnect is POST /networks/{id}/connect (docker network
// connect): berth network connect's function, with its aliases and IPv4
// address.
func (s *apiServer) networkConnect(w http.ResponseWriter, r *http.Request) {
	var req dnetwork.ConnectOptions
	if err := decodeBody(r, &req); err != nil {
		apiError(w, err)
		return
	}
	var cn machine.ConnectedNetwork
	if ep := req.EndpointConfig; ep != nil {
		cn.Aliases = ep.Aliases
		if ep.IPAMConfig != nil {
			if ep.IPAMConfig.IPv6Address != "" {
				apiError(w, fmt.Errorf("berth networks are IPv4 only: %w", errdefs.ErrInvalid))
				return
			}
			cn.IP = ep.IPAMConfig.IPv4Address
		}
	}
	s.networkEndpoint(w, r, func(h *host) error { return connectNetwork(h, r.PathValue("id"), req.Container, cn) })
}

// networkDisconnect is POST /networks/{id}/disconnect.
func (s *apiServer) networkDisconnect(w http.ResponseWriter, r *http.Request) {
	var req dnetwork.DisconnectOptions
	if err := decodeBody(r, &req); err != nil {
		apiError(w, err)
		return
	}
	s.networkEndpoint(w, r, func(h *host) error { return disconnectNetwork(h, r.PathValue("id"), req.Container, req.Force) })
}

func (s *apiServer) networkEndpoint(w http.ResponseWriter, r *http.Request, fn func(h *host) error) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	if err := fn(h); err != nil {
		apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// imageImport is POST /images/create?fromSrc=-&repo=NAME&tag=TAG
// (docker import): berth import's, of the tarball in the request's body
// (a URL is not fetched), with message= and changes=. It answers as
// dockerd does: one JSON line with the new image's ID as its status.
func (s *apiServer) imageImport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "-" {
		apiError(w, fmt.Errorf("import from %q: berth imports the tarball sent with the request only (fromSrc=-): %w", src, errdefs.ErrInvalid))
		return
	}
	name := q.Get("repo")
	if tag := q.Get("tag"); name != "" && tag != "" {
		name += ":" + tag
	}
	ref, opts, err := importOptions(name, q.Get("message"), q["changes"])
	if err != nil {
		apiError(w, classed{err, errdefs.ErrInvalid})
		return
	}
	st, err := s.store(r)
	if err != nil {
		apiError(w, err)
		return
	}
	img, err := st.Import(r.Context(), r.Body, ref, opts)
	if err != nil {
		apiError(w, err)
		return
	}
	emitImport(img)
	w.Header().Set("Content-Type", "application/json")
	jsonLine(w, progressMessage{Status: img.ID.String()})
}

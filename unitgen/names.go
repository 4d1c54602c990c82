package unitgen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The names of what an app's units make and use. Every unit of app A:
//
//	A-S.service, A-S@.service    service S (with replicas, the template
//	                             whose instances A-S@N.service run them)
//	A-net-N.service              creates network N (the berth network A_N)
//	A-vol-V.service              creates volume V (the berth volume A-V)
//	A-pull-S.service             pulls service S's image if it is missing
//	                             (shared by the services with that image)
//	A-build-S.service            builds service S's image
//
// The parser refuses a service whose unit would have the name of one of
// the others (a service "net-back" beside [network.back]).

// InstanceKeys are the keys of a service's containers, as the units and
// `berth __prepare` name them: the service's name, or NAME@1 … NAME@N
// with replicas, numbered with N's width (NAME@01 … NAME@12 for 12), so
// that every instance's container ID is the instance followed by a
// part of the same length (ContainerID): the template unit
// (TemplateUnit) writes it as "%i" and that part.
func InstanceKeys(s *Service) []string {
	if s.Replicas <= 1 {
		return []string{s.Name}
	}
	w := len(strconv.Itoa(s.Replicas))
	keys := make([]string, s.Replicas)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s@%0*d", s.Name, w, i+1)
	}
	return keys
}

// TemplateUnit is the template unit of a service with replicas,
// APP-SERVICE@.service; its instances are ServiceUnit of InstanceKeys.
func TemplateUnit(app, svc string) string { return app + "-" + svc + "@.service" }

// ServiceUnit is the unit of the container of app whose key (from
// InstanceKeys) is key.
func ServiceUnit(app, key string) string { return app + "-" + key + ".service" }

// NetworkUnit is the oneshot unit that creates the app's network name.
func NetworkUnit(app, name string) string { return app + "-net-" + name + ".service" }

// VolumeUnit is the oneshot unit that creates the app's volume name.
func VolumeUnit(app, name string) string { return app + "-vol-" + name + ".service" }

// PullUnit is the oneshot unit that pulls the image of service svc when
// the store lacks it. Services with the same image share one: the unit
// of the first of them in the file (see PullService).
func PullUnit(app, svc string) string { return app + "-pull-" + svc + ".service" }

// PullService is the service whose PullUnit pulls the image of s: the
// first service of the app, in file order, that runs the same image.
func PullService(app *App, s *Service) *Service {
	for _, o := range app.Services {
		if o.Build == nil && o.Image == s.Image {
			return o
		}
	}
	return s
}

// BuildUnit is the oneshot unit that builds the image of service svc.
func BuildUnit(app, svc string) string { return app + "-build-" + svc + ".service" }

// NetworkName is the berth network of the app's network name, as Compose
// names it: APP_NAME.
func NetworkName(app, name string) string { return app + "_" + name }

// VolumeName is the berth volume of the app's named volume name: APP-NAME.
func VolumeName(app, name string) string { return app + "-" + name }

// ContainerName is the name of the container of service s whose key is
// key: APP-SERVICE, or APP-SERVICE-N for replica N.
func ContainerName(app string, s *Service, key string) string {
	if _, n, ok := strings.Cut(key, "@"); ok {
		return app + "-" + s.Name + "-" + n
	}
	return app + "-" + s.Name
}

// ContainerID is the stable container ID of the container of app whose
// key is key, so that its unit can name it before it exists. A
// replica's, key SERVICE@N, is N followed by the service's replicaBase
// (so that its template unit can write it as "%i…"); N's digits make
// the short IDs of the replicas differ.
func ContainerID(app, key string) string {
	if svc, n, ok := strings.Cut(key, "@"); ok {
		return n + replicaBase(app, svc)[:64-len(n)]
	}
	for salt := 0; ; salt++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("berth-app\x00%s\x00%s\x00%d", app, key, salt)))
		id := hex.EncodeToString(sum[:])
		if strings.Trim(id[:12], "0123456789") != "" { // never an all-digit short ID
			return id
		}
	}
}

// replicaBase is the part of the container IDs of service svc's
// replicas after the instance number: 64 hex digits (the replicas use as
// many as their number leaves) with a letter among the first 8, so that
// no short ID is all digits.
func replicaBase(app, svc string) string {
	for salt := 0; ; salt++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("berth-app-replica\x00%s\x00%s\x00%d", app, svc, salt)))
		id := hex.EncodeToString(sum[:])
		if strings.Trim(id[:8], "0123456789") != "" {
			return id
		}
	}
}

// ServiceImage is the image service s runs: its `image`, or for a
// `build`, the image the build unit tags, "app-service" in lower case
// (as Compose names it).
func ServiceImage(app string, s *Service) string {
	if s.Build != nil {
		return strings.ToLower(app + "-" + s.Name)
	}
	return s.Image
}

// ServiceNetworks are the networks service s joins: its `networks`, or
// the app's "default".
func ServiceNetworks(s *Service) []ServiceNetwork {
	if len(s.Networks) == 0 {
		return []ServiceNetwork{{Name: "default"}}
	}
	return s.Networks
}

// AppNetworks are the names of the networks the app's units create: the
// declared ones in file order, then "default" when a service joins it
// without declaring it.
func AppNetworks(app *App) []string {
	var out []string
	for _, n := range app.Networks {
		out = append(out, n.Name)
	}
	for _, s := range app.Services {
		if len(s.Networks) == 0 && app.Network("default") == nil {
			return append(out, "default")
		}
	}
	return out
}

// helperUnits are the names of the app's units that are not services'.
func helperUnits(app *App) map[string]string {
	out := map[string]string{}
	for _, n := range AppNetworks(app) {
		out[NetworkUnit(app.Name, n)] = fmt.Sprintf("[network.%s]", n)
	}
	for _, v := range app.Volumes {
		out[VolumeUnit(app.Name, v.Name)] = fmt.Sprintf("[volume.%s]", v.Name)
	}
	for _, s := range app.Services {
		if s.Build != nil {
			out[BuildUnit(app.Name, s.Name)] = fmt.Sprintf("the build of service %q", s.Name)
		} else if PullService(app, s) == s {
			out[PullUnit(app.Name, s.Name)] = fmt.Sprintf("the image pull of service %q", s.Name)
		}
	}
	return out
}

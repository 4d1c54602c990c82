package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// applyChanges applies `berth import --change` instructions to cfg, as
// `docker import -c` does: Dockerfile lines of CMD, ENTRYPOINT, ENV,
// USER, WORKDIR, VOLUME, EXPOSE and LABEL, in the JSON or the shell form.
func applyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	for _, ch := range changes {
		instr, rest, _ := strings.Cut(strings.TrimSpace(ch), " ")
		rest = strings.TrimSpace(rest)
		bad := func(why string) error {
			return fmt.Errorf("invalid --change %q: %s: %w", ch, why, errdefs.ErrInvalid)
		}
		if rest == "" {
			return bad("no argument")
		}
		// list is the JSON form ["a","b"], else the words of the line.
		list := func() []string {
			var l []string
			if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &l) == nil {
				return l
			}
			return strings.Fields(rest)
		}
		// command is the JSON form, else the shell form under /bin/sh -c.
		command := func() []string {
			var l []string
			if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &l) == nil {
				return l
			}
			return []string{"/bin/sh", "-c", rest}
		}
		pairs := func() (map[string]string, error) {
			out := map[string]string{}
			for _, w := range list() {
				k, v, ok := strings.Cut(w, "=")
				if !ok || k == "" {
					return nil, bad("want KEY=VALUE")
				}
				out[k] = strings.Trim(v, `"`)
			}
			return out, nil
		}
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd = command()
		case "ENTRYPOINT":
			cfg.Entrypoint = command()
		case "USER":
			cfg.User = rest
		case "WORKDIR":
			cfg.WorkingDir = rest
		case "ENV":
			kv, err := pairs()
			if err != nil {
				return err
			}
			for k, v := range kv {
				cfg.Env = append(cfg.Env, k+"="+v)
			}
		case "LABEL":
			kv, err := pairs()
			if err != nil {
				return err
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for k, v := range kv {
				cfg.Labels[k] = v
			}
		case "VOLUME":
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, p := range list() {
				if !strings.HasPrefix(p, "/") {
					return bad("a volume must be an absolute path")
				}
				cfg.Volumes[p] = struct{}{}
			}
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range list() {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		default:
			return bad("berth import knows CMD, ENTRYPOINT, ENV, USER, WORKDIR, VOLUME, EXPOSE and LABEL")
		}
	}
	return nil
}

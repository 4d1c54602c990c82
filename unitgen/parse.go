package unitgen

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Parse reads one app file and returns its validated model. file is the
// path used in error messages and against whose directory relative host
// paths (bind mounts, env_file, build context) are resolved; pass an
// absolute path to get absolute paths in the model. The app's name is
// file's base name without ".toml" unless the file sets `name = "..."`
// at the top level.
//
// Parse does no I/O. On failure it returns nil and every problem found in
// the file, joined with errors.Join in file order; each is an *Error
// (see Errors). A TOML syntax error stops parsing and is the only error.
func Parse(file string, data []byte) (*App, error) {
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.Position.Line, Column: pe.Position.Col, Msg: "TOML syntax: " + pe.Message}
		}
		return nil, &Error{File: file, Msg: "TOML: " + err.Error()}
	}
	order := map[string]int{}
	for i, k := range md.Keys() {
		if _, ok := order[joinPath(k)]; !ok {
			order[joinPath(k)] = i
		}
	}
	p := &parser{
		errorList: errorList{file: file},
		ix:        indexPositions(data),
		order:     order,
		dir:       path.Dir(file),
		depPos:    map[*Service][]pos{},
		portPaths: map[*Service][][]string{},
	}
	app := p.app(file, doc)
	if err := p.err(); err != nil {
		return nil, err
	}
	return app, nil
}

// parser turns the decoded document into the model, collecting errors.
type parser struct {
	errorList
	ix    posIndex
	order map[string]int // key path → index in the file's key order
	dir   string         // the app file's directory
	// depPos holds, for each service, the position of each entry of its
	// DependsOn (the name in a list, the key in a table), for crossCheck.
	depPos map[*Service][]pos
	// portPaths holds the key path of each entry of a service's Ports.
	portPaths map[*Service][][]string
}

// table is a TOML table at path, with the kind of hints that apply.
type table struct {
	path []string
	m    map[string]any
}

func (t table) at(key string) []string { return append(t.path[:len(t.path):len(t.path)], key) }

// name is how messages name the table: "[service.web]", or "the top
// level".
func (t table) name() string {
	if len(t.path) == 0 {
		return "the top level"
	}
	return "[" + displayPath(t.path) + "]"
}

// displayPath writes a key path as TOML would, quoting keys that are not
// bare.
func displayPath(p []string) string {
	parts := make([]string, len(p))
	for i, k := range p {
		parts[i] = k
		for j := 0; j < len(k); j++ {
			if !isBareKeyChar(k[j]) {
				parts[i] = strconv.Quote(k)
				break
			}
		}
		if k == "" {
			parts[i] = `""`
		}
	}
	return strings.Join(parts, ".")
}

// keys returns t's keys in file order.
func (p *parser) keys(t table) []string {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		oa, okA := p.order[joinPath(t.at(a))]
		ob, okB := p.order[joinPath(t.at(b))]
		switch {
		case okA && okB && oa != ob:
			return oa - ob
		case okA != okB:
			if okA {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// checkKeys reports every key of t that is not in allowed. kind selects
// the Compose hints ("service", "healthcheck", ...).
func (p *parser) checkKeys(t table, allowed []string, kind string) {
	for _, k := range p.keys(t) {
		if slices.Contains(allowed, k) {
			continue
		}
		hint := composeNames[kind][k]
		if hint == "" {
			hint = suggest(k, allowed)
		}
		if hint == "" && kind == "volume options" {
			hint = `the local driver's options are "type", "device" and "o"`
		}
		p.add(p.ix.key(t.at(k)), hint, "unknown key %q in %s", k, t.name())
	}
}

// errAt reports a bad value at the value of path.
func (p *parser) errAt(path []string, pr *problem) {
	p.add(p.ix.val(path), pr.hint, "%s", pr.msg)
}

// keyErr reports a problem at the key of path.
func (p *parser) keyErr(path []string, hint, format string, args ...any) {
	p.add(p.ix.key(path), hint, format, args...)
}

// label names path's key in messages: "memory", "ports[1]",
// "environment.PORT".
func label(path []string, from int) string {
	var b strings.Builder
	for i, k := range path[from:] {
		if _, err := strconv.Atoi(k); err == nil && i > 0 {
			b.WriteString("[" + k + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(displayPath([]string{k}))
	}
	return b.String()
}

// want reports that the value at path has the wrong type.
func (p *parser) want(path []string, from int, what string) {
	p.add(p.ix.val(path), "", "%s must be %s", label(path, from), what)
}

// Typed getters. Each returns ok=false when the key is absent or has the
// wrong type (which it reports). from is where the label of the key
// starts in path: len(t.path) for keys of t.

func (p *parser) str(t table, key, what string) (string, bool) {
	v, ok := t.m[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.want(t.at(key), len(t.path), what)
	}
	return s, ok
}

func (p *parser) boolean(t table, key string) (bool, bool) {
	v, ok := t.m[key]
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		p.want(t.at(key), len(t.path), "true or false")
	}
	return b, ok
}

func (p *parser) integer(t table, key, what string) (int64, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		p.want(t.at(key), len(t.path), what)
	}
	return n, ok
}

func (p *parser) sub(t table, key, what string) (table, bool) {
	v, ok := t.m[key]
	if !ok {
		return table{}, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.want(t.at(key), len(t.path), what)
	}
	return table{path: t.at(key), m: m}, ok
}

// entry reads [KIND.NAME] from the table of all KIND: like sub, but a
// wrong type is reported with the full name ("network.front").
func (p *parser) entry(all table, name string) (table, bool) {
	m, ok := all.m[name].(map[string]any)
	if !ok {
		p.want(all.at(name), 0, "a table")
	}
	return table{path: all.at(name), m: m}, ok
}

// strList reads a list of strings. Each element that is not a string is
// reported; the good ones are returned with their paths.
func (p *parser) strList(t table, key, what string) ([]string, [][]string, bool) {
	v, ok := t.m[key]
	if !ok {
		return nil, nil, false
	}
	list, ok := v.([]any)
	if !ok {
		p.want(t.at(key), len(t.path), what)
		return nil, nil, false
	}
	out := []string{}
	var paths [][]string
	good := true
	for i, e := range list {
		ep := append(t.at(key), strconv.Itoa(i))
		s, ok := e.(string)
		if !ok {
			p.want(ep, len(t.path), "a string")
			good = false
			continue
		}
		out = append(out, s)
		paths = append(paths, ep)
	}
	return out, paths, good
}

// strOrList reads a string (one element) or a list of strings.
func (p *parser) strOrList(t table, key, what string) ([]string, [][]string, bool) {
	if s, ok := t.m[key].(string); ok {
		return []string{s}, [][]string{t.at(key)}, true
	}
	return p.strList(t, key, what)
}

// strMap reads a table of strings.
func (p *parser) strMap(t table, key, what string) (map[string]string, bool) {
	st, ok := p.sub(t, key, what)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, k := range p.keys(st) {
		s, ok := st.m[k].(string)
		if !ok {
			hint := ""
			switch v := st.m[k].(type) {
			case int64, float64, bool:
				hint = fmt.Sprintf("quote it: %s = \"%v\"", displayPath([]string{k}), v)
			}
			p.add(p.ix.val(st.at(k)), hint, "%s must be a string", label(st.at(k), len(t.path)))
			continue
		}
		out[k] = s
	}
	return out, true
}

func (p *parser) app(file string, doc map[string]any) *App {
	top := table{m: doc}
	p.checkKeys(top, topKeys, "top")
	app := &App{File: file, Install: Install{WantedBy: []string{"multi-user.target"}}}

	app.Name = strings.TrimSuffix(path.Base(file), ".toml")
	if name, ok := p.str(top, KeyName, `a string like "myapp"`); ok {
		app.Name = name
		if pr := checkName("app", name); pr != nil {
			p.errAt(top.at(KeyName), pr)
		}
	} else if _, set := doc[KeyName]; !set {
		if pr := checkName("app", app.Name); pr != nil {
			p.add(pos{}, `rename the file or set name = "..." at the top level`, "%s (from the file name)", pr.msg)
		}
	}

	if nets, ok := p.sub(top, KeyNetwork, "a table of [network.NAME] tables"); ok {
		for _, name := range p.keys(nets) {
			if n := p.network(nets, name); n != nil {
				app.Networks = append(app.Networks, n)
			}
		}
	}
	if vols, ok := p.sub(top, KeyVolume, "a table of [volume.NAME] tables"); ok {
		for _, name := range p.keys(vols) {
			if v := p.volume(vols, name); v != nil {
				app.Volumes = append(app.Volumes, v)
			}
		}
	}
	if svcs, ok := p.sub(top, KeyService, "a table of [service.NAME] tables"); ok {
		for _, name := range p.keys(svcs) {
			if s := p.service(app, svcs, name); s != nil {
				app.Services = append(app.Services, s)
			}
		}
	}
	if sv, set := doc[KeyService]; !set || len(app.Services) == 0 && isEmptyTable(sv) {
		p.add(pos{}, "add a [service.NAME] table with an image", "the app has no services")
	}
	if inst, ok := p.sub(top, KeyInstall, "the [install] table"); ok {
		p.checkKeys(inst, installKeys, "install")
		if units, paths, ok := p.strList(inst, KeyWantedBy, `a list of unit names like ["multi-user.target"]`); ok {
			for i, u := range units {
				if pr := checkUnitName(u); pr != nil {
					p.errAt(paths[i], pr)
				}
			}
			app.Install.WantedBy = units
		}
	}
	p.crossCheck(app)
	return app
}

func isEmptyTable(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

func (p *parser) network(nets table, name string) *Network {
	t, ok := p.entry(nets, name)
	if !ok {
		return nil
	}
	if pr := checkName("network", name); pr != nil {
		p.keyErr(t.path, "", "%s", pr.msg)
	}
	p.checkKeys(t, networkKeys, "network")
	n := &Network{Name: name}
	var prefix netip.Prefix
	if s, ok := p.str(t, KeySubnet, `a string like "10.89.1.0/24"`); ok {
		pf, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			p.errAt(t.at(KeySubnet), bad("invalid subnet %q", s).withHint(`use CIDR notation like "10.89.1.0/24"`))
		case pf != pf.Masked():
			p.errAt(t.at(KeySubnet), bad("invalid subnet %q: host bits are set", s).withHint("did you mean %q?", pf.Masked().String()))
		default:
			prefix, n.Subnet = pf, pf.String()
		}
	}
	if s, ok := p.str(t, KeyGateway, `a string like "10.89.1.1"`); ok {
		addr, err := netip.ParseAddr(s)
		switch {
		case err != nil || addr.Zone() != "":
			p.errAt(t.at(KeyGateway), bad("invalid gateway %q: not an IP address", s))
		case n.Subnet == "" && t.m[KeySubnet] == nil:
			p.errAt(t.at(KeyGateway), bad("a gateway needs a subnet").withHint(`set subnet too`))
		case prefix.IsValid() && !prefix.Contains(addr):
			p.errAt(t.at(KeyGateway), bad("gateway %s is not in subnet %s", addr, prefix))
		default:
			n.Gateway = addr.String()
		}
	}
	if b, ok := p.boolean(t, KeyInternal); ok {
		n.Internal = b
	}
	return n
}

func (p *parser) volume(vols table, name string) *Volume {
	t, ok := p.entry(vols, name)
	if !ok {
		return nil
	}
	if pr := checkName("volume", name); pr != nil {
		p.keyErr(t.path, "", "%s", pr.msg)
	}
	p.checkKeys(t, volumeKeys, "volume")
	v := &Volume{Name: name, Driver: "local"}
	if s, ok := p.str(t, KeyDriver, `"local"`); ok {
		if s != "local" {
			p.errAt(t.at(KeyDriver), bad("unknown volume driver %q", s).withHint(`the only driver is "local"`))
		}
	}
	if opts, ok := p.strMap(t, KeyOptions, `a table like { type = "nfs", o = "addr=10.0.0.1", device = ":/export" }`); ok {
		ot := table{path: t.at(KeyOptions), m: t.m[KeyOptions].(map[string]any)}
		p.checkKeys(ot, volumeOptionKeys, "volume options")
		v.Options = opts
	}
	return v
}

func (p *parser) service(app *App, svcs table, name string) *Service {
	t, ok := p.entry(svcs, name)
	if !ok {
		return nil
	}
	if pr := checkName("service", name); pr != nil {
		p.keyErr(t.path, "", "%s", pr.msg)
	}
	p.checkKeys(t, serviceKeys, "service")
	s := &Service{Name: name, Restart: RestartPolicy{Name: RestartNo}, StopTimeout: DefaultStopTimeout, Replicas: 1}
	at := t.at
	from := len(t.path)

	// image or build, exactly one.
	image, hasImage := p.str(t, KeyImage, `a string like "nginx:1.27"`)
	if hasImage {
		if image == "" {
			p.errAt(at(KeyImage), bad("image must not be empty"))
		}
		s.Image = image
	}
	if v, set := t.m[KeyBuild]; set {
		s.Build = p.build(t, v)
	}
	_, imageSet := t.m[KeyImage]
	if _, buildSet := t.m[KeyBuild]; imageSet && buildSet {
		p.keyErr(at(KeyBuild), "remove one of them", "service %q sets both image and build", name)
	} else if !imageSet && !buildSet {
		p.keyErr(t.path, `set image = "..." or a [service.`+displayPath([]string{name})+`.build] table`, "service %q has neither image nor build", name)
	}

	s.Command = p.command(t, KeyCommand)
	s.Entrypoint = p.command(t, KeyEntrypoint)

	if env, ok := p.strMap(t, KeyEnvironment, `a table like { KEY = "value" }`); ok {
		for k := range env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				p.keyErr(append(at(KeyEnvironment), k), "", "invalid environment variable name %q", k)
			}
		}
		s.Environment = env
	}
	if files, paths, ok := p.strOrList(t, KeyEnvFile, `a string or a list of strings`); ok {
		for i, f := range files {
			if f == "" {
				p.errAt(paths[i], bad("env_file must not be empty"))
				continue
			}
			s.EnvFiles = append(s.EnvFiles, resolve(p.dir, f))
		}
	}
	if ports, paths, ok := p.strList(t, KeyPorts, `a list of strings like ["8080:80"]`); ok {
		for i, ps := range ports {
			port, pr := parsePort(ps)
			if pr != nil {
				p.errAt(paths[i], pr)
				continue
			}
			s.Ports = append(s.Ports, port)
			p.portPaths[s] = append(p.portPaths[s], paths[i])
		}
	}
	var mountPaths [][]string // the key path of each of s.Mounts
	if vols, paths, ok := p.strList(t, KeyVolumes, `a list of strings like ["data:/var/lib/data", "/srv/www:/usr/share/nginx/html:ro"]`); ok {
		for i, vs := range vols {
			m, pr := parseVolume(p.dir, vs)
			if pr != nil {
				p.errAt(paths[i], pr)
				continue
			}
			if m.Type == MountVolume && !m.Anonymous && app.Volume(m.Source) == nil {
				p.errAt(paths[i], bad("volume %q is not declared", m.Source).withHint("add a [volume.%s] table", displayPath([]string{m.Source})))
			}
			s.Mounts = append(s.Mounts, m)
			mountPaths = append(mountPaths, paths[i])
		}
	}
	if tmpfs, paths, ok := p.strOrList(t, KeyTmpfs, `a list of strings like ["/run", "/tmp:size=64m"]`); ok {
		for i, ts := range tmpfs {
			m, pr := parseTmpfs(ts)
			if pr != nil {
				p.errAt(paths[i], pr)
				continue
			}
			s.Mounts = append(s.Mounts, m)
			mountPaths = append(mountPaths, paths[i])
		}
	}
	seen := map[string]bool{}
	for i, m := range s.Mounts {
		if seen[m.Target] {
			p.errAt(mountPaths[i], bad("service %q mounts %s twice", name, m.Target))
		}
		seen[m.Target] = true
	}

	s.Networks = p.serviceNetworks(app, t)
	s.DependsOn, p.depPos[s] = p.dependsOn(t)

	if r, ok := p.str(t, KeyRestart, `a string like "on-failure:3"`); ok {
		rp, pr := parseRestart(r)
		if pr != nil {
			p.errAt(at(KeyRestart), pr)
		}
		s.Restart = rp
	}
	if hc, ok := p.sub(t, KeyHealthcheck, "a table"); ok {
		s.Healthcheck = p.healthcheck(hc)
	}
	if u, ok := p.str(t, KeyUser, `a string like "1000:1000" or "www-data"`); ok {
		if pr := checkUser(u); pr != nil {
			p.errAt(at(KeyUser), pr)
		}
		s.User = u
	}
	if w, ok := p.str(t, KeyWorkdir, `a string like "/app"`); ok {
		if !path.IsAbs(w) {
			p.errAt(at(KeyWorkdir), bad("workdir %q is not an absolute path", w))
		}
		s.Workdir = path.Clean(w)
	}
	if h, ok := p.str(t, KeyHostname, `a string like "db"`); ok {
		if pr := checkHostname(h); pr != nil {
			p.errAt(at(KeyHostname), pr)
		}
		s.Hostname = h
	}
	if labels, ok := p.strMap(t, KeyLabels, `a table like { "com.example.team" = "web" }`); ok {
		for _, k := range p.keys(table{path: at(KeyLabels), m: t.m[KeyLabels].(map[string]any)}) {
			if k == "" || strings.HasPrefix(k, "berth.") {
				p.keyErr(append(at(KeyLabels), k), "", "invalid label %q: empty, or the reserved prefix \"berth.\"", k)
			}
		}
		s.Labels = labels
	}
	if m, ok := p.str(t, KeyMemory, `a string like "64m"`); ok {
		n, pr := parseMemory(m)
		if pr != nil {
			p.errAt(at(KeyMemory), pr)
		}
		s.Memory = n
	}
	if v, ok := t.m[KeyCPUs]; ok {
		var c float64
		switch n := v.(type) {
		case int64:
			c = float64(n)
		case float64:
			c = n
		case string:
			p.add(p.ix.val(at(KeyCPUs)), fmt.Sprintf("write it without quotes: cpus = %s", n), "cpus must be a number like 0.5")
		default:
			p.want(at(KeyCPUs), from, "a number like 0.5")
		}
		if pr := checkCPUs(c); pr != nil {
			p.errAt(at(KeyCPUs), pr)
		}
		s.CPUs = c
	}
	if n, ok := p.integer(t, KeyPidsLimit, "an integer like 100"); ok {
		if n < -1 || n == 0 {
			p.errAt(at(KeyPidsLimit), bad("invalid pids_limit %d: use a number ≥ 1, or -1 for no limit", n))
		}
		s.PidsLimit = n
	}
	if v, ok := t.m[KeyStopSignal]; ok {
		var sig string
		switch x := v.(type) {
		case string:
			sig = x
		case int64:
			sig = strconv.FormatInt(x, 10)
		default:
			p.want(at(KeyStopSignal), from, `a string like "SIGTERM"`)
		}
		if sig != "" {
			name, pr := parseSignal(sig)
			if pr != nil {
				p.errAt(at(KeyStopSignal), pr)
			}
			s.StopSignal = name
		}
	}
	if v, ok := t.m[KeyStopTimeout]; ok {
		switch n := v.(type) {
		case int64:
			if n < 0 || n > math.MaxInt32 {
				p.errAt(at(KeyStopTimeout), bad("invalid stop_timeout %d: use a number of seconds ≥ 0", n))
			}
			s.StopTimeout = time.Duration(n) * time.Second
		case string:
			hint := ""
			if d, err := time.ParseDuration(n); err == nil && d >= 0 && d%time.Second == 0 {
				hint = fmt.Sprintf("write stop_timeout = %d", d/time.Second)
			}
			p.add(p.ix.val(at(KeyStopTimeout)), hint, "stop_timeout must be a whole number of seconds like 10")
		default:
			p.want(at(KeyStopTimeout), from, "a whole number of seconds like 10")
		}
	}
	if b, ok := p.boolean(t, KeyReadOnly); ok {
		s.ReadOnly = b
	}
	s.CapAdd = p.capabilities(t, KeyCapAdd)
	s.CapDrop = p.capabilities(t, KeyCapDrop)
	if devs, paths, ok := p.strList(t, KeyDevices, `a list of strings like ["/dev/fuse"]`); ok {
		for i, ds := range devs {
			d, pr := parseDevice(ds)
			if pr != nil {
				p.errAt(paths[i], pr)
				continue
			}
			s.Devices = append(s.Devices, d)
		}
	}
	if n, ok := p.integer(t, KeyReplicas, "an integer like 3"); ok {
		if n < 1 || n > 1000 {
			p.errAt(at(KeyReplicas), bad("invalid replicas %d: use a number from 1 to 1000", n))
		} else {
			s.Replicas = int(n)
		}
	}
	if sd, ok := p.sub(t, KeySystemd, `a table of [service.NAME.systemd.Unit], .Service and .Install tables`); ok {
		s.Systemd = p.systemd(sd)
	}
	return s
}

// command reads command or entrypoint: a string is split into words like
// a shell command line (Compose's rule), a list is taken as is.
func (p *parser) command(t table, key string) []string {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok {
		words, pr := shellSplit(s)
		if pr != nil {
			p.errAt(t.at(key), pr)
		}
		return words
	}
	words, _, _ := p.strList(t, key, `a string or a list of strings like ["nginx", "-g", "daemon off;"]`)
	return words
}

func (p *parser) build(t table, v any) *Build {
	b := &Build{}
	// Compose's short form: build = "./dir".
	if s, ok := v.(string); ok {
		b.Context = resolve(p.dir, s)
		if s == "" {
			p.errAt(t.at(KeyBuild), bad("build context must not be empty"))
		}
		return b
	}
	bt, ok := p.sub(t, KeyBuild, `a string (the context) or a table like { context = "./web" }`)
	if !ok {
		return nil
	}
	p.checkKeys(bt, buildKeys, "build")
	if c, ok := p.str(bt, KeyBuildContext, `a string like "./web"`); ok && c != "" {
		b.Context = resolve(p.dir, c)
	} else if !ok {
		if _, set := bt.m[KeyBuildContext]; !set {
			p.keyErr(bt.path, `add context = "."`, "%s has no context", bt.name())
		}
	} else {
		p.errAt(bt.at(KeyBuildContext), bad("build context must not be empty"))
	}
	if d, ok := p.str(bt, KeyBuildDockerfile, `a string like "Dockerfile"`); ok {
		b.Dockerfile = d
	}
	if args, ok := p.strMap(bt, KeyBuildArgs, `a table like { VERSION = "1.2" }`); ok {
		b.Args = args
	}
	if tg, ok := p.str(bt, KeyBuildTarget, `a string like "release"`); ok {
		b.Target = tg
	}
	return b
}

// serviceNetworks reads networks: a list of names, or a table NAME →
// { aliases = [...] }.
func (p *parser) serviceNetworks(app *App, t table) []ServiceNetwork {
	v, ok := t.m[KeyNetworks]
	if !ok {
		return nil
	}
	check := func(name string, at pos) {
		if name != "default" && app.Network(name) == nil {
			p.add(at, fmt.Sprintf("add a [network.%s] table", displayPath([]string{name})), "network %q is not declared", name)
		}
	}
	out := []ServiceNetwork{}
	if _, isList := v.([]any); isList {
		names, paths, _ := p.strList(t, KeyNetworks, "")
		for i, n := range names {
			check(n, p.ix.val(paths[i]))
			out = append(out, ServiceNetwork{Name: n})
		}
		return out
	}
	nt, ok := p.sub(t, KeyNetworks, `a list of names like ["front"], or a table like { front = { aliases = ["www"] } }`)
	if !ok {
		return nil
	}
	for _, n := range p.keys(nt) {
		check(n, p.ix.key(nt.at(n)))
		sn := ServiceNetwork{Name: n}
		if et, ok := p.sub(nt, n, `a table like { aliases = ["www"] }`); ok {
			p.checkKeys(et, serviceNetKeys, "network entry")
			if aliases, paths, ok := p.strList(et, KeyAliases, `a list of names like ["www"]`); ok {
				for i, a := range aliases {
					if pr := checkName("alias", a); pr != nil {
						p.errAt(paths[i], pr)
					}
				}
				sn.Aliases = aliases
			}
		}
		out = append(out, sn)
	}
	return out
}

// dependsOn reads depends_on: a list of service names, or a table NAME →
// { condition = "..." }. The names are checked in crossCheck.
func (p *parser) dependsOn(t table) ([]DependsOn, []pos) {
	v, ok := t.m[KeyDependsOn]
	if !ok {
		return nil, nil
	}
	var out []DependsOn
	if _, isList := v.([]any); isList {
		names, paths, _ := p.strList(t, KeyDependsOn, "")
		var poss []pos
		for i, n := range names {
			out = append(out, DependsOn{Service: n, Condition: ConditionStarted})
			poss = append(poss, p.ix.val(paths[i]))
		}
		return out, poss
	}
	dt, ok := p.sub(t, KeyDependsOn, `a list of service names like ["db"], or a table like { db = { condition = "healthy" } }`)
	if !ok {
		return nil, nil
	}
	var poss []pos
	for _, n := range p.keys(dt) {
		poss = append(poss, p.ix.key(dt.at(n)))
		d := DependsOn{Service: n, Condition: ConditionStarted}
		if et, ok := p.sub(dt, n, `a table like { condition = "healthy" }`); ok {
			p.checkKeys(et, dependsOnKeys, "depends_on entry")
			if c, ok := p.str(et, KeyCondition, `a string: "started", "healthy" or "completed"`); ok {
				d.Condition = c
				if !slices.Contains(conditionNames, c) {
					hint := map[string]string{
						"service_started":                `berth calls it "started"`,
						"service_healthy":                `berth calls it "healthy"`,
						"service_completed_successfully": `berth calls it "completed"`,
					}[c]
					if hint == "" {
						hint = `use "started", "healthy" or "completed"`
					}
					p.errAt(et.at(KeyCondition), bad("unknown condition %q", c).withHint("%s", hint))
				}
			}
		}
		out = append(out, d)
	}
	return out, poss
}

func (p *parser) healthcheck(t table) *Healthcheck {
	p.checkKeys(t, healthcheckKeys, "healthcheck")
	h := &Healthcheck{Interval: DefaultHealthInterval, Timeout: DefaultHealthTimeout, Retries: DefaultHealthRetries}
	switch v := t.m[KeyHealthCmd].(type) {
	case nil:
		p.keyErr(t.path, `add cmd = "curl -f http://localhost/ || exit 1"`, "%s has no cmd", t.name())
	case string:
		if v == "" {
			p.errAt(t.at(KeyHealthCmd), bad("cmd must not be empty"))
		}
		h.Test = []string{"CMD-SHELL", v}
	default:
		args, _, ok := p.strList(t, KeyHealthCmd, `a string (run by /bin/sh -c) or a list of strings (run as is)`)
		if ok && len(args) == 0 {
			p.errAt(t.at(KeyHealthCmd), bad("cmd must not be empty"))
		}
		h.Test = append([]string{"CMD"}, args...)
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
		min time.Duration
	}{
		{KeyHealthInterval, &h.Interval, time.Millisecond},
		{KeyHealthTimeout, &h.Timeout, time.Millisecond},
		{KeyHealthStartPeriod, &h.StartPeriod, 0},
	} {
		s, ok := p.str(t, d.key, `a duration like "10s"`)
		if !ok {
			continue
		}
		dur, pr := parseDuration(s)
		if pr == nil && dur < d.min {
			pr = bad("%s must be at least %s", d.key, d.min)
		}
		if pr != nil {
			p.errAt(t.at(d.key), pr)
			continue
		}
		*d.dst = dur
	}
	if n, ok := p.integer(t, KeyHealthRetries, "an integer like 3"); ok {
		if n < 1 || n > math.MaxInt32 {
			p.errAt(t.at(KeyHealthRetries), bad("invalid retries %d: use a number ≥ 1", n))
		} else {
			h.Retries = int(n)
		}
	}
	return h
}

func (p *parser) capabilities(t table, key string) []string {
	caps, paths, _ := p.strList(t, key, `a list of capability names like ["NET_ADMIN"]`)
	var out []string
	for i, c := range caps {
		name, pr := parseCapability(c)
		if pr != nil {
			p.errAt(paths[i], pr)
			continue
		}
		out = append(out, name)
	}
	return out
}

// systemd reads [service.NAME.systemd.SECTION] tables of raw directives.
func (p *parser) systemd(t table) []Directive {
	var out []Directive
	for _, sec := range p.keys(t) {
		if !slices.Contains(systemdSections, sec) {
			p.keyErr(t.at(sec), suggest(sec, systemdSections), "unknown unit section %q in %s: use Unit, Service or Install", sec, t.name())
			continue
		}
		st, ok := p.sub(t, sec, `a table of directives like { After = "network-online.target" }`)
		if !ok {
			continue
		}
		for _, k := range p.keys(st) {
			if !directiveKeyRE.MatchString(k) {
				p.keyErr(st.at(k), "", "invalid directive name %q in %s", k, st.name())
				continue
			}
			if sec == SectionService {
				if hint, owned := systemdOwned[k]; owned {
					p.keyErr(st.at(k), hint, "%s= in %s is set by berth", k, st.name())
					continue
				}
			}
			vals, paths, ok := p.strOrList(st, k, "a string or a list of strings")
			if !ok {
				continue
			}
			good := true
			for i, v := range vals {
				if strings.ContainsAny(v, "\n\r\x00") {
					p.errAt(paths[i], bad("%s must not contain a newline", label(paths[i], len(st.path))))
					good = false
				}
			}
			if good {
				out = append(out, Directive{Section: sec, Key: k, Values: vals})
			}
		}
	}
	return out
}

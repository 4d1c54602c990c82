package unitgen

import (
	"fmt"
	"strings"
	"testing"
)

// hundredServices is an app of 100 services, each with the keys a real
// one has (ports, a volume, a network, a dependency, limits, a
// healthcheck), for the generator's benchmark.
func hundredServices() []byte {
	var b strings.Builder
	b.WriteString("[network.back]\n[volume.data]\n")
	for i := range 100 {
		fmt.Fprintf(&b, `
[service.s%d]
image = "registry.example.com/app/s%d:1.0"
command = ["/bin/server", "--port", "8080"]
environment = { LOG = "info", N = "%d" }
ports = ["%d:8080"]
volumes = ["data:/data", "/srv/s%d:/srv:ro"]
networks = { back = { aliases = ["s%d.back"] } }
restart = "always"
memory = "128m"
cpus = 0.5
[service.s%d.healthcheck]
cmd = "wget -qO- http://localhost:8080/"
`, i, i, i, 20000+i, i, i, i)
		if i > 0 {
			fmt.Fprintf(&b, "[service.s%d.depends_on]\ns%d = { condition = \"healthy\" }\n", i, i-1)
		}
	}
	return []byte(b.String())
}

// BenchmarkParseRender100 is what the generator does per app file, less
// the I/O: parse and validate an app of 100 services and render its
// units (goal, issue 7: the whole generator run under 50 ms).
func BenchmarkParseRender100(b *testing.B) {
	data := hundredServices()
	for b.Loop() {
		app, err := Parse("/etc/berth/big.toml", data)
		if err != nil {
			b.Fatal(err)
		}
		units, err := Render(app, goldenOptions)
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range units {
			_ = u.Text()
		}
	}
}

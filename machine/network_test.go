package machine

import (
	"reflect"
	"testing"
)

func TestExposedPorts(t *testing.T) {
	set := func(ps ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, p := range ps {
			m[p] = struct{}{}
		}
		return m
	}
	for _, tc := range []struct {
		name      string
		exposed   map[string]struct{}
		published []PortMapping
		want      []PortMapping
		wantErr   bool
	}{
		{"none", nil, nil, nil, false},
		{"sorted, tcp by default", set("8080", "53/udp", "80/tcp"), nil,
			[]PortMapping{{ContainerPort: 53, Count: 1, Proto: "udp"}, {ContainerPort: 80, Count: 1, Proto: "tcp"}, {ContainerPort: 8080, Count: 1, Proto: "tcp"}}, false},
		{"-p covers one", set("80/tcp", "443/tcp"), []PortMapping{{HostPort: 8080, ContainerPort: 80, Count: 1, Proto: "tcp"}},
			[]PortMapping{{ContainerPort: 443, Count: 1, Proto: "tcp"}}, false},
		{"a range covers both", set("80/tcp", "81/tcp"), []PortMapping{{HostPort: 8080, ContainerPort: 80, Count: 2, Proto: "tcp"}}, nil, false},
		{"other protocol is not covered", set("53/udp"), []PortMapping{{HostPort: 53, ContainerPort: 53, Count: 1, Proto: "tcp"}},
			[]PortMapping{{ContainerPort: 53, Count: 1, Proto: "udp"}}, false},
		{"bad", set("http"), nil, nil, true},
		{"bad protocol", set("80/sctp"), nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExposedPorts(tc.exposed, tc.published)
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ExposedPorts: %+v, %v; want %+v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

package main

import (
	"reflect"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	for _, tc := range []struct {
		changes []string
		want    ocispec.ImageConfig
		wantErr bool
	}{
		{[]string{`VOLUME ["/data", "/logs"]`}, ocispec.ImageConfig{Volumes: map[string]struct{}{"/data": {}, "/logs": {}}}, false},
		{[]string{"VOLUME /data /logs"}, ocispec.ImageConfig{Volumes: map[string]struct{}{"/data": {}, "/logs": {}}}, false},
		{[]string{`CMD ["httpd", "-f"]`, "WORKDIR /srv", "USER 1000"}, ocispec.ImageConfig{Cmd: []string{"httpd", "-f"}, WorkingDir: "/srv", User: "1000"}, false},
		{[]string{"ENTRYPOINT echo hi"}, ocispec.ImageConfig{Entrypoint: []string{"/bin/sh", "-c", "echo hi"}}, false},
		{[]string{"ENV A=1", "EXPOSE 80", "LABEL k=v"}, ocispec.ImageConfig{Env: []string{"A=1"}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
			Labels: map[string]string{"k": "v"}}, false},
		{[]string{"VOLUME data"}, ocispec.ImageConfig{}, true},
		{[]string{"RUN true"}, ocispec.ImageConfig{}, true},
		{[]string{"ENV A"}, ocispec.ImageConfig{}, true},
		{[]string{"CMD"}, ocispec.ImageConfig{}, true},
	} {
		var got ocispec.ImageConfig
		err := applyChanges(&got, tc.changes)
		if tc.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("%q: %v, want ErrInvalid", tc.changes, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.changes, got, err, tc.want)
		}
	}
}

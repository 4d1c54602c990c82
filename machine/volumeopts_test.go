package machine

import (
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

func TestParseVolumeOptions(t *testing.T) {
	tests := []struct {
		name   string
		driver string
		opts   map[string]string
		want   *VolumeMount
		err    string
	}{
		{"none", "", nil, nil, ""},
		{"local, none", "local", map[string]string{}, nil, ""},
		{"tmpfs", "local", map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"},
			&VolumeMount{Source: "tmpfs", FSType: "tmpfs", Data: "size=64m,uid=1000"}, ""},
		{"tmpfs without device", "", map[string]string{"type": "tmpfs", "o": "nodev,nosuid,size=1m"},
			&VolumeMount{Source: "tmpfs", FSType: "tmpfs", Flags: unix.MS_NODEV | unix.MS_NOSUID, Data: "size=1m"}, ""},
		{"bind", "", map[string]string{"type": "none", "o": "bind", "device": "/srv/data"},
			&VolumeMount{Source: "/srv/data", Flags: unix.MS_BIND}, ""},
		{"rbind ro", "", map[string]string{"type": "none", "o": "rbind,ro", "device": "/srv/data"},
			&VolumeMount{Source: "/srv/data", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY}, ""},
		{"a device", "", map[string]string{"type": "ext4", "device": "/dev/vdb1", "o": "noatime,errors=remount-ro"},
			&VolumeMount{Source: "/dev/vdb1", FSType: "ext4", Flags: unix.MS_NOATIME, Data: "errors=remount-ro"}, ""},
		{"other driver", "nfs-plugin", nil, nil, "volume driver"},
		{"unknown key", "", map[string]string{"type": "tmpfs", "size": "1m"}, nil, `invalid option key "size"`},
		{"no type", "", map[string]string{"device": "tmpfs"}, nil, "need type="},
		{"none without bind", "", map[string]string{"type": "none", "device": "/srv"}, nil, "needs o=bind"},
		{"bind with a type", "", map[string]string{"type": "ext4", "o": "bind", "device": "/srv"}, nil, "goes with type=none"},
		{"bind without device", "", map[string]string{"type": "none", "o": "bind"}, nil, "absolute host path"},
		{"bind relative", "", map[string]string{"type": "none", "o": "bind", "device": "srv"}, nil, "absolute host path"},
		{"device missing", "", map[string]string{"type": "ext4"}, nil, "needs device="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVolumeOptions(tt.driver, tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errdefs.IsInvalid(err) {
					t.Fatalf("err = %v, want an invalid-argument error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

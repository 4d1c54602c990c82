package unitproc

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/netsetup/network"
)

// berthConfigPath is berth's own configuration file ($BERTH_CONFIG
// names another). Everything in it is optional.
//
//	[network]
//	default_subnet = "10.89.0.0/24"   # the default bridge network's (berth0)
func berthConfigPath() string {
	if p := os.Getenv("BERTH_CONFIG"); p != "" {
		return p
	}
	return "/etc/berth/berth.toml"
}

// berthConfig is /etc/berth/berth.toml.
type berthConfig struct {
	Network struct {
		DefaultSubnet string `toml:"default_subnet"`
	} `toml:"network"`
}

var (
	configOnce sync.Once
	configVal  berthConfig
	configErr  error
)

// loadConfig reads berth.toml once per process; a missing file is the
// defaults, an unknown key or a bad value an error with the file's name.
func loadConfig() (berthConfig, error) {
	configOnce.Do(func() {
		path := berthConfigPath()
		md, err := toml.DecodeFile(path, &configVal)
		if errors.Is(err, fs.ErrNotExist) {
			configVal, configErr = berthConfig{}, nil
			return
		}
		if err != nil {
			configErr = fmt.Errorf("%s: %v: %w", path, err, errdefs.ErrInvalid)
			return
		}
		if u := md.Undecoded(); len(u) > 0 {
			var keys []string
			for _, k := range u {
				keys = append(keys, k.String())
			}
			configErr = fmt.Errorf("%s: unknown key %s (berth.toml knows network.default_subnet): %w", path, strings.Join(keys, ", "), errdefs.ErrInvalid)
		}
	})
	return configVal, configErr
}

// defaultSubnet is the default bridge network's subnet: berth.toml's, or
// network.DefaultSubnet. Change it only while no container is on it.
func defaultSubnet() (netip.Prefix, error) {
	c, err := loadConfig()
	if err != nil {
		return netip.Prefix{}, err
	}
	if c.Network.DefaultSubnet == "" {
		return network.DefaultSubnet, nil
	}
	p, err := netip.ParsePrefix(c.Network.DefaultSubnet)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: network.default_subnet %q: %v: %w", berthConfigPath(), c.Network.DefaultSubnet, err, errdefs.ErrInvalid)
	}
	if err := network.CheckDefaultSubnet(p); err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: %w", berthConfigPath(), err)
	}
	return p, nil
}

package link

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// ContainerVeths lists the host sides of container veths in this
// namespace: veths named as HostIfName names them.
func ContainerVeths() ([]string, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []string
	for _, l := range ls {
		name := l.Attrs().Name
		if _, ok := l.(*netlink.Veth); ok && strings.HasPrefix(name, "vb") && len(name) == 10 {
			out = append(out, name)
		}
	}
	return out, nil
}

package nat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
)

// PortOwners lists the container IDs that have port rules (their tag
// "berth container <id>"), sorted and without repeats; no table is no
// owner.
func PortOwners(conn Conn) ([]string, error) {
	exists, err := tableExists(conn)
	if err != nil || !exists {
		return nil, err
	}
	t := Table()
	rs, err := conn.GetRules(t, &nftables.Chain{Name: ChainPorts, Table: t})
	if err != nil {
		return nil, fmt.Errorf("nftables: list rules of %s: %w", ChainPorts, err)
	}
	var ids []string
	for _, r := range rs {
		if id, ok := strings.CutPrefix(Comment(r), containerTag("")); ok && id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

package machine

import (
	"math"
)

// Update is what `berth update` (docker update) changes in a
// container's options; a nil field stays as it is.
type Update struct {
	// Memory is -m in bytes; 0 removes the limit.
	Memory *int64
	// CPUs is --cpus; 0 removes the limit.
	CPUs *float64
	// PidsLimit is --pids-limit; 0 or negative (Docker's -1) removes it.
	PidsLimit *int64
	// Restart is --restart.
	Restart *RestartPolicy
}

// IsEmpty reports whether u changes nothing.
func (u Update) IsEmpty() bool {
	return u.Memory == nil && u.CPUs == nil && u.PidsLimit == nil && u.Restart == nil
}

// Validate checks u with Docker's rules and messages (errors wrap
// errdefs.ErrInvalid).
func (u Update) Validate() error {
	if u.Memory != nil {
		if err := checkMemory(*u.Memory); err != nil {
			return err
		}
	}
	if u.CPUs != nil {
		if err := checkCPUs(*u.CPUs); err != nil {
			return err
		}
	}
	if u.Restart != nil {
		return u.Restart.Validate()
	}
	return nil
}

// Apply writes u into o.
func (u Update) Apply(o *RunOptions) {
	if u.Memory != nil {
		o.Memory = *u.Memory
	}
	if u.CPUs != nil {
		o.CPUs = *u.CPUs
	}
	if u.PidsLimit != nil {
		o.PidsLimit = max(*u.PidsLimit, 0)
	}
	if u.Restart != nil {
		o.Restart = *u.Restart
	}
}

// infinity is systemd's "no limit" for MemoryMax, CPUQuotaPerSecUSec
// and TasksMax.
const infinity = uint64(math.MaxUint64)

// RuntimeProperties are the properties that apply u's limits to the
// running unit of a container (systemd's SetUnitProperties): the same
// values UnitProperties gives a new unit, or infinity for a limit
// removed. The restart policy is not among them: systemd takes it only
// when the transient unit is made, so it applies from the next start.
func (u Update) RuntimeProperties() []Property {
	var props []Property
	if u.Memory != nil {
		v := infinity
		if *u.Memory > 0 {
			v = uint64(*u.Memory)
		}
		props = append(props, Property{"MemoryMax", v}, Property{"MemorySwapMax", v})
	}
	if u.CPUs != nil {
		v := infinity
		if *u.CPUs > 0 {
			v = uint64(math.Round(*u.CPUs * 1e6))
		}
		props = append(props, Property{"CPUQuotaPerSecUSec", v})
	}
	if u.PidsLimit != nil {
		v := infinity
		if *u.PidsLimit > 0 {
			v = uint64(*u.PidsLimit)
		}
		props = append(props, Property{"TasksMax", v})
	}
	return props
}

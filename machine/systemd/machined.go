package systemd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	godbus "github.com/godbus/dbus/v5"
)

const machined = "org.freedesktop.machine1"

// RegisterMachine registers the container whose PID 1 is leader with
// systemd-machined as a machine of class "container", so that
// `machinectl list` and `machinectl status NAME` show it. machined takes
// the machine's unit from the leader's cgroup (our transient unit) and
// forgets the machine when that unit stops, as for systemd-nspawn
// inside a unit (nspawn-register.c uses RegisterMachineWithNetwork in
// that case too). A machine of that name left over from an earlier run
// of the same unit (a restart under the restart policy) is unregistered
// first; one that belongs to another unit is left alone, and that is an
// error. id is the container ID; its first 128 bits are the machine ID.
// unit is the container's unit. Every call is bounded by a timeout: a
// hung machined must not hold the container's start.
func RegisterMachine(name, id, unit string, leader int, rootDir string) error {
	m := DialMachined()
	defer m.Close()
	return m.Register(name, id, unit, leader, rootDir)
}

// Machined is a connection to the system bus for RegisterMachine, dialled
// in the background: __init dials it while the container's PID 1 is
// being set up, and only the registration itself is left for later.
type Machined struct {
	done chan struct{}
	conn *godbus.Conn
	err  error
}

// DialMachined starts connecting to the system bus and returns at once.
func DialMachined() *Machined {
	m := &Machined{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		conn, err := godbus.SystemBusPrivate()
		if err == nil {
			if err = conn.Auth(nil); err == nil {
				err = conn.Hello()
			}
			if err != nil {
				conn.Close()
			}
		}
		m.conn, m.err = conn, err
	}()
	return m
}

// Close closes the connection, now or once it is made.
func (m *Machined) Close() {
	closeConn := func() {
		if m.err == nil {
			m.conn.Close()
		}
	}
	select {
	case <-m.done:
		closeConn()
	default:
		go func() { <-m.done; closeConn() }()
	}
}

// Register is RegisterMachine over m's connection.
func (m *Machined) Register(name, id, unit string, leader int, rootDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	mid, err := hex.DecodeString(id[:32])
	if err != nil {
		return fmt.Errorf("register machine %s: %w", name, err)
	}
	select {
	case <-m.done:
	case <-ctx.Done():
		return fmt.Errorf("register machine %s: connect to the system bus: %w", name, ctx.Err())
	}
	if m.err != nil {
		return fmt.Errorf("register machine %s: %w", name, m.err)
	}
	conn := m.conn
	obj := conn.Object(machined, "/org/freedesktop/machine1")
	register := func() error {
		return obj.CallWithContext(ctx, machined+".Manager.RegisterMachineWithNetwork", 0,
			name, mid, "berth", "container", uint32(leader), rootDir, []int32{}).Err
	}
	err = register()
	var de godbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.machine1.MachineExists" {
		var path godbus.ObjectPath
		if gerr := obj.CallWithContext(ctx, machined+".Manager.GetMachine", 0, name).Store(&path); gerr == nil {
			owner, _ := conn.Object(machined, path).GetProperty(machined + ".Machine.Unit")
			if u, _ := owner.Value().(string); u != unit {
				return fmt.Errorf("register machine %s: the name is taken by %s", name, u)
			}
		}
		if uerr := obj.CallWithContext(ctx, machined+".Manager.UnregisterMachine", 0, name).Err; uerr == nil {
			err = register()
		}
	}
	if err != nil {
		return fmt.Errorf("register machine %s: %w", name, err)
	}
	return nil
}

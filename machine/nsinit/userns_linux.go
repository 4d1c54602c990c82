package nsinit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// User namespaces (--userns=auto). The container's PID 1 is cloned
// with CLONE_NEWUSER besides its other namespaces, so they all belong to
// its user namespace; Go's fork writes its uid_map and gid_map from the
// parent (this process, host root) before the child runs berth, and the
// child becomes root of the namespace (setuid 0 there) so that it execs
// berth with the namespace's capabilities.
//
// The root file system is built by the parent, not the child: root in
// the container's namespace can neither make idmapped mounts (that takes
// CAP_SYS_ADMIN over the layers' file system, in the host's namespace)
// nor mount an overlay that reads the trusted.overlay.* xattrs that the
// image layers' opaque directories carry. So the parent makes a detached
// idmapped mount of every layer directory (open_tree + mount_setattr
// MOUNT_ATTR_IDMAP with the child's user namespace: a file that the
// image gives to uid 0 is uid 0 in the container and the block's first
// host id on the host), mounts a detached overlay of them with the
// container's upper and work directories (fsopen/fsconfig/fsmount; the
// layers are named by /proc/self/fd paths), and passes the overlay's
// descriptor to the child over its socket (SCM_RIGHTS), which moves it
// onto the rootfs mount point of its own mount namespace (move_mount).
// Nothing is mounted in the host's mount namespace, and nothing is
// copied or chowned: the layers stay shared with every other container.
// The upper directory's root belongs to the container's root (see
// machine.Containers.Create); what the container writes belongs to the
// block's host ids.

// userNamespace is the clone flag, mappings and credentials for cfg's
// user namespace; ok is false without one.
func userNamespace(cfg *Config, attr *syscall.SysProcAttr) (ok bool) {
	l := cfg.Spec.Linux
	if l == nil || len(l.UIDMappings) == 0 {
		return false
	}
	attr.Cloneflags |= unix.CLONE_NEWUSER
	for _, m := range l.UIDMappings {
		attr.UidMappings = append(attr.UidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	for _, m := range l.GIDMappings {
		attr.GidMappings = append(attr.GidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	attr.GidMappingsEnableSetgroups = true
	attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	return true
}

// idmappedRootfs mounts, detached, the overlay of cfg's layers, each
// idmapped with the user namespace of process pid, and returns the
// overlay's mount descriptor (close-on-exec).
func idmappedRootfs(cfg *Config, pid int) (int, error) {
	userns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/user")
	if err != nil {
		return -1, fmt.Errorf("init: the container's user namespace: %w", err)
	}
	defer userns.Close()
	var lowers []string
	for _, dir := range cfg.LowerDirs {
		fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return -1, mountErr("open_tree", "", dir, err)
		}
		defer unix.Close(fd)
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
			return -1, mountErr("idmap", "", dir, err)
		}
		lowers = append(lowers, "/proc/self/fd/"+strconv.Itoa(fd))
	}
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("init: fsopen overlay: %w", err)
	}
	defer unix.Close(fs)
	for _, o := range [][2]string{{"lowerdir", strings.Join(lowers, ":")}, {"upperdir", cfg.Upper}, {"workdir", cfg.Work}} {
		if err := unix.FsconfigSetString(fs, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("init: overlay %s=%s: %w", o[0], o[1], err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, mountErr("mount overlay", "", cfg.Rootfs, err)
	}
	mfd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, mountErr("fsmount overlay", "", cfg.Rootfs, err)
	}
	return mfd, nil
}

// sendRootfs sends the child one byte, with the rootfs mount descriptor
// when there is one (mfd >= 0). The child reads it before its config
// (receiveRootfs).
func sendRootfs(sock *os.File, mfd int) error {
	var oob []byte
	if mfd >= 0 {
		oob = unix.UnixRights(mfd)
	}
	return unix.Sendmsg(int(sock.Fd()), []byte{0}, oob, nil, 0)
}

// receiveRootfs reads the parent's byte and the rootfs mount descriptor
// that may come with it; -1 when none does.
func receiveRootfs() (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(childFD, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || n != 1 {
		return -1, fmt.Errorf("init: read from parent: %d bytes, %v", n, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return -1, nil
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("init: rootfs from parent: %v", err)
	}
	return fds[0], nil
}

// moveRootfs attaches the parent's overlay (mfd) at cfg.Rootfs in this
// mount namespace.
func moveRootfs(cfg *Config, mfd int) error {
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, cfg.Rootfs, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return mountErr("move_mount overlay", "", cfg.Rootfs, err)
	}
	return nil
}

// Command attack tries, from inside a container, the escapes that
// docs/SECURITY.md lists, and prints one line per attempt:
// "NAME refused: ERROR" or "NAME ALLOWED". It never does harm when an
// attempt succeeds: modules are empty, reboot asks for Ctrl-Alt-Del to
// be turned off, sysrq gets the help key, mounts are undone at once, and
// a binary is written only with "exe --write", which the test runs only
// against a copy of berth it made. The integration test builds it static
// (CGO_ENABLED=0) and bind-mounts it in.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attack syscalls|euid|exe")
		os.Exit(2)
	}
	mode := os.Args[1]
	for _, a := range os.Args[1:] {
		if a == "euid" {
			mode = a // also as a shell run by su: SHELL -c euid
		}
	}
	switch mode {
	case "syscalls":
		syscalls()
	case "euid":
		fmt.Printf("euid=%d\n", unix.Geteuid())
	case "exe":
		exe()
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func report(name string, err error) {
	if err != nil {
		fmt.Printf("%s refused: %v\n", name, err)
	} else {
		fmt.Printf("%s ALLOWED\n", name)
	}
}

func raw(trap uintptr, a ...uintptr) error {
	var args [6]uintptr
	copy(args[:], a)
	_, _, e := unix.Syscall6(trap, args[0], args[1], args[2], args[3], args[4], args[5])
	if e != 0 {
		return e
	}
	return nil
}

func cstr(s string) uintptr {
	b, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(b))
}

// openDevice makes a device node and opens it for reading.
func openDevice(name string, typ uint32, major, minor uint32) error {
	p := "/tmp/attack-" + name
	os.Remove(p)
	if err := unix.Mknod(p, typ|0o600, int(unix.Mkdev(major, minor))); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	defer os.Remove(p)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	f.Close()
	return nil
}

func syscalls() {
	report("keyctl", raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, keyring(unix.KEY_SPEC_SESSION_KEYRING), 0))
	report("add_key", raw(unix.SYS_ADD_KEY, cstr("user"), cstr("berth-attack"), cstr("x"), 1, keyring(unix.KEY_SPEC_PROCESS_KEYRING)))
	report("request_key", raw(unix.SYS_REQUEST_KEY, cstr("user"), cstr("berth-attack"), 0, 0))
	report("init_module", raw(unix.SYS_INIT_MODULE, cstr(""), 0, cstr("")))
	report("finit_module", raw(unix.SYS_FINIT_MODULE, 0, cstr(""), 0))
	report("delete_module", raw(unix.SYS_DELETE_MODULE, cstr("loop"), unix.O_NONBLOCK))
	report("reboot", unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF))
	report("kexec_load", raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0))
	os.MkdirAll(mnt, 0o755)
	report("mount tmpfs", mount("none", "tmpfs"))
	report("mount proc", mount("proc", "proc"))
	report("umount /proc/sys", unix.Unmount("/proc/sys", unix.MNT_DETACH))
	report("unshare user", unix.Unshare(unix.CLONE_NEWUSER))
	report("unshare mount", unix.Unshare(unix.CLONE_NEWNS))
	report("setns host mount", setnsHost())
	report("pivot_root", unix.PivotRoot(mnt, mnt))
	report("swapon", raw(unix.SYS_SWAPON, cstr("/dev/null"), 0))
	report("open_by_handle_at", openByHandle())
	report("bpf", raw(unix.SYS_BPF, 0, 0, 0))
	report("perf_event_open", raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0))
	report("settimeofday", unix.Settimeofday(&unix.Timeval{Sec: 1}))
	report("iopl", raw(unix.SYS_IOPL, 3))
	report("ioperm", raw(unix.SYS_IOPERM, 0x80, 1, 1))
	report("ptrace attach init", raw(unix.SYS_PTRACE, unix.PTRACE_ATTACH, 1, 0, 0))
	report("socket AF_VSOCK", socket(unix.AF_VSOCK))
	report("personality ADDR_NO_RANDOMIZE", personality(0x0040000))
	report("disk vda", openDevice("vda", unix.S_IFBLK, 254, 0))
	report("disk sda", openDevice("sda", unix.S_IFBLK, 8, 0))
	report("tun", openDevice("tun", unix.S_IFCHR, 10, 200))
	report("mem", openDevice("mem", unix.S_IFCHR, 1, 1))
	report("write /proc/sys/kernel/hostname", writeFile("/proc/sys/kernel/hostname", "attack"))
	report("write /proc/sys/kernel/core_pattern", writeFile("/proc/sys/kernel/core_pattern", "|/attack"))
	report("write /proc/sysrq-trigger", writeFile("/proc/sysrq-trigger", "h"))
	report("write /sys/kernel/uevent_helper", writeFile("/sys/kernel/uevent_helper", "/attack"))
	report("read /proc/kcore", readNonEmpty("/proc/kcore"))
	report("read /proc/keys", readNonEmpty("/proc/keys"))
	report("read /sys/firmware", dirNonEmpty("/sys/firmware"))
	report("see host processes", hostProcesses())
}

// mnt is where the mount attempts go; it is never a mount point
// afterwards.
const mnt = "/tmp/attack-mnt"

func mount(src, typ string) error {
	err := unix.Mount(src, mnt, typ, 0, "")
	if err == nil {
		unix.Unmount(mnt, unix.MNT_DETACH)
	}
	return err
}

func setnsHost() error {
	// PID 1 of the container is all there is; the host's are not in
	// this /proc.
	f, err := os.Open("/proc/1/ns/mnt")
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNS)
}

func openByHandle() error {
	// The "shocker" escape: a handle of the host's root inode.
	h := unix.NewFileHandle(1, []byte{2, 0, 0, 0, 0, 0, 0, 0})
	fd, err := unix.OpenByHandleAt(unix.AT_FDCWD, h, unix.O_RDONLY)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func personality(p uintptr) error {
	old, _, e := unix.Syscall(unix.SYS_PERSONALITY, p, 0, 0)
	if e != 0 {
		return e
	}
	unix.Syscall(unix.SYS_PERSONALITY, old, 0, 0)
	return nil
}

func socket(domain int) error {
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func writeFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(s)
	return err
}

// readNonEmpty fails unless p reads at least one byte.
func readNonEmpty(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	n, err := f.Read(b[:])
	if n == 0 {
		return fmt.Errorf("read nothing (%v)", err)
	}
	return nil
}

func dirNonEmpty(p string) error {
	es, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return fmt.Errorf("empty")
	}
	return nil
}

// hostProcesses fails unless /proc shows a process that is not this
// container's: systemd, journald or the like.
func hostProcesses() error {
	es, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	var seen []string
	for _, e := range es {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		c := strings.TrimSpace(string(comm))
		seen = append(seen, e.Name()+":"+c)
		if strings.HasPrefix(c, "systemd") || c == "berth" || c == "dbus-daemon" {
			return nil
		}
	}
	return fmt.Errorf("only %s", strings.Join(seen, " "))
}

// exe tries the CVE-2019-5736 class on every other process in the
// container whose binary is not busybox or this program (berth's, when
// a command resolved to /proc/self/exe): it keeps an O_PATH handle of
// /proc/PID/exe and says whether that file's mount is writable. With
// --write (only ever against a copy of berth the test made) it then
// kills the process, waits until it is gone, opens each handle for
// writing (while the binary runs the kernel answers ETXTBSY; after,
// only a read-only mount stops it) and, if that works, writes to it.
func exe() {
	self, _ := os.Readlink("/proc/self/exe")
	es, _ := os.ReadDir("/proc")
	type held struct {
		pid  int
		fd   int
		name string
	}
	var hs []held
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		link, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || link == self || strings.HasSuffix(link, "/busybox") {
			continue
		}
		fd, err := unix.Open("/proc/"+e.Name()+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
		name := fmt.Sprintf("berth binary of pid %d", pid)
		if err != nil {
			report("open "+name, err)
			continue
		}
		var st unix.Statfs_t
		err = unix.Fstatfs(fd, &st)
		if err == nil && st.Flags&unix.ST_RDONLY != 0 {
			err = fmt.Errorf("on a read-only mount")
		}
		report("writable mount of "+name, err)
		hs = append(hs, held{pid, fd, name})
	}
	fmt.Printf("binaries held: %d\n", len(hs))
	if len(os.Args) < 3 || os.Args[2] != "--write" {
		return
	}
	for _, h := range hs {
		unix.Kill(h.pid, unix.SIGKILL)
		// Gone, or a zombie (its parent, the container's PID 1, may not
		// reap it): either way its memory, and its hold on the binary,
		// are released.
		for i := 0; i < 300; i++ {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(h.pid) + "/stat")
			if err != nil || strings.Contains(string(st), ") Z ") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// As the exploit does: try again while some process still runs
		// the binary (berth exec's own process may not have exited yet).
		f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(h.fd), os.O_WRONLY, 0)
		for i := 0; i < 500 && errors.Is(err, unix.ETXTBSY); i++ {
			time.Sleep(20 * time.Millisecond)
			f, err = os.OpenFile("/proc/self/fd/"+strconv.Itoa(h.fd), os.O_WRONLY, 0)
		}
		if err == nil {
			// Opened: the binary is writable. Only a copy made for
			// the test is ever run like this, so mark it.
			if _, werr := f.WriteAt([]byte("pwned"), 0); werr != nil {
				fmt.Printf("opened, but the write failed: %v\n", werr)
			}
			f.Close()
		}
		report("write "+h.name+" after it exited", err)
	}
}

// keyring passes a negative special keyring ID as the kernel reads it.
func keyring(id int) uintptr { return uintptr(int64(id)) }

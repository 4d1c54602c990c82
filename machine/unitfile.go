package machine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/berth/berth/internal/unitsyntax"
)

// Unit file sections, in the order they are written.
var unitSections = []string{"Unit", "Service", "Install"}

// directive says where a property goes in a unit file and how its value
// is written.
type directive struct {
	section, key string
	format       func(v any) (string, error)
}

// listDirectives are directives written once per entry of their list.
var listDirectives = map[string]struct {
	section, key string
	lines        func(v any) ([]string, error)
}{
	"DeviceAllow":  {"Service", "DeviceAllow", deviceRules},
	"ExecStartPre": {"Service", "ExecStartPre", execLines},
}

// directives maps the properties UnitProperties makes to unit file
// directives (systemd.unit(5), systemd.service(5), systemd.exec(5),
// systemd.kill(5), systemd.resource-control(5)).
var directives = map[string]directive{
	"Description":              {"Unit", "Description", plainValue},
	"SourcePath":               {"Unit", "SourcePath", plainValue},
	"Requires":                 {"Unit", "Requires", wordList},
	"After":                    {"Unit", "After", wordList},
	"Wants":                    {"Unit", "Wants", wordList},
	"ExecStartPre":             {"Service", "ExecStartPre", execLine},
	"CollectMode":              {"Unit", "CollectMode", plainValue},
	"StartLimitBurst":          {"Unit", "StartLimitBurst", number},
	"StartLimitIntervalUSec":   {"Unit", "StartLimitIntervalSec", timeSpan},
	"Type":                     {"Service", "Type", plainValue},
	"NotifyAccess":             {"Service", "NotifyAccess", plainValue},
	"ExecStart":                {"Service", "ExecStart", execLine},
	"ExecStop":                 {"Service", "ExecStop", execLine},
	"ExecStopPost":             {"Service", "ExecStopPost", execLine},
	"Slice":                    {"Service", "Slice", plainValue},
	"Delegate":                 {"Service", "Delegate", boolean},
	"KillMode":                 {"Service", "KillMode", plainValue},
	"KillSignal":               {"Service", "KillSignal", number},
	"TimeoutStopUSec":          {"Service", "TimeoutStopSec", timeSpan},
	"OOMPolicy":                {"Service", "OOMPolicy", plainValue},
	"StandardInput":            {"Service", "StandardInput", plainValue},
	"StandardOutput":           {"Service", "StandardOutput", plainValue},
	"StandardError":            {"Service", "StandardError", plainValue},
	"SyslogLevel":              {"Service", "SyslogLevel", syslogLevel},
	"SyslogIdentifier":         {"Service", "SyslogIdentifier", plainValue},
	"LogExtraFields":           {"Service", "LogExtraFields", quotedList},
	"LogRateLimitIntervalUSec": {"Service", "LogRateLimitIntervalSec", timeSpan},
	"MemoryMax":                {"Service", "MemoryMax", number},
	"FileDescriptorStoreMax":   {"Service", "FileDescriptorStoreMax", number},
	"DevicePolicy":             {"Service", "DevicePolicy", plainValue},
	"MemorySwapMax":            {"Service", "MemorySwapMax", number},
	"CPUQuotaPerSecUSec":       {"Service", "CPUQuota", cpuQuota},
	"TasksMax":                 {"Service", "TasksMax", number},
	"Restart":                  {"Service", "Restart", plainValue},
	"RestartUSec":              {"Service", "RestartSec", timeSpan},
	"RestartForceExitStatus":   {"Service", "RestartForceExitStatus", exitStatusSet},
}

// RenderUnitFile writes props (from UnitProperties) as a unit file, for
// `berth generate systemd`; wantedBy, when given, becomes [Install]
// WantedBy=. See UnitFile.Render.
func RenderUnitFile(props []Property, wantedBy []string) (string, error) {
	return UnitFile{Props: props, WantedBy: wantedBy}.Render()
}

// UnitFile is a unit file to write: properties (as for a transient
// unit), WantedBy= targets, and raw lines of the user's own per section
// ("Unit", "Service", "Install"), written as they are after the rest.
type UnitFile struct {
	Props    []Property
	WantedBy []string
	Raw      map[string][]string
}

// Render writes the unit file. Values are escaped for the unit file
// syntax: specifiers ('%' becomes "%%"), and in command lines and field
// lists every word is quoted with C escapes ('\\', '"', control
// characters). "$" is left alone: systemd expands "$VAR" and "$$" in
// command lines at exec time for transient units as well, so properties
// already spell it for that. A value that cannot be written on one line
// (a newline in a description) is an error. Raw lines are not escaped:
// they are unit-file text already (their specifiers work).
func (u UnitFile) Render() (string, error) {
	lines := map[string][]string{}
	for _, p := range u.Props {
		if d, ok := listDirectives[p.Name]; ok {
			vs, err := d.lines(p.Value)
			if err != nil {
				return "", fmt.Errorf("unit file: %s: %w", d.key, err)
			}
			for _, v := range vs {
				lines[d.section] = append(lines[d.section], d.key+"="+v)
			}
			continue
		}
		d, ok := directives[p.Name]
		if !ok {
			return "", fmt.Errorf("unit file: no directive for property %s", p.Name)
		}
		v, err := d.format(p.Value)
		if err != nil {
			return "", fmt.Errorf("unit file: %s: %w", d.key, err)
		}
		lines[d.section] = append(lines[d.section], d.key+"="+v)
	}
	for _, w := range u.WantedBy {
		v, err := plainValue(w)
		if err != nil {
			return "", fmt.Errorf("unit file: WantedBy: %w", err)
		}
		lines["Install"] = append(lines["Install"], "WantedBy="+v)
	}
	for _, sec := range unitSections {
		for _, l := range u.Raw[sec] {
			if strings.ContainsAny(l, "\n\r") {
				return "", fmt.Errorf("unit file: raw line %q is not one line", l)
			}
			lines[sec] = append(lines[sec], l)
		}
	}
	var b strings.Builder
	b.WriteString("# Generated by berth; edits are lost when it is generated again.\n")
	for _, s := range unitSections {
		if len(lines[s]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n[%s]\n", s)
		for _, l := range lines[s] {
			b.WriteString(l + "\n")
		}
	}
	return b.String(), nil
}

// wordList is a space-separated list of names (unit names): each one
// plain.
func wordList(v any) (string, error) {
	ws, ok := v.([]string)
	if !ok {
		return "", fmt.Errorf("want a list of words, have %T", v)
	}
	for i, w := range ws {
		if strings.ContainsAny(w, " \t") {
			return "", fmt.Errorf("%q has a space", w)
		}
		p, err := plainValue(w)
		if err != nil {
			return "", err
		}
		ws[i] = p
	}
	return strings.Join(ws, " "), nil
}

// plainValue is a value taken as it is but for specifiers: '%' is
// doubled. It must fit on one line and not end in a backslash (which
// would continue the line).
func plainValue(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, have %T", v)
	}
	if strings.ContainsAny(s, "\n\r\x00") {
		return "", fmt.Errorf("%q does not fit on one line", s)
	}
	if strings.HasSuffix(s, `\`) {
		return "", fmt.Errorf("%q ends in a backslash, which would continue the line", s)
	}
	return strings.ReplaceAll(s, "%", "%%"), nil
}

func boolean(v any) (string, error) {
	b, ok := v.(bool)
	if !ok {
		return "", fmt.Errorf("want a bool, have %T", v)
	}
	if b {
		return "yes", nil
	}
	return "no", nil
}

func number(v any) (string, error) {
	switch x := v.(type) {
	case uint64:
		if x == math.MaxUint64 {
			return "infinity", nil
		}
		return strconv.FormatUint(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	}
	return "", fmt.Errorf("want a number, have %T", v)
}

// timeSpan writes microseconds with their unit; MaxUint64 is infinity.
func timeSpan(v any) (string, error) {
	us, ok := v.(uint64)
	if !ok {
		return "", fmt.Errorf("want microseconds (uint64), have %T", v)
	}
	if us == math.MaxUint64 {
		return "infinity", nil
	}
	return strconv.FormatUint(us, 10) + "us", nil
}

// cpuQuota turns CPU time per second into systemd's percentage.
func cpuQuota(v any) (string, error) {
	us, ok := v.(uint64)
	if !ok {
		return "", fmt.Errorf("want microseconds (uint64), have %T", v)
	}
	// 10,000 µs per second is 1%; systemd takes two decimals.
	return strconv.FormatFloat(float64(us)/1e4, 'f', -1, 64) + "%", nil
}

var syslogLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func syslogLevel(v any) (string, error) {
	l, ok := v.(int32)
	if !ok || l < 0 || int(l) >= len(syslogLevels) {
		return "", fmt.Errorf("want a syslog level 0-7, have %v", v)
	}
	return syslogLevels[l], nil
}

// execLines writes each command of a list as a line of its own: the
// commands run in order, as systemd's ExecStartPre= lines do.
func execLines(v any) ([]string, error) {
	cmds, ok := v.([]ExecCommand)
	if !ok {
		l, err := execLine(v)
		return []string{l}, err
	}
	out := make([]string, len(cmds))
	for i, c := range cmds {
		l, err := execLine(c)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

func execLine(v any) (string, error) {
	var cmds []ExecCommand
	switch x := v.(type) {
	case ExecCommand:
		cmds = []ExecCommand{x}
	case []ExecCommand:
		cmds = x
	default:
		return "", fmt.Errorf("want a command, have %T", v)
	}
	if len(cmds) != 1 {
		return "", fmt.Errorf("want one command, have %d", len(cmds))
	}
	c := cmds[0]
	if len(c.Argv) == 0 || c.Path != c.Argv[0] {
		// The file syntax has no separate argv[0]; berth never needs one.
		return "", fmt.Errorf("argv[0] %q differs from the path %q", c.Argv, c.Path)
	}
	words := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		words[i] = unitsyntax.QuoteWord(a)
	}
	prefix := ""
	if c.IgnoreFailure {
		prefix = "-"
	}
	// The path is an absolute name: unquoted, so that prefixes apply.
	words[0] = strings.ReplaceAll(c.Path, "%", "%%")
	if strings.ContainsAny(c.Path, " \t\n\"'\\") {
		return "", fmt.Errorf("path %q cannot be written unquoted", c.Path)
	}
	return prefix + strings.Join(words, " "), nil
}

func quotedList(v any) (string, error) {
	entries, ok := v.([][]byte)
	if !ok {
		return "", fmt.Errorf("want a list of fields, have %T", v)
	}
	words := make([]string, len(entries))
	for i, e := range entries {
		words[i] = unitsyntax.QuoteWord(string(e))
	}
	return strings.Join(words, " "), nil
}

func exitStatusSet(v any) (string, error) {
	set, ok := v.(ExitStatusSet)
	if !ok {
		return "", fmt.Errorf("want an exit status set, have %T", v)
	}
	var words []string
	for _, s := range set.Statuses {
		words = append(words, strconv.Itoa(int(s)))
	}
	for _, sig := range set.Signals {
		words = append(words, "SIG"+signalNameOf(syscall.Signal(sig)))
	}
	return strings.Join(words, " "), nil
}

// signalNameOf is the name of sig without "SIG" (the first, in sort
// order, of those that share its number).
func signalNameOf(sig syscall.Signal) string {
	var names []string
	for name, s := range signalNames {
		if s == sig {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return strconv.Itoa(int(sig))
	}
	slices.Sort(names)
	return names[0]
}

// deviceRules are DeviceAllow= values, one line each: the path or
// group, and the permissions. Neither may hold a space or a specifier.
func deviceRules(v any) ([]string, error) {
	rs, ok := v.([]DeviceRule)
	if !ok {
		return nil, fmt.Errorf("want []DeviceRule, got %T", v)
	}
	var out []string
	for _, r := range rs {
		if r.Path == "" || strings.ContainsAny(r.Path, " \t\n\r%\\\"") || strings.Trim(r.Permissions, "rwm") != "" {
			return nil, fmt.Errorf("device rule %q %q cannot be written", r.Path, r.Permissions)
		}
		out = append(out, r.Path+" "+r.Permissions)
	}
	return out, nil
}

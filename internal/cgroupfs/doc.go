// Package cgroupfs finds a process's cgroups on disk (Dirs) and starts
// the kernel's wait for a unit's first cgroup migration early
// (WarmAttach). It imports nothing that Go initialises later than os:
// Go initialises a program's packages in the order of their import
// paths, each once what it imports is, and package strings, which has
// no work of its own, takes its turn late by its name (after crypto,
// encoding/json, most of github.com…), holding up all its importers;
// so this package does without it (text.go), and the CLI's first
// initialiser can use it some 3 ms before main (cmd/internal/startwarm).
package cgroupfs

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// loginRegistry is the registry a login or logout command means: the
// argument's host (a URL is accepted, as Docker does), or Docker Hub.
func loginRegistry(args []string) string {
	if len(args) == 0 {
		return "docker.io"
	}
	r := strings.TrimPrefix(strings.TrimPrefix(args[0], "https://"), "http://")
	r, _, _ = strings.Cut(r, "/")
	if r == "index.docker.io" || r == "registry-1.docker.io" {
		r = "docker.io"
	}
	return r
}

func newLoginCommand(g *globalOptions) *cobra.Command {
	var user, password string
	var passwordStdin, tlsVerify bool
	c := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long: `Log in to a registry (Docker Hub when no SERVER is given): the credentials
are checked with the registry, then kept in $REGISTRY_AUTH_FILE, else
$DOCKER_CONFIG/config.json, else ~/.docker/config.json, in Docker's
format, where berth pull and push (and docker, podman, skopeo) find them.`,
		Args: rangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			registry := loginRegistry(args)
			if passwordStdin && password != "" {
				return usageError{fmt.Errorf("--password and --password-stdin are mutually exclusive")}
			}
			if passwordStdin && user == "" {
				return usageError{fmt.Errorf("must provide --username with --password-stdin")}
			}
			in := bufio.NewReader(c.InOrStdin())
			if password != "" {
				fmt.Fprintln(c.ErrOrStderr(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			if passwordStdin {
				b, err := io.ReadAll(in)
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(b), "\r\n")
			}
			if user == "" {
				fmt.Fprint(c.OutOrStdout(), "Username: ")
				l, _ := in.ReadString('\n')
				user = strings.TrimSpace(l)
			}
			if password == "" && !passwordStdin {
				fmt.Fprint(c.OutOrStdout(), "Password: ")
				p, err := readPassword(c.InOrStdin(), in)
				fmt.Fprintln(c.OutOrStdout())
				if err != nil {
					return err
				}
				password = p
			}
			if user == "" {
				return usageError{fmt.Errorf("username is empty")}
			}
			if password == "" {
				return usageError{fmt.Errorf("password is empty")}
			}
			cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
			if err != nil {
				return engineError{err}
			}
			if err := imagestore.CheckLogin(c.Context(), registry, user, password, !tlsVerify || cfg.Insecure(registry)); err != nil {
				return err
			}
			file := imagestore.AuthFile()
			if err := imagestore.SaveCredentials(file, registry, user, password); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "WARNING! Your password will be stored unencrypted in %s.\n", file)
			fmt.Fprintln(c.OutOrStdout(), "Login Succeeded")
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&user, "username", "u", "", "Username")
	f.StringVarP(&password, "password", "p", "", "Password")
	f.BoolVar(&passwordStdin, "password-stdin", false, "Take the password from stdin")
	f.BoolVar(&tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (except on loopback)")
	return c
}

// readPassword reads a line from stdin, without echo when it is a
// terminal.
func readPassword(stdin io.Reader, in *bufio.Reader) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		fd := int(f.Fd())
		if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			quiet := *t
			quiet.Lflag &^= unix.ECHO
			unix.IoctlSetTermios(fd, unix.TCSETS, &quiet)
			defer unix.IoctlSetTermios(fd, unix.TCSETS, t)
		}
	}
	l, err := in.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

func newLogoutCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  rangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			registry := loginRegistry(args)
			found, err := imagestore.RemoveCredentials(imagestore.AuthFile(), registry)
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(c.OutOrStdout(), "Not logged in to %s\n", registry)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "Removing login credentials for %s\n", registry)
			return nil
		},
	}
}

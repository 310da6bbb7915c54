package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// credentials gathers the username and password as Helm 3's registry
// login does: --password-stdin reads the password from stdin (one trailing
// newline dropped) and wins over -p, without a warning; -p alone warns;
// with neither, the username (unless given) and then the password, or a
// token when there is no username, are prompted for.
func (a *RegistryLogin) credentials() (string, string, error) {
	user, pass := a.Username, a.Password
	switch {
	case a.PasswordStdin:
		b, err := io.ReadAll(a.Env.In)
		if err != nil {
			return "", "", err
		}
		pass = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		return user, pass, nil
	case pass != "":
		a.Env.warn("Using --password via the CLI is insecure. Use --password-stdin.")
		return user, pass, nil
	}
	out := a.Env.Out // Helm prompts on stdout
	r := bufio.NewReader(a.Env.In)
	if user == "" {
		fmt.Fprint(out, "Username: ")
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return "", "", err
		}
		user = strings.TrimSpace(line)
	}
	prompt, missing := "Password: ", "password required"
	if user == "" {
		prompt, missing = "Token: ", "token required"
	}
	fmt.Fprint(out, prompt)
	line, err := r.ReadString('\n')
	fmt.Fprintln(out)
	if err != nil && line == "" {
		return "", "", err
	}
	pass = strings.TrimRight(line, "\r\n")
	if pass == "" {
		return "", "", errors.New(missing)
	}
	return user, pass, nil
}

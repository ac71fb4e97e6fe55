// tiltfile-eval evaluates a Tiltfile with the Starlark interpreter Tilt embeds (go.starlark.net) and
// Tilt's built-ins declared with their documented parameters, then prints what the Tiltfile asked for
// as JSON. Tilt itself is not available from the package registries, so this is how the chart checks
// prove, without a cluster, that the Tiltfile parses, calls only known built-ins with known keyword
// arguments, and deploys what it says. helm() shells out to the real helm so k8s_yaml() sees the
// rendered chart.
//
// Usage: tiltfile-eval [--helm PATH] [--context NAME] [--env K=V] Tiltfile > result.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

type call struct {
	Builtin string         `json:"builtin"`
	Args    map[string]any `json:"args"`
}

type evaluator struct {
	dir      string
	helmPath string
	context  string
	calls    []call
	watched  []string
}

// param names one parameter of a built-in; a trailing "?" marks it optional (starlark.UnpackArgs syntax).
type builtinSpec struct {
	name   string
	params []string
	result func(e *evaluator, args map[string]starlark.Value) (starlark.Value, error)
}

func main() {
	helmPath := flag.String("helm", "helm", "helm binary used by helm()")
	kubeContext := flag.String("context", "kind-reservex", "value returned by k8s_context()")
	var envs multiFlag
	flag.Var(&envs, "env", "KEY=VALUE visible to os.getenv (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tiltfile-eval [--helm PATH] [--context NAME] [--env K=V] Tiltfile")
		os.Exit(2)
	}
	tiltfile, err := filepath.Abs(flag.Arg(0))
	check(err)
	env := map[string]string{}
	for _, kv := range envs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	e := &evaluator{dir: filepath.Dir(tiltfile), helmPath: *helmPath, context: *kubeContext}
	predeclared := e.predeclared(env)
	thread := &starlark.Thread{
		Name:  "Tiltfile",
		Print: func(_ *starlark.Thread, msg string) { fmt.Fprintln(os.Stderr, msg) },
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load(%q): extensions are fetched at run time and cannot be evaluated offline", module)
		},
	}
	// The dialect Tilt enables: top-level if/for, global reassignment, sets, while, recursion.
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	src, err := os.ReadFile(tiltfile)
	check(err)
	if _, err := starlark.ExecFileOptions(opts, thread, tiltfile, src, predeclared); err != nil {
		if evalErr, ok := err.(*starlark.EvalError); ok {
			fmt.Fprintln(os.Stderr, evalErr.Backtrace())
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	check(out.Encode(map[string]any{"calls": e.calls, "watched": e.watched}))
}

func (e *evaluator) predeclared(env map[string]string) starlark.StringDict {
	none := func(*evaluator, map[string]starlark.Value) (starlark.Value, error) { return starlark.None, nil }
	specs := []builtinSpec{
		{"docker_build", []string{"ref", "context", "build_args?", "dockerfile?", "dockerfile_contents?", "live_update?", "match_in_env_vars?", "ignore?", "only?", "entrypoint?", "target?", "ssh?", "network?", "secret?", "extra_tag?", "container_args?", "cache_from?", "pull?", "platform?", "extra_hosts?", "env?"}, none},
		{"k8s_yaml", []string{"yaml", "allow_duplicates?"}, none},
		{"k8s_resource", []string{"workload?", "new_name?", "port_forwards?", "extra_pod_selectors?", "trigger_mode?", "resource_deps?", "objects?", "auto_init?", "pod_readiness?", "links?", "labels?", "discovery_strategy?"}, none},
		{"local_resource", []string{"name", "cmd?", "deps?", "trigger_mode?", "resource_deps?", "ignore?", "auto_init?", "serve_cmd?", "cmd_bat?", "serve_cmd_bat?", "allow_parallel?", "links?", "tags?", "env?", "serve_env?", "readiness_probe?", "dir?", "serve_dir?", "labels?"}, none},
		{"allow_k8s_contexts", []string{"contexts"}, none},
		{"default_registry", []string{"host", "host_from_cluster?", "single_name?"}, none},
		{"update_settings", []string{"max_parallel_updates?", "k8s_upsert_timeout_secs?", "suppress_unused_image_warnings?"}, none},
		{"watch_settings", []string{"ignore?"}, none},
		{"version_settings", []string{"check_updates?", "constraint?"}, none},
		{"sync", []string{"local_path", "remote_path"}, step("sync")},
		{"run", []string{"cmd", "trigger?", "echo_off?"}, step("run")},
		{"fall_back_on", []string{"files"}, step("fall_back_on")},
		{"initial_sync", nil, step("initial_sync")},
		{"port_forward", []string{"local_port", "container_port?", "name?", "link_path?", "host?"}, step("port_forward")},
		{"link", []string{"url", "name?"}, step("link")},
		{"helm", []string{"paths", "name?", "namespace?", "values?", "set?", "kube_version?", "skip_crds?"}, (*evaluator).helm},
		{"read_file", []string{"file_path", "default?"}, (*evaluator).readFile},
		{"watch_file", []string{"file_path"}, (*evaluator).watchFile},
		{"k8s_context", nil, func(e *evaluator, _ map[string]starlark.Value) (starlark.Value, error) {
			return starlark.String(e.context), nil
		}},
	}
	d := starlark.StringDict{
		"TRIGGER_MODE_AUTO":   starlark.MakeInt(0),
		"TRIGGER_MODE_MANUAL": starlark.MakeInt(1),
		"fail": starlark.NewBuiltin("fail", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return nil, fmt.Errorf("fail(): %v", args)
		}),
		"os": starlarkstruct.FromStringDict(starlark.String("os"), starlark.StringDict{
			"getenv": starlark.NewBuiltin("os.getenv", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var key string
				var dflt starlark.Value = starlark.None
				if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "default?", &dflt); err != nil {
					return nil, err
				}
				if v, ok := env[key]; ok {
					return starlark.String(v), nil
				}
				return dflt, nil
			}),
		}),
		"config": starlarkstruct.FromStringDict(starlark.String("config"), starlark.StringDict{
			"tilt_subcommand":    starlark.String("up"),
			"define_string":      e.record(builtinSpec{"config.define_string", []string{"name", "args?", "usage?"}, none}),
			"define_string_list": e.record(builtinSpec{"config.define_string_list", []string{"name", "args?", "usage?"}, none}),
			"define_bool":        e.record(builtinSpec{"config.define_bool", []string{"name", "args?", "usage?"}, none}),
			"parse": starlark.NewBuiltin("config.parse", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return starlark.NewDict(0), nil
			}),
		}),
	}
	for _, s := range specs {
		d[s.name] = e.record(s)
	}
	return d
}

// record wraps a built-in: it checks the arguments against the declared parameters, records the call
// and returns the built-in's result.
func (e *evaluator) record(s builtinSpec) *starlark.Builtin {
	return starlark.NewBuiltin(s.name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		values := make([]starlark.Value, len(s.params))
		pairs := make([]any, 0, 2*len(s.params))
		for i, p := range s.params {
			pairs = append(pairs, p, &values[i])
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		named := map[string]starlark.Value{}
		recorded := map[string]any{}
		for i, p := range s.params {
			if values[i] == nil {
				continue
			}
			name := strings.TrimSuffix(p, "?")
			named[name] = values[i]
			recorded[name] = toJSON(values[i])
		}
		e.calls = append(e.calls, call{Builtin: s.name, Args: recorded})
		return s.result(e, named)
	})
}

// step is a live_update step or a port forward: a value the Tiltfile passes on to another built-in.
func step(kind string) func(*evaluator, map[string]starlark.Value) (starlark.Value, error) {
	return func(_ *evaluator, args map[string]starlark.Value) (starlark.Value, error) {
		fields := starlark.StringDict{"kind": starlark.String(kind)}
		for k, v := range args {
			fields[k] = v
		}
		return starlarkstruct.FromStringDict(starlark.String(kind), fields), nil
	}
}

func (e *evaluator) helm(args map[string]starlark.Value) (starlark.Value, error) {
	chart := e.path(args["paths"])
	cmd := []string{"template"}
	if n, ok := args["name"].(starlark.String); ok && n != "" {
		cmd = append(cmd, string(n))
	}
	cmd = append(cmd, chart)
	if ns, ok := args["namespace"].(starlark.String); ok && ns != "" {
		cmd = append(cmd, "--namespace", string(ns))
	}
	for _, v := range stringList(args["values"]) {
		cmd = append(cmd, "--values", e.path(starlark.String(v)))
	}
	for _, v := range stringList(args["set"]) {
		cmd = append(cmd, "--set", v)
	}
	if kv, ok := args["kube_version"].(starlark.String); ok && kv != "" {
		cmd = append(cmd, "--kube-version", string(kv))
	}
	if s, ok := args["skip_crds"].(starlark.Bool); !ok || !bool(s) {
		cmd = append(cmd, "--include-crds")
	}
	out, err := exec.Command(e.helmPath, cmd...).Output()
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("helm %s: %s", strings.Join(cmd, " "), exit.Stderr)
		}
		return nil, err
	}
	return starlark.String(out), nil
}

func (e *evaluator) readFile(args map[string]starlark.Value) (starlark.Value, error) {
	p := e.path(args["file_path"])
	e.watched = append(e.watched, p)
	b, err := os.ReadFile(p)
	if err != nil {
		if d, ok := args["default"]; ok {
			return d, nil
		}
		return nil, err
	}
	return starlark.String(b), nil
}

func (e *evaluator) watchFile(args map[string]starlark.Value) (starlark.Value, error) {
	e.watched = append(e.watched, e.path(args["file_path"]))
	return starlark.None, nil
}

func (e *evaluator) path(v starlark.Value) string {
	s, _ := starlark.AsString(v)
	if filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(e.dir, s)
}

func stringList(v starlark.Value) []string {
	if v == nil {
		return nil
	}
	if s, ok := starlark.AsString(v); ok {
		return []string{s}
	}
	var out []string
	if it, ok := v.(starlark.Iterable); ok {
		iter := it.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			if s, ok := starlark.AsString(x); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func toJSON(v starlark.Value) any {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(x)
	case starlark.Int:
		i, _ := x.Int64()
		return i
	case starlark.Float:
		return float64(x)
	case starlark.String:
		return string(x)
	case *starlarkstruct.Struct:
		m := map[string]any{}
		for _, name := range x.AttrNames() {
			f, _ := x.Attr(name)
			m[name] = toJSON(f)
		}
		return m
	case *starlark.Dict:
		m := map[string]any{}
		for _, item := range x.Items() {
			k, _ := starlark.AsString(item[0])
			m[k] = toJSON(item[1])
		}
		return m
	case starlark.Iterable:
		out := []any{}
		iter := x.Iterate()
		defer iter.Done()
		var item starlark.Value
		for iter.Next(&item) {
			out = append(out, toJSON(item))
		}
		return out
	default:
		return v.String()
	}
}

type multiFlag []string

func (m *multiFlag) String() string {
	s := append([]string(nil), *m...)
	sort.Strings(s)
	return strings.Join(s, ",")
}
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// fileConfig is the YAML file's shape. Fields start from the defaults, so
// keys the file leaves out keep them.
type fileConfig struct {
	Server       Server       `yaml:"server"`
	DataDir      string       `yaml:"data_dir"`
	Database     Database     `yaml:"database"`
	Redis        Redis        `yaml:"redis"`
	SecretKey    string       `yaml:"secret_key"`
	DefaultCoin  string       `yaml:"default_coin"`
	Coins        yaml.Node    `yaml:"coins"`
	PeerChannels PeerChannels `yaml:"peer_channels"`
}

// UnmarshalYAML reads "15s"-style strings or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// parseYAML reads a config file into cfg and returns every problem found:
// syntax, unknown keys (with their line), and values of the wrong type.
func parseYAML(data []byte, path string, cfg *Config) Problems {
	var probs Problems
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		probs.add(path, "", "%v", err)
		return probs
	}
	if len(root.Content) == 0 {
		probs.add(path, "", "file is empty")
		return probs
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		probs.add(path, "", "line %d: the top level must be a mapping", doc.Line)
		return probs
	}
	checkKeys(doc, reflect.TypeOf(fileConfig{}), "", path, &probs)

	fc := fileConfig{
		Server:       cfg.Server,
		DataDir:      cfg.DataDir,
		Database:     cfg.Database,
		Redis:        cfg.Redis,
		SecretKey:    cfg.SecretKey,
		PeerChannels: cfg.PeerChannels,
	}
	if err := doc.Decode(&fc); err != nil {
		addDecodeError(&probs, path, "", err)
		return probs
	}
	cfg.Server, cfg.DataDir, cfg.Database, cfg.Redis = fc.Server, fc.DataDir, fc.Database, fc.Redis
	cfg.SecretKey, cfg.PeerChannels, cfg.DefaultCoin = fc.SecretKey, fc.PeerChannels, fc.DefaultCoin

	coins := &fc.Coins
	if coins.Kind == 0 {
		return probs // "coins: at least one" is reported by validate
	}
	if coins.Kind != yaml.MappingNode {
		probs.add(path, "coins", "line %d: must be a mapping of coin name to settings", coins.Line)
		return probs
	}
	for i := 0; i+1 < len(coins.Content); i += 2 {
		name, body := coins.Content[i].Value, coins.Content[i+1]
		key := "coins." + name
		if body.Kind != yaml.MappingNode {
			probs.add(path, key, "line %d: must be a mapping", body.Line)
			continue
		}
		checkKeys(body, reflect.TypeOf(Coin{}), key, path, &probs)
		c := Coin{Name: name, FixedFeeSatoshis: 10000}
		if err := body.Decode(&c); err != nil {
			addDecodeError(&probs, path, key, err)
			continue
		}
		cfg.Coins = append(cfg.Coins, c)
	}
	return probs
}

func addDecodeError(probs *Problems, path, key string, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			probs.add(path, key, "%s", e)
		}
		return
	}
	probs.add(path, key, "%v", err)
}

// checkKeys reports every mapping key under n that t has no field for, with
// its line, so a typo is an error instead of a silently ignored setting.
func checkKeys(n *yaml.Node, t reflect.Type, path, file string, probs *Problems) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	if t == reflect.TypeOf(yaml.Node{}) {
		return
	}
	fields := yamlFields(t)
	var allowed []string
	if t == reflect.TypeOf(Backend{}) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "type" {
				allowed = backendKeys(n.Content[i+1].Value)
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if path != "" {
			key = path + "." + k.Value
		}
		ft, ok := fields[k.Value]
		if !ok {
			probs.add(file, key, "line %d: unknown key (known: %s)", k.Line, strings.Join(sortedKeys(fields), ", "))
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			probs.add(file, key, "line %d: not an option of this backend type (its options: %s)", k.Line, strings.Join(allowed, ", "))
			continue
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		checkKeys(v, ft, key, file, probs)
	}
}

// yamlFields maps each YAML key of struct t (inline fields flattened) to
// its field type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

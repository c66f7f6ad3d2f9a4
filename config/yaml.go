package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
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
	Deposits     Deposits     `yaml:"deposits"`
	Events       yaml.Node    `yaml:"events"`
	// StatusServer has two spellings in cryptoassets' docs.
	StatusServer  *StatusServer `yaml:"status_server"`
	StatusServer2 *StatusServer `yaml:"status-server"`
	Service       Service       `yaml:"service"`
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
		Deposits:     cfg.Deposits,
	}
	if err := doc.Decode(&fc); err != nil {
		addDecodeError(&probs, path, "", err)
		return probs
	}
	cfg.Server, cfg.DataDir, cfg.Database, cfg.Redis = fc.Server, fc.DataDir, fc.Database, fc.Redis
	cfg.SecretKey, cfg.PeerChannels, cfg.DefaultCoin = fc.SecretKey, fc.PeerChannels, fc.DefaultCoin
	cfg.Deposits, cfg.Service = fc.Deposits, fc.Service
	cfg.StatusServer = fc.StatusServer
	if fc.StatusServer2 != nil {
		if fc.StatusServer != nil {
			probs.add(path, "status-server", "set twice: status_server and status-server are the same setting")
		}
		cfg.StatusServer = fc.StatusServer2
	}
	probs = append(probs, parseEvents(&fc.Events, path, cfg)...)

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
		if c.Backend.Type == "" && unquotedNull(mappingValue(mappingValue(body, "backend"), "type")) {
			// `type: null` unquoted is YAML's null, not the string; the
			// README lists the null backend that way, so take it as meant.
			c.Backend.Type = BackendNull
		}
		resolveType(path, key+".backend", "backend", &c.Backend.Type, &c.Backend.Class, &probs)
		if c.Backend.Class != "" && c.Backend.Type == BackendNode {
			// cryptoassets only ever used bitcoind's wallet: no chain
			// index (a full-chain sync) unless asked for, and the
			// wallet is the node itself.
			if c.Backend.Index == nil {
				f := false
				c.Backend.Index = &f
			}
			if c.Backend.Wallet == nil {
				c.Backend.Wallet = &Wallet{}
			}
		}
		if c.Network == "" && c.Testnet {
			c.Network = "testnet"
		}
		cfg.Coins = append(cfg.Coins, c)
	}
	return probs
}

// parseEvents reads the events mapping (name → handler) in file order.
func parseEvents(n *yaml.Node, path string, cfg *Config) Problems {
	var probs Problems
	if n.Kind == 0 {
		return probs
	}
	if n.Kind != yaml.MappingNode {
		probs.add(path, "events", "line %d: must be a mapping of handler name to settings", n.Line)
		return probs
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, body := n.Content[i].Value, n.Content[i+1]
		key := "events." + name
		if body.Kind != yaml.MappingNode {
			probs.add(path, key, "line %d: must be a mapping", body.Line)
			continue
		}
		if !validHandlerName(name) {
			probs.add(path, key, "line %d: a handler name is 1-64 letters, digits, '-', '_' or '.'", n.Content[i].Line)
			continue
		}
		checkKeys(body, reflect.TypeOf(EventHandler{}), key, path, &probs)
		e := EventHandler{Name: name}
		if err := body.Decode(&e); err != nil {
			addDecodeError(&probs, path, key, err)
			continue
		}
		cfg.Events = append(cfg.Events, e)
	}
	return probs
}

// validHandlerName keeps handler names printable and short: they name
// outbox queues in the store and appear in logs and metrics.
func validHandlerName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// mappingValue returns the value node of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// unquotedNull reports whether n is the word null written without quotes
// (YAML reads it as null, not as the string "null"). An empty value or ~
// is null too, but nobody means the null backend by those.
func unquotedNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null" && strings.EqualFold(n.Value, "null")
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
	// Blocks whose options depend on their type only accept that type's
	// keys (an unknown type is reported by validation instead).
	var allowed []string
	switch t {
	case reflect.TypeOf(Backend{}):
		allowed = backendKeys(typeOf("backend", n))
	case reflect.TypeOf(Walletnotify{}):
		allowed = walletnotifyKeys(typeOf("walletnotify", n))
	case reflect.TypeOf(EventHandler{}):
		allowed = eventKeys(typeOf("event", n))
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
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			// A list of blocks, or (walletnotify) one block standing for it.
			if v.Kind == yaml.SequenceNode {
				for j, item := range v.Content {
					checkKeys(item, ft.Elem(), fmt.Sprintf("%s[%d]", key, j), file, probs)
				}
				continue
			}
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

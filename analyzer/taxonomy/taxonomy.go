// Package taxonomy holds the public-opinion categories (舆情分类) the product
// sorts posts into and routes cases by (谁主管谁负责): emergencies and
// disasters, public safety, food and drugs, environment, health, education,
// housing and land, employment and social security, finance and illegal
// fund-raising, law enforcement and justice, government conduct and policy,
// other (DESIGN.md §1, monitoring focus). They are data: a YAML file of
// categories with weighted keywords and the news classes of the category
// model that map to them (default_taxonomy.yaml, embedded; an operator may
// configure another).
//
// A post's category comes from its tokens first (each category scores its
// distinct keywords, strong 2 and weak 1; the best score reaching min_score
// wins, ties to the category listed first), then from the news-class model
// when it is sure enough of a class a category claims, else it is "other".
// Every decision carries its reason in Chinese.
package taxonomy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

//go:embed default_taxonomy.yaml
var defaultYAML []byte

// DefaultYAML gives the embedded default taxonomy's YAML.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

// Points of a strong and of a weak keyword.
const (
	StrongPoints = 2
	WeakPoints   = 1
)

// Taxonomy is a loaded set of categories. It is read-only and safe for
// concurrent use.
type Taxonomy struct {
	names        []string
	other        int
	minScore     int
	minModelProb float64
	// keywords by word: the category and points of each (a word may be a
	// keyword of several categories)
	keywords map[string][]hit
	// byClass maps a news class of the category model to a category
	byClass map[string]int
	words   []string
	// first marks the first runes of keywords below firstRunes, so most
	// tokens are passed over without a map look-up
	first [firstRunes / 64]uint64
	// firstHigh: some keyword starts at or above firstRunes
	firstHigh bool
}

const firstRunes = 1 << 16

func (t *Taxonomy) markFirst(w string) {
	r, _ := utf8.DecodeRuneInString(w)
	if r >= firstRunes {
		t.firstHigh = true
		return
	}
	t.first[r/64] |= 1 << (r % 64)
}

// maybeKeyword is false when no keyword starts like tok.
func (t *Taxonomy) maybeKeyword(tok string) bool {
	if tok == "" {
		return false
	}
	r := rune(tok[0])
	if r >= utf8.RuneSelf {
		r, _ = utf8.DecodeRuneInString(tok)
	}
	if r >= firstRunes {
		return t.firstHigh
	}
	return t.first[r/64]&(1<<(r%64)) != 0
}

type hit struct {
	cat    int
	points int
}

type yamlTaxonomy struct {
	MinScore     int            `yaml:"min_score"`
	MinModelProb float64        `yaml:"min_model_prob"`
	Other        string         `yaml:"other"`
	Categories   []yamlCategory `yaml:"categories"`
}

type yamlCategory struct {
	Name         string   `yaml:"name"`
	Strong       []string `yaml:"strong"`
	Weak         []string `yaml:"weak"`
	ModelClasses []string `yaml:"model_classes"`
}

var (
	defaultOnce sync.Once
	defaultTax  *Taxonomy
)

// Default gives the embedded taxonomy.
func Default() *Taxonomy {
	defaultOnce.Do(func() {
		t, err := Load(bytes.NewReader(defaultYAML))
		if err != nil {
			panic("taxonomy: embedded default_taxonomy.yaml: " + err.Error())
		}
		defaultTax = t
	})
	return defaultTax
}

// LoadFile reads a taxonomy from a YAML file.
func LoadFile(path string) (*Taxonomy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	defer f.Close()
	t, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Load reads a taxonomy from YAML; unknown fields, duplicate categories,
// a keyword listed twice in one category and a news class claimed by two
// categories are errors naming the category.
func Load(r io.Reader) (*Taxonomy, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var y yamlTaxonomy
	if err := dec.Decode(&y); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("taxonomy: 分类文件为空")
		}
		return nil, fmt.Errorf("taxonomy: 无法解析分类 YAML: %w", err)
	}
	if len(y.Categories) == 0 {
		return nil, errors.New("taxonomy: 没有任何类别（categories）")
	}
	t := &Taxonomy{
		other:        -1,
		minScore:     y.MinScore,
		minModelProb: y.MinModelProb,
		keywords:     map[string][]hit{},
		byClass:      map[string]int{},
	}
	if t.minScore <= 0 {
		t.minScore = StrongPoints
	}
	if t.minModelProb <= 0 || t.minModelProb > 1 {
		if t.minModelProb > 1 {
			return nil, fmt.Errorf("taxonomy: min_model_prob %v 超出 0–1", y.MinModelProb)
		}
		t.minModelProb = 0.7
	}
	other := strings.TrimSpace(y.Other)
	if other == "" {
		other = "其他"
	}
	for i, c := range y.Categories {
		name := strings.TrimSpace(c.Name)
		switch {
		case name == "":
			return nil, fmt.Errorf("taxonomy: 第 %d 个类别没有名称（name）", i+1)
		case !utf8.ValidString(name) || utf8.RuneCountInString(name) > 20:
			return nil, fmt.Errorf("taxonomy: 第 %d 个类别的名称 %q 无效（须为 1–20 个字的 UTF-8 文本）", i+1, name)
		case slices.Contains(t.names, name):
			return nil, fmt.Errorf("taxonomy: 类别 %q 重复", name)
		}
		t.names = append(t.names, name)
		if name == other {
			t.other = i
		}
		seen := map[string]bool{}
		for _, list := range []struct {
			words  []string
			points int
		}{{c.Strong, StrongPoints}, {c.Weak, WeakPoints}} {
			for _, w := range list.words {
				w = strings.TrimSpace(w)
				if w == "" || !utf8.ValidString(w) || strings.ContainsAny(w, " \t\n") {
					return nil, fmt.Errorf("taxonomy: 类别 %q 的关键词 %q 无效（不能为空或含空白）", name, w)
				}
				if seen[w] {
					return nil, fmt.Errorf("taxonomy: 类别 %q 的关键词 %q 重复", name, w)
				}
				seen[w] = true
				if len(t.keywords[w]) == 0 {
					t.words = append(t.words, w)
					t.markFirst(w)
				}
				t.keywords[w] = append(t.keywords[w], hit{i, list.points})
			}
		}
		for _, cl := range c.ModelClasses {
			if prev, ok := t.byClass[cl]; ok {
				return nil, fmt.Errorf("taxonomy: 模型类别 %q 同时归入 %q 和 %q", cl, t.names[prev], name)
			}
			t.byClass[cl] = i
		}
	}
	if t.other < 0 {
		return nil, fmt.Errorf("taxonomy: 缺少兜底类别 %q（other 指定的类别须在 categories 中）", other)
	}
	return t, nil
}

// Names gives the category names in their configured order.
func (t *Taxonomy) Names() []string { return slices.Clone(t.names) }

// Other is the name of the fallback category.
func (t *Taxonomy) Other() string { return t.names[t.other] }

// Has reports whether name is a category.
func (t *Taxonomy) Has(name string) bool { return slices.Contains(t.names, name) }

// Words gives every keyword once, for the segmenter's user dictionary.
func (t *Taxonomy) Words() []string { return slices.Clone(t.words) }

// Result is one categorisation.
type Result struct {
	Category string
	// Score is the winning category's keyword score (0 when the model or
	// the fallback decided), Matched its keywords in order of appearance
	// (in the Scratch's memory: valid until its next use).
	Score   int
	Matched []string
	// ModelClass and ModelProb are the news-class model's verdict that was
	// consulted (empty when keywords decided).
	ModelClass string
	ModelProb  float64
}

// Scratch is reusable memory for Classify; the zero value is ready.
type Scratch struct {
	scores  []int
	matched []matchedWord
	words   []string
}

type matchedWord struct {
	word string
	cat  int
}

// Classify categorises a text from its tokens, falling back on the news
// class the category model gave (modelClass with probability modelProb;
// "" when there is none). sc may be nil.
func (t *Taxonomy) Classify(tokens []string, modelClass string, modelProb float64, sc *Scratch) Result {
	if sc == nil {
		sc = &Scratch{}
	}
	n := len(t.names)
	if cap(sc.scores) < n {
		sc.scores = make([]int, n)
	}
	sc.scores = sc.scores[:n]
	clear(sc.scores)
	sc.matched = sc.matched[:0]
	for _, tok := range tokens {
		if !t.maybeKeyword(tok) {
			continue
		}
		hits, ok := t.keywords[tok]
		if !ok {
			continue
		}
		for _, h := range hits {
			if slices.Contains(sc.matched, matchedWord{tok, h.cat}) {
				continue
			}
			sc.matched = append(sc.matched, matchedWord{tok, h.cat})
			sc.scores[h.cat] += h.points
		}
	}
	best := -1
	for i, s := range sc.scores {
		if i != t.other && s >= t.minScore && (best < 0 || s > sc.scores[best]) {
			best = i
		}
	}
	if best >= 0 {
		sc.words = sc.words[:0]
		for _, m := range sc.matched {
			if m.cat == best {
				sc.words = append(sc.words, m.word)
			}
		}
		return Result{Category: t.names[best], Score: sc.scores[best], Matched: sc.words}
	}
	r := Result{Category: t.names[t.other], ModelClass: modelClass, ModelProb: modelProb}
	if c, ok := t.byClass[modelClass]; ok && modelProb >= t.minModelProb {
		r.Category = t.names[c]
	}
	return r
}

// Reason explains a Result in Chinese; zh names the model's news class
// (for example 时政 for politics).
func (t *Taxonomy) Reason(r Result, zh func(class string) string) string {
	var b strings.Builder
	switch {
	case r.Score > 0:
		b.WriteString("关键词：")
		b.WriteString(strings.Join(r.Matched, "、"))
		b.WriteString("（得分 ")
		b.WriteString(strconv.Itoa(r.Score))
		b.WriteString("，门槛 ")
		b.WriteString(strconv.Itoa(t.minScore))
		b.WriteString("）")
	case r.ModelClass == "":
		b.WriteString("关键词不足，无新闻分类结果，归入")
		b.WriteString(r.Category)
	default:
		class := r.ModelClass
		if zh != nil {
			class = zh(class)
		}
		b.WriteString("关键词不足；新闻分类模型判为")
		b.WriteString(class)
		b.WriteString("（概率 ")
		b.WriteString(strconv.FormatFloat(r.ModelProb, 'f', 2, 64))
		b.WriteString("）")
		if r.Category != t.names[t.other] {
			b.WriteString("，对应")
		} else if _, ok := t.byClass[r.ModelClass]; ok {
			b.WriteString("，低于 ")
			b.WriteString(strconv.FormatFloat(t.minModelProb, 'f', 2, 64))
			b.WriteString("，归入")
		} else {
			b.WriteString("，不对应任何舆情类别，归入")
		}
		b.WriteString(r.Category)
	}
	return b.String()
}

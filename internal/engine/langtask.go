package engine

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
)

// The language lab's tasks: the article's three sentences, generated
// from templates (langdata.go) in English and Spanish.
//
//   - clouds: "The clouds are in the ____" → sky. The clue is the word
//     right before the blank; the distance setting only puts filler
//     sentences in front.
//   - kerala: "Jane was born in Kerala. … Jane speaks ____ fluently" →
//     Malayalam. Distance words of filler sentences separate the place
//     from the question.
//   - mouse: "The mouse is really good. … The mouse is used to ____ to
//     make computers easier to use" → scroll. Each object has two
//     meanings with different answers, and only the words after the
//     blank tell them apart: a one-directional model can do no better
//     than one half.
//
// A sentence is a list of lower-case words; punctuation is dropped. The
// blank is the word "____".

// LangTask names a task of the language lab.
type LangTask string

// The language lab's tasks.
const (
	LangClouds LangTask = "clouds"
	LangKerala LangTask = "kerala"
	LangMouse  LangTask = "mouse"
)

// LangTasks lists every LangTask.
var LangTasks = []LangTask{LangClouds, LangKerala, LangMouse}

// Lang is the language of a task's sentences.
type Lang string

// The languages of the sentences.
const (
	LangEN Lang = "en"
	LangES Lang = "es"
)

// Langs lists every Lang.
var Langs = []Lang{LangEN, LangES}

// Special words of the vocabulary.
const (
	WordPad   = "<pad>"
	WordUnk   = "<unk>"
	WordBlank = "____"
)

// MaxLangDistance bounds the distance setting.
const MaxLangDistance = 200

// LangSentence is one generated sentence.
type LangSentence struct {
	Words  []string `json:"words"`
	Blank  int      `json:"blank"`  // index of "____" in Words
	Answer string   `json:"answer"` // the word that fills the blank
	// Clue is the index of the word that settles the answer: the item's
	// last word before the blank (clouds), the place (kerala), or the
	// word after the blank that tells the meanings apart (mouse).
	Clue int `json:"clue"`
}

// Tokenize splits text into lower-case words: runs of letters, digits
// and apostrophes. A run of underscores is the blank.
func Tokenize(text string) []string {
	var words []string
	var cur strings.Builder
	blank := false
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
		if blank {
			words = append(words, WordBlank)
			blank = false
		}
	}
	for _, r := range text {
		switch {
		case r == '_':
			if cur.Len() > 0 {
				flush()
			}
			blank = true
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’':
			if blank {
				flush()
			}
			if r == '’' {
				r = '\''
			}
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return words
}

// LangGenerator draws the sentences of one task in one language.
type LangGenerator struct {
	Task     LangTask
	Lang     Lang
	Distance int
	w        *langWords
	fillers  [][]string // each filler tokenized, {name} left as a word
}

// NewLangGenerator returns the generator of task in lang with distance
// words of filler (clamped to 0..MaxLangDistance).
func NewLangGenerator(task LangTask, lang Lang, distance int) *LangGenerator {
	g := &LangGenerator{Task: task, Lang: lang, Distance: min(max(distance, 0), MaxLangDistance), w: langLists[lang]}
	for _, f := range g.w.Fillers {
		g.fillers = append(g.fillers, Tokenize(strings.ReplaceAll(f, "{name}", "qqname")))
	}
	return g
}

// Answers returns the task's answer words in class order.
func (g *LangGenerator) Answers() []string {
	var out []string
	add := func(a string) {
		a = strings.ToLower(a)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	switch g.Task {
	case LangClouds:
		for _, it := range g.w.Items {
			add(it.Answer)
		}
	case LangKerala:
		for _, p := range g.w.Places {
			add(p.Language)
		}
	case LangMouse:
		for _, o := range g.w.Objects {
			add(o.Senses[0].Answer)
			add(o.Senses[1].Answer)
		}
	}
	return out
}

// Chance returns the accuracy of the best model that sees only the words
// before the blank and has no memory of the clue: 1/answers for clouds
// and kerala; one half for mouse, where the words before the blank name
// the object but not its meaning.
func (g *LangGenerator) Chance() float64 {
	if g.Task == LangMouse {
		return 0.5
	}
	n := 0
	if g.Task == LangKerala {
		n = len(g.w.Places)
	} else {
		n = len(g.w.Items)
	}
	// Items or places that share an answer count once for the answer.
	return float64(1) / float64(min(n, len(g.Answers())))
}

// Vocabulary returns every word the task can produce, after the special
// words, in a fixed order: the task's own words, then the fillers'.
func (g *LangGenerator) Vocabulary() []string {
	vocab := []string{WordPad, WordUnk, WordBlank}
	seen := map[string]bool{WordPad: true, WordUnk: true, WordBlank: true}
	add := func(text string) {
		for _, w := range Tokenize(text) {
			if !seen[w] {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
	}
	for _, n := range g.w.Names {
		add(n)
	}
	switch g.Task {
	case LangClouds:
		for _, it := range g.w.Items {
			add(it.Prefix)
		}
	case LangKerala:
		add(strings.NewReplacer("{name}", "", "{place}", "").Replace(g.w.BornIn + " " + g.w.Speaks))
		for _, p := range g.w.Places {
			add(p.Place)
		}
	case LangMouse:
		add(strings.NewReplacer("{object}", "").Replace(g.w.IsGood + " " + g.w.UsedTo))
		for _, o := range g.w.Objects {
			add(o.Object + " " + o.Senses[0].Tail + " " + o.Senses[1].Tail)
		}
	}
	for _, f := range g.w.Fillers {
		add(strings.ReplaceAll(f, "{name}", ""))
	}
	return vocab
}

// fill returns exactly n words of filler sentences about name, drawn
// from rng; the last sentence is cut short when it would overshoot.
func (g *LangGenerator) fill(n int, name string, rng *rand.Rand) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		f := g.fillers[rng.IntN(len(g.fillers))]
		for _, w := range f {
			if len(out) == n {
				break
			}
			if w == "qqname" {
				w = name
			}
			out = append(out, w)
		}
	}
	return out
}

// Sample draws one sentence from rng.
func (g *LangGenerator) Sample(rng *rand.Rand) LangSentence {
	w := g.w
	name := strings.ToLower(w.Names[rng.IntN(len(w.Names))])
	var s LangSentence
	subst := func(tmpl string, kv ...string) []string {
		r := strings.NewReplacer(kv...)
		return Tokenize(r.Replace(tmpl))
	}
	switch g.Task {
	case LangClouds:
		it := w.Items[rng.IntN(len(w.Items))]
		s.Words = g.fill(g.Distance, name, rng)
		s.Words = append(s.Words, Tokenize(it.Prefix)...)
		s.Clue = len(s.Words) - 1
		s.Blank = len(s.Words)
		s.Words = append(s.Words, WordBlank)
		s.Answer = strings.ToLower(it.Answer)
	case LangKerala:
		p := w.Places[rng.IntN(len(w.Places))]
		s.Words = subst(w.BornIn, "{name}", name, "{place}", p.Place)
		s.Clue = len(s.Words) - 1
		s.Words = append(s.Words, g.fill(g.Distance, name, rng)...)
		q := subst(w.Speaks, "{name}", name)
		s.Blank = len(s.Words) + slices.Index(q, WordBlank)
		s.Words = append(s.Words, q...)
		s.Answer = strings.ToLower(p.Language)
	case LangMouse:
		o := w.Objects[rng.IntN(len(w.Objects))]
		sense := o.Senses[rng.IntN(2)]
		s.Words = subst(w.IsGood, "{object}", o.Object)
		s.Words = append(s.Words, g.fill(g.Distance, name, rng)...)
		s.Words = append(s.Words, subst(w.UsedTo, "{object}", o.Object)...)
		s.Blank = len(s.Words) - 1
		s.Words = append(s.Words, Tokenize(sense.Tail)...)
		s.Clue = s.Blank + 1 + slices.Index(Tokenize(sense.Tail), sense.Key)
		s.Answer = strings.ToLower(sense.Answer)
	}
	return s
}

// Example returns the article's sentence of the task at the generator's
// distance: Jane and Kerala, the mouse and computers, the clouds, with
// the fillers taken in order from the first ("Jane used to play for the
// women's football team").
func (g *LangGenerator) Example() LangSentence {
	w := g.w
	name := strings.ToLower(w.Names[0])
	var fill []string
	for i := 0; len(fill) < g.Distance; i++ {
		for _, word := range g.fillers[i%len(g.fillers)] {
			if len(fill) == g.Distance {
				break
			}
			if word == "qqname" {
				word = name
			}
			fill = append(fill, word)
		}
	}
	var s LangSentence
	switch g.Task {
	case LangClouds:
		it := w.Items[0]
		s.Words = append(fill, Tokenize(it.Prefix)...)
		s.Clue, s.Blank = len(s.Words)-1, len(s.Words)
		s.Words = append(s.Words, WordBlank)
		s.Answer = strings.ToLower(it.Answer)
	case LangKerala:
		p := w.Places[0]
		s.Words = Tokenize(strings.NewReplacer("{name}", name, "{place}", p.Place).Replace(w.BornIn))
		s.Clue = len(s.Words) - 1
		s.Words = append(s.Words, fill...)
		q := Tokenize(strings.ReplaceAll(w.Speaks, "{name}", name))
		s.Blank = len(s.Words) + slices.Index(q, WordBlank)
		s.Words = append(s.Words, q...)
		s.Answer = strings.ToLower(p.Language)
	case LangMouse:
		o := w.Objects[0]
		s.Words = Tokenize(strings.ReplaceAll(w.IsGood, "{object}", o.Object))
		s.Words = append(s.Words, fill...)
		s.Words = append(s.Words, Tokenize(strings.ReplaceAll(w.UsedTo, "{object}", o.Object))...)
		s.Blank = len(s.Words) - 1
		s.Words = append(s.Words, Tokenize(o.Senses[0].Tail)...)
		s.Clue = s.Blank + 1 + slices.Index(Tokenize(o.Senses[0].Tail), o.Senses[0].Key)
		s.Answer = strings.ToLower(o.Senses[0].Answer)
	}
	return s
}

// MaxWords returns the most words a sentence of the generator can have.
func (g *LangGenerator) MaxWords() int {
	w := g.w
	longest := func(texts []string) int {
		n := 0
		for _, t := range texts {
			n = max(n, len(Tokenize(t)))
		}
		return n
	}
	switch g.Task {
	case LangClouds:
		var ps []string
		for _, it := range w.Items {
			ps = append(ps, it.Prefix)
		}
		return g.Distance + longest(ps) + 1
	case LangKerala:
		var ps []string
		for _, p := range w.Places {
			ps = append(ps, p.Place)
		}
		return g.Distance + len(Tokenize(w.BornIn)) - 1 + longest(ps) + len(Tokenize(w.Speaks))
	}
	var tails []string
	for _, o := range w.Objects {
		tails = append(tails, o.Senses[0].Tail, o.Senses[1].Tail)
	}
	return g.Distance + len(Tokenize(w.IsGood)) + len(Tokenize(w.UsedTo)) + longest(tails)
}

package engine

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLangListsAreLargeEnough(t *testing.T) {
	for _, lang := range Langs {
		w := langLists[lang]
		if len(w.Places) < 12 || len(w.Fillers) < 50 || len(w.Objects) < 3 || len(w.Names) < 5 {
			t.Errorf("%s: %d places, %d fillers, %d objects, %d names", lang, len(w.Places), len(w.Fillers), len(w.Objects), len(w.Names))
		}
		for _, f := range w.Fillers {
			for _, p := range w.Places {
				if slices.Contains(Tokenize(f), strings.ToLower(p.Place)) || slices.Contains(Tokenize(f), strings.ToLower(p.Language)) {
					t.Errorf("%s: filler %q names %s or %s", lang, f, p.Place, p.Language)
				}
			}
		}
	}
	if langLists[LangEN].Places[0] != (langPlace{"Kerala", "Malayalam"}) || langLists[LangES].Places[0] != (langPlace{"Kerala", "malayalam"}) {
		t.Error("Kerala → Malayalam is not the first pair")
	}
}

func TestTokenize(t *testing.T) {
	got := Tokenize("Jane habla ____ con fluidez. The women's team, Ñandú!__")
	want := []string{"jane", "habla", WordBlank, "con", "fluidez", "the", "women's", "team", "ñandú", WordBlank}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLangSentences(t *testing.T) {
	for _, lang := range Langs {
		for _, task := range LangTasks {
			for _, d := range []int{0, 7, 30, 200} {
				g := NewLangGenerator(task, lang, d)
				vocab := g.Vocabulary()
				answers := g.Answers()
				a, b := stream(9, "x"), stream(9, "x")
				for range 50 {
					s := g.Sample(a)
					if s2 := g.Sample(b); !slices.Equal(s.Words, s2.Words) || s.Answer != s2.Answer {
						t.Fatalf("%s/%s: same seed, different sentences", task, lang)
					}
					if s.Words[s.Blank] != WordBlank || slices.Index(s.Words, WordBlank) != s.Blank {
						t.Fatalf("%s/%s: blank at %d of %q", task, lang, s.Blank, s.Words)
					}
					if !slices.Contains(answers, s.Answer) {
						t.Fatalf("%s/%s: answer %q not among %q", task, lang, s.Answer, answers)
					}
					for _, w := range s.Words {
						if !slices.Contains(vocab, w) {
							t.Fatalf("%s/%s: word %q outside the vocabulary", task, lang, w)
						}
					}
					switch task {
					case LangKerala:
						// The place, then d words of filler, then name and verb.
						if s.Blank-s.Clue != d+3 {
							t.Fatalf("%s: clue %d, blank %d at distance %d: %q", lang, s.Clue, s.Blank, d, s.Words)
						}
					case LangClouds:
						if s.Clue != s.Blank-1 || s.Blank < d {
							t.Fatalf("clouds: clue %d, blank %d", s.Clue, s.Blank)
						}
					case LangMouse:
						if s.Clue <= s.Blank {
							t.Fatalf("mouse: clue %d before blank %d", s.Clue, s.Blank)
						}
					}
				}
			}
		}
	}
}

// The words before the blank never tell the two meanings of an object
// apart: the one-directional model's chance of one half is exact.
func TestLangMousePrefixHidesTheMeaning(t *testing.T) {
	for _, lang := range Langs {
		g := NewLangGenerator(LangMouse, lang, 0)
		seen := map[string]string{}
		rng := stream(3, "m")
		answers := map[string]map[string]bool{}
		for range 400 {
			s := g.Sample(rng)
			key := strings.Join(s.Words[:s.Blank], " ")
			if answers[key] == nil {
				answers[key] = map[string]bool{}
			}
			answers[key][s.Answer] = true
			seen[key] = s.Answer
		}
		for k, a := range answers {
			if len(a) != 2 {
				t.Errorf("%s: %q is followed by %d answers", lang, k, len(a))
			}
		}
		if len(answers) != len(langLists[lang].Objects) {
			t.Errorf("%s: %d prefixes for %d objects", lang, len(answers), len(langLists[lang].Objects))
		}
		if g.Chance() != 0.5 {
			t.Errorf("chance %v", g.Chance())
		}
	}
}

// The article's sentences come out of the Spanish templates.
func TestLangArticleSentences(t *testing.T) {
	w := langLists[LangES]
	mouse := strings.ReplaceAll(w.IsGood+" "+w.UsedTo+" "+w.Objects[0].Senses[0].Tail, "{object}", w.Objects[0].Object)
	if mouse != "El mouse es realmente bueno. El mouse se utiliza para ____ para facilitar el uso de las computadoras" || w.Objects[0].Senses[0].Answer != "desplazarse" {
		t.Errorf("mouse: %q", mouse)
	}
	if w.Items[0] != (langItem{"Las nubes están en el", "cielo"}) {
		t.Errorf("clouds: %v", w.Items[0])
	}
	if w.Fillers[0] != "{name} solía jugar para el equipo de fútbol femenino." {
		t.Errorf("filler: %q", w.Fillers[0])
	}
}

// ∂E/∂E_w (the embedding) and ∂E/∂θ of the output layer and the model
// match central differences of E for every cell, one- and bidirectional.
func TestLangGradientsMatchFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	for _, cell := range Cells {
		for _, bidir := range []bool{false, true} {
			ls := DefaultLangSettings()
			ls.Task, ls.Distance = LangMouse, 2
			ls.Model.Cell, ls.Model.Bidir, ls.Model.H, ls.Model.D = cell, bidir, 5, 3
			ls.Model.Clip = ClipNone
			if err := ls.Validate(DefaultLangLimits()); err != nil {
				t.Fatal(err)
			}
			tr := NewLangTrainer(ls)
			var sents [][]int
			var blanks, classes []int
			rng := stream(5, "gc")
			for range 3 {
				s := tr.gen.Sample(rng)
				sents = append(sents, tr.encode(s.Words))
				blanks, classes = append(blanks, s.Blank), append(classes, tr.aids[s.Answer])
			}
			sents[1] = sents[1][:len(sents[1])-2] // a shorter one, padded
			if _, _, err := tr.lossGrad(ctx, sents, blanks, classes); err != nil {
				t.Fatal(err)
			}
			gemb := slices.Clone(tr.gemb)
			gp := slices.Clone(tr.grads.Data)
			loss := func() float64 {
				l, _, err := tr.lossGrad(ctx, sents, blanks, classes)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			check := func(name string, v []float64, g []float64, i int) {
				const h = 1e-5
				old := v[i]
				v[i] = old + h
				up := loss()
				v[i] = old - h
				down := loss()
				v[i] = old
				num := (up - down) / (2 * h)
				if math.Abs(num-g[i]) > 1e-6+1e-4*math.Abs(num) {
					t.Errorf("%s bidir=%v %s[%d]: analytic %g, numeric %g", cell, bidir, name, i, g[i], num)
				}
			}
			D := ls.Model.D
			for _, id := range []int{sents[0][0], sents[0][len(sents[0])-1], sents[2][blanks[2]]} {
				for j := range D {
					check("E", tr.emb, gemb, id*D+j)
				}
			}
			for i := 0; i < len(gp); i += max(1, len(gp)/40) {
				check("θ", tr.params.Data, gp, i)
			}
			for i := range tr.params.C {
				check("θ", tr.params.Data, gp, len(gp)-len(tr.params.C)+i)
			}
		}
	}
}

// The strip is ‖∂E/∂x_k‖ with E = −ln p(best guess): each word's share,
// measured by moving that word's input alone.
func TestLangStripMatchesFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	for _, bidir := range []bool{false, true} {
		ls := DefaultLangSettings()
		ls.Task, ls.Distance = LangKerala, 3
		ls.Model.H, ls.Model.Bidir = 6, bidir
		tr := NewLangTrainer(ls)
		for range 20 {
			if _, err := tr.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
		words := append(Tokenize("Jane was born in Kerala. Zorblat Jane speaks ____ fluently"), "zzz")
		rd, err := tr.Read(ctx, words)
		if err != nil {
			t.Fatal(err)
		}
		if rd.Known[5] || rd.Strip[5] != 0 || !rd.Known[4] || rd.Blank != 8 || len(rd.Guesses) != 5 {
			t.Fatalf("reading %+v", rd)
		}
		for i := 1; i < 5; i++ {
			if rd.Guesses[i].P > rd.Guesses[i-1].P {
				t.Fatalf("guesses out of order: %+v", rd.Guesses)
			}
		}
		best := tr.aids[rd.Guesses[0].Word]
		// E as a function of the input at known word k (index among the fed).
		var ids []int
		for i, w := range words {
			if rd.Known[i] {
				ids = append(ids, tr.ids[w])
			}
		}
		blank := slices.Index(ids, tr.ids[WordBlank])
		D := ls.Model.D
		energy := func(k int, dx []float64) float64 {
			var b batch
			tr.fillBatch(&b, [][]int{ids}, []int{blank}, []int{best})
			for j := range D {
				b.X[k*D+j] += dx[j]
			}
			tp, err := forward(ctx, tr.params, tr.model.Act, &b, nil)
			if err != nil {
				t.Fatal(err)
			}
			return tp.loss
		}
		fed := 0
		for i := range words {
			if !rd.Known[i] {
				continue
			}
			g := make([]float64, D)
			for j := range D {
				dx := make([]float64, D)
				dx[j] = 1e-5
				up := energy(fed, dx)
				dx[j] = -1e-5
				g[j] = (up - energy(fed, dx)) / 2e-5
			}
			if n := norm2(g); math.Abs(n-rd.Strip[i]) > 1e-7+1e-4*n {
				t.Errorf("bidir=%v word %d %q: strip %g, numeric %g", bidir, i, words[i], rd.Strip[i], n)
			}
			fed++
		}
		// A one-directional model's guess cannot depend on what follows.
		if !bidir && rd.Strip[9] != 0 {
			t.Errorf("word after the blank has %g", rd.Strip[9])
		}
	}
	if _, err := NewLangTrainer(DefaultLangSettings()).Read(ctx, Tokenize("no blank here")); err == nil {
		t.Error("a sentence without a blank was read")
	}
}

// The training claims of the README, seeded: at distance 30 an LSTM
// learns the Kerala task in 800 iterations while a tanh RNN stays at
// chance, and on the mouse task a bidirectional LSTM reaches 1 where a
// one-directional one stays near one half.
func TestLangTrainingClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	ctx := context.Background()
	run := func(task LangTask, cell Cell, bidir bool, distance, iters int) float64 {
		ls := DefaultLangSettings()
		ls.Task, ls.Distance, ls.Iterations = task, distance, iters
		ls.Model.Cell, ls.Model.Bidir = cell, bidir
		if err := ls.Validate(DefaultLangLimits()); err != nil {
			t.Fatal(err)
		}
		tr := NewLangTrainer(ls)
		for range iters {
			if _, err := tr.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
		acc, err := tr.Evaluate(ctx, distance, 400)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s bidir=%v distance %d, %d iterations: accuracy %.3f", task, cell, bidir, distance, iters, acc)
		for _, d := range []int{0, 45, 100} {
			h, err := tr.Evaluate(ctx, d, 200)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("  at distance %d: %.3f", d, h)
		}
		return acc
	}
	chance := NewLangGenerator(LangKerala, LangEN, 30).Chance()
	if acc := run(LangKerala, CellLSTM, false, 30, 800); acc < 0.9 {
		t.Errorf("LSTM on kerala: %.3f", acc)
	}
	if acc := run(LangKerala, CellRNN, false, 30, 800); acc > 2*chance {
		t.Errorf("RNN on kerala: %.3f, chance %.3f", acc, chance)
	}
	if acc := run(LangMouse, CellLSTM, true, 5, 400); acc < 0.9 {
		t.Errorf("bidirectional LSTM on mouse: %.3f", acc)
	}
	if acc := run(LangMouse, CellLSTM, false, 5, 400); acc > 0.65 {
		t.Errorf("one-directional LSTM on mouse: %.3f", acc)
	}
}

func TestLangExample(t *testing.T) {
	s := NewLangGenerator(LangKerala, LangES, 12).Example()
	got := strings.Join(s.Words, " ")
	want := "jane nació en kerala jane solía jugar para el equipo de fútbol femenino ha sido la jane habla ____ con fluidez"
	if got != want || s.Words[s.Clue] != "kerala" || s.Answer != "malayalam" || s.Blank-s.Clue != 15 {
		t.Errorf("got %q (clue %d, blank %d), want %q", got, s.Clue, s.Blank, want)
	}
	m := NewLangGenerator(LangMouse, LangEN, 0).Example()
	if strings.Join(m.Words, " ") != "the mouse is really good the mouse is used to ____ to make computers easier to use" || m.Words[m.Clue] != "computers" || m.Answer != "scroll" {
		t.Errorf("mouse: %q", m.Words)
	}
}

func TestLangMaxWords(t *testing.T) {
	for _, lang := range Langs {
		for _, task := range LangTasks {
			g := NewLangGenerator(task, lang, 17)
			most, rng := 0, stream(1, "mw")
			for range 500 {
				most = max(most, len(g.Sample(rng).Words))
			}
			if most != g.MaxWords() {
				t.Errorf("%s/%s: longest sentence %d words, MaxWords %d", task, lang, most, g.MaxWords())
			}
		}
	}
}

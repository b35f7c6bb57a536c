package render

import (
	"fmt"
	"strings"

	xfont "golang.org/x/image/font"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgpdf"
)

// pdfCanvas is gonum/plot's PDF canvas with its text translated to the
// code page its fonts are embedded in. vgpdf writes a string's bytes as
// Windows-1252, so UTF-8 text (the Spanish accents, ‖∂E/∂s_k‖) would come
// out as mojibake.
type pdfCanvas struct{ *vgpdf.Canvas }

// FillString draws str in the code page of the PDF's fonts. A bold face
// goes in under a typeface name of its own at normal weight: vgpdf
// registers every font without a style but selects a bold one with
// style "B", which fpdf then cannot find. The glyphs are the face's own,
// so the text is still bold.
func (c pdfCanvas) FillString(f font.Face, pt vg.Point, str string) {
	if f.Font.Weight != xfont.WeightNormal {
		f.Font.Typeface += font.Typeface(fmt.Sprintf("W%d", f.Font.Weight))
		f.Font.Weight = xfont.WeightNormal
	}
	if spelt := spell(str); spelt != str {
		// A spelt-out symbol is wider than the glyph the layout measured
		// ("gamma" for γ): the line shrinks to the width it was given.
		if w, sw := f.Width(str), f.Width(spelt); sw > w && w > 0 {
			f.Font.Size = f.Font.Size * w / sw
		}
	}
	c.Canvas.FillString(f, pt, pdfText(str))
}

// spell returns s with the symbols outside Windows-1252 spelt out, still
// in UTF-8.
func spell(s string) string {
	var b strings.Builder
	for _, r := range s {
		if sp, ok := spelt[r]; ok {
			b.WriteString(sp)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cp1252 maps the runes of Windows-1252's 0x80–0x9F range to their bytes;
// U+00A0–U+00FF are the same bytes as in Latin-1.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91,
	'’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98,
	'™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// spelt are the figures' symbols outside Windows-1252, as the PDF writes
// them.
var spelt = map[rune]string{
	'‖': "||", '∂': "d", 'Σ': "Sum ", 'Π': "Prod ", 'σ': "sigma", 'γ': "gamma",
	'θ': "theta", 'δ': "delta", 'α': "alpha", 'λ': "lambda", '−': "-", '≥': ">=",
	'≤': "<=", '′': "'", 'ᵀ': "^T", '√': "sqrt", '→': "->", '≈': "~", '∞': "inf",
	'∈': " in ", '⁻': "^-",
}

// pdfText returns s in Windows-1252, with the symbols it lacks spelt out
// and anything else as '?'.
func pdfText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 || (r >= 0xA0 && r <= 0xFF):
			b.WriteByte(byte(r))
		case cp1252[r] != 0:
			b.WriteByte(cp1252[r])
		case spelt[r] != "":
			b.WriteString(spelt[r])
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

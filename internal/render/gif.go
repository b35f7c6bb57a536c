package render

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"io"

	"gonum.org/v1/plot/vg/vgimg"
)

// GIF frames: how many, and how long each shows, in hundredths of a
// second. The last frame, the whole backward pass, stays longer before
// the animation starts again.
const (
	GIFFrames    = 12
	gifDelay     = 30
	gifLastDelay = 250
	// GIFWidth and GIFHeight are an animation's default size: a slide's
	// picture, small enough to stay well under 2 MB.
	GIFWidth  = 960
	GIFHeight = 540
)

// WriteBackwardGIF writes the profile figure as an animated GIF of the
// backward pass, as the page's Play shows it: frame i of GIFFrames draws
// the series of the backward pass (‖∂E/∂s_k‖ and its companions) over
// the last i·T/GIFFrames steps of each run, on the whole figure's axes,
// so the signal is seen leaving step T and fading on its way back. The
// theory and the forward states are in every frame. It stops between
// frames once ctx is done.
func WriteBackwardGIF(ctx context.Context, w io.Writer, fig Figure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	frames := make([]*image.Paletted, 0, GIFFrames)
	for i := 1; i <= GIFFrames; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := fig
		f.reveal = float64(i) / GIFFrames
		img, err := rasterise(f)
		if err != nil {
			return err
		}
		frames = append(frames, img)
	}
	return encodeGIF(ctx, w, frames)
}

// encodeGIF writes frames as a looping animation. Every frame after the
// first holds only the rectangle that changed, with the pixels that did
// not change transparent, so that a frame costs what it adds.
func encodeGIF(ctx context.Context, w io.Writer, frames []*image.Paletted) error {
	anim := &gif.GIF{Config: image.Config{ColorModel: gifPalette, Width: frames[0].Rect.Dx(), Height: frames[0].Rect.Dy()}}
	for i, fr := range frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		img := fr
		if i > 0 {
			img = frameDelta(frames[i-1], fr)
		}
		delay := gifDelay
		if i == len(frames)-1 {
			delay = gifLastDelay
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, delay)
		anim.Disposal = append(anim.Disposal, gif.DisposalNone)
	}
	if err := gif.EncodeAll(w, anim); err != nil {
		return fmt.Errorf("render: write gif: %w", err)
	}
	return nil
}

// frameDelta returns the part of cur that differs from prev: the
// smallest rectangle holding every changed pixel, transparent where the
// pixel is unchanged. An unchanged frame is one transparent pixel.
func frameDelta(prev, cur *image.Paletted) *image.Paletted {
	b := cur.Rect
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	for y := b.Min.Y; y < b.Max.Y; y++ {
		po, co := prev.PixOffset(b.Min.X, y), cur.PixOffset(b.Min.X, y)
		for x := 0; x < b.Dx(); x++ {
			if prev.Pix[po+x] != cur.Pix[co+x] {
				minX, maxX = min(minX, b.Min.X+x), max(maxX, b.Min.X+x+1)
				minY, maxY = min(minY, y), max(maxY, y+1)
			}
		}
	}
	r := image.Rect(minX, minY, maxX, maxY)
	if minX >= maxX {
		r = image.Rect(b.Min.X, b.Min.Y, b.Min.X+1, b.Min.Y+1)
	}
	out := image.NewPaletted(r, gifPalette)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if p := cur.ColorIndexAt(x, y); p != prev.ColorIndexAt(x, y) {
				out.SetColorIndex(x, y, p)
			} else {
				out.SetColorIndex(x, y, gifTransparent)
			}
		}
	}
	return out
}

// rasterise draws the profile figure and maps it to the GIF palette.
func rasterise(fig Figure) (*image.Paletted, error) {
	p, err := ProfilePlot(fig)
	if err != nil {
		return nil, err
	}
	width, height := fig.Size()
	c := vgimg.New(width, height)
	drawOn(c, p, pixels(margin*newStyle(fig).scale))
	return toPalette(c.Image()), nil
}

// toPalette maps an image to the GIF palette by nearest colour, without
// dithering: every colour of the series table is in the palette, so a
// curve keeps its exact colour, and only the antialiased edges round to
// the nearest tint. A figure has few distinct colours (most of it is
// white), so each is looked up once.
func toPalette(src image.Image) *image.Paletted {
	b := src.Bounds()
	dst := image.NewPaletted(b, gifPalette)
	rgba, ok := src.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(b)
		draw.Draw(rgba, b, src, b.Min, draw.Src)
	}
	index := make(map[uint32]uint8, 1024)
	opaque := gifPalette[1:] // never the transparent entry
	for y := b.Min.Y; y < b.Max.Y; y++ {
		si, di := rgba.PixOffset(b.Min.X, y), dst.PixOffset(b.Min.X, y)
		for x := 0; x < b.Dx(); x, si, di = x+1, si+4, di+1 {
			p := rgba.Pix[si : si+4 : si+4]
			key := uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
			i, ok := index[key]
			if !ok {
				i = uint8(1 + opaque.Index(color.RGBA{p[0], p[1], p[2], p[3]}))
				index[key] = i
			}
			dst.Pix[di] = i
		}
	}
	return dst
}

// gifTransparent is the palette index of the transparent colour, which
// marks a pixel a frame leaves as the previous one drew it.
const gifTransparent = 0

// gifPalette holds every colour the figure draws: transparent first, the
// series table's colours, the runs', the overflow colour and the grid,
// each with tints towards white (the antialiased edges on the white
// background, and a pin's unclipped profile at rawTint) and the darker shades of the markers' text, then a grey
// ramp for the text and axes.
var gifPalette = func() color.Palette {
	pal := color.Palette{color.NRGBA{}}
	seen := map[color.NRGBA]bool{{}: true}
	add := func(c color.NRGBA) {
		c.A = 0xFF
		if !seen[c] && len(pal) < 256 {
			seen[c] = true
			pal = append(pal, c)
		}
	}
	var base []color.NRGBA
	for _, s := range table {
		if s.Color != "" {
			base = append(base, mustHex(s.Color))
		}
	}
	base = append(base, mustHex(RunColor), mustHex(OverflowColor), gridColor)
	for _, c := range PinColors {
		base = append(base, mustHex(c))
	}
	for _, c := range base {
		add(c)
	}
	for _, c := range base {
		add(darken(c, 0.1))
		add(darken(c, 0.15))
		add(lighten(c, 0.35))
		for _, f := range []float64{0.2, 0.45, rawTint, 0.88} {
			add(lighten(c, f))
		}
	}
	for v := 0; v <= 255; v += 15 {
		add(color.NRGBA{uint8(v), uint8(v), uint8(v), 0xFF})
	}
	add(color.NRGBA{0x33, 0x33, 0x33, 0xFF})
	return pal
}()

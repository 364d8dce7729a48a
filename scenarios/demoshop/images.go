package demoshop

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"sync"
)

// Image sizes. The product photo is shown at 480 px on product pages and
// scaled down in cards; the hero spans the home page.
const (
	productSize = 480
	heroW       = 1200
	heroH       = 400
)

// lazyImage paints its picture on first use: most tests never fetch one,
// and the demo warms them all before serving.
type lazyImage struct {
	once  sync.Once
	paint func() []byte
	data  []byte
}

func (l *lazyImage) bytes() []byte {
	l.once.Do(func() { l.data = l.paint() })
	return l.data
}

// The pictures are "photos": a lit object on a gradient with sensor-like
// grain. The grain matters: Chrome ignores low-entropy images (under 0.05
// bits per pixel) as LCP candidates, and a flat placeholder would make the
// demo's LCP a lie.

func seed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func paintProduct(name string, hue float64) []byte {
	rng := rand.New(rand.NewPCG(seed(name), 1))
	img := image.NewRGBA(image.Rect(0, 0, productSize, productSize))
	bgL := 0.86 + rng.Float64()*0.08
	cx, cy := productSize*(0.45+rng.Float64()*0.1), productSize*(0.48+rng.Float64()*0.08)
	rx, ry := productSize*(0.22+rng.Float64()*0.08), productSize*(0.26+rng.Float64()*0.08)
	for y := range productSize {
		fy := float64(y)
		// Background: warm studio paper with a soft vertical falloff.
		bgR, bgG, bgB := hsl(hue+30, 0.12, bgL-0.12*fy/productSize)
		for x := range productSize {
			fx := float64(x)
			r, g, b := bgR, bgG, bgB
			// Shadow under the object.
			sx, sy := (fx-cx)/(rx*1.2), (fy-cy-ry*0.95)/(ry*0.25)
			if sd2 := sx*sx + sy*sy; sd2 < 1 {
				k := 0.35 * (1 - math.Sqrt(sd2))
				r, g, b = r*(1-k), g*(1-k), b*(1-k)
			}
			// The object: an ellipsoid lit from the upper left.
			nx, ny := (fx-cx)/rx, (fy-cy)/ry
			if d2 := nx*nx + ny*ny; d2 < 1 {
				nz := math.Sqrt(1 - d2)
				light := 0.25 + 0.75*math.Max(0, -0.5*nx-0.5*ny+0.7*nz)
				spec := pow40(math.Max(0, -0.4*nx-0.4*ny+0.82*nz))
				r, g, b = hsl(hue, 0.55, 0.18+0.5*light)
				r, g, b = r+spec*0.6, g+spec*0.6, b+spec*0.6
				// Glaze streaks.
				streak := 0.04 * math.Sin(fy*0.15+math.Sin(fx*0.05)*3)
				r, g, b = r+streak, g+streak, b+streak
			}
			n := grain(rng, 0.035)
			img.SetRGBA(x, y, rgba(r+n, g+n, b+n))
		}
	}
	return encodeJPEG(img)
}

func paintHero() []byte {
	rng := rand.New(rand.NewPCG(seed("hero"), 2))
	img := image.NewRGBA(image.Rect(0, 0, heroW, heroH))
	type blob struct{ x, y, r, cr, cg, cb float64 }
	blobs := make([]blob, 14)
	for i := range blobs {
		b := blob{x: rng.Float64() * heroW, y: rng.Float64() * heroH, r: 60 + rng.Float64()*160}
		b.cr, b.cg, b.cb = hsl(10+rng.Float64()*60, 0.6, 0.45)
		blobs[i] = b
	}
	for y := range heroH {
		fy := float64(y)
		for x := range heroW {
			fx := float64(x)
			r, g, b := hsl(28+20*fx/heroW, 0.35, 0.55+0.25*fy/heroH)
			for _, bl := range blobs {
				dx, dy := fx-bl.x, fy-bl.y
				if dx > bl.r || dx < -bl.r || dy > bl.r || dy < -bl.r {
					continue
				}
				d2 := (dx*dx + dy*dy) / (bl.r * bl.r)
				if d2 < 1 {
					k := 0.5 * (1 - d2)
					r, g, b = r*(1-k)+bl.cr*k, g*(1-k)+bl.cg*k, b*(1-k)+bl.cb*k
				}
			}
			n := grain(rng, 0.04)
			img.SetRGBA(x, y, rgba(r+n, g+n, b+n))
		}
	}
	return encodeJPEG(img)
}

// grain is cheap film-grain noise: a triangular distribution of width ±2a,
// drawn from one random number.
func grain(rng *rand.Rand, a float64) float64 {
	u := rng.Uint64()
	return a*(float64(u&0xffff)+float64(u>>16&0xffff))/65535 - a
}

func paintFavicon() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			if math.Hypot(float64(x)-15.5, float64(y)-15.5) < 14 {
				img.SetRGBA(x, y, color.RGBA{0xb4, 0x53, 0x09, 0xff})
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // cannot fail writing to memory
	return buf.Bytes()
}

// pow40 is x⁴⁰ by squaring: a specular highlight, without math.Pow's cost
// on every pixel.
func pow40(x float64) float64 {
	x2 := x * x
	x4 := x2 * x2
	x8 := x4 * x4
	x32 := x8 * x8 * x8 * x8
	return x32 * x8
}

func encodeJPEG(img image.Image) []byte {
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}) // cannot fail writing to memory
	return buf.Bytes()
}

func rgba(r, g, b float64) color.RGBA {
	c := func(v float64) uint8 { return uint8(math.Round(255 * math.Min(1, math.Max(0, v)))) }
	return color.RGBA{c(r), c(g), c(b), 0xff}
}

// hsl converts hue (degrees), saturation and lightness (0-1) to RGB (0-1).
func hsl(h, s, l float64) (float64, float64, float64) {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return r + m, g + m, b + m
}

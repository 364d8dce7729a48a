package demoshop

import (
	"fmt"
	"strings"
)

// Product is one item of the demo catalogue.
type Product struct {
	Slug        string
	Name        string
	Description string
	PriceCents  int
	Stock       int
	// Hue (0-360) of the product photo the shop paints for it.
	Hue float64
}

// Price formats the price the way a euro shop shows it.
func (p Product) Price() string { return formatEUR(p.PriceCents) }

func formatEUR(cents int) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

// catalog is fixed so pages, tests and the demo journey agree on content.
func catalog() []Product {
	return []Product{
		{"stoneware-mug", "Stoneware Mug", "A hand-glazed 350 ml mug that keeps coffee hot and sits well in the hand.", 2400, 42, 18},
		{"enamel-camp-mug", "Enamel Camp Mug", "Light, chip-resistant enamel for the trail and the balcony.", 1600, 7, 205},
		{"linen-tea-towel", "Linen Tea Towel", "Stonewashed European linen that dries glasses without lint.", 1400, 120, 95},
		{"walnut-serving-board", "Walnut Serving Board", "Oiled solid walnut, 45 × 22 cm, for bread, cheese and everything else.", 5900, 12, 28},
		{"cast-iron-skillet", "Cast Iron Skillet", "A pre-seasoned 26 cm skillet that goes from hob to oven to table.", 4900, 0, 0},
		{"pour-over-kettle", "Pour-Over Kettle", "A gooseneck kettle with a thermometer for precise pour-over brewing.", 6900, 23, 190},
		{"wool-throw-blanket", "Wool Throw Blanket", "Soft lambswool throw, 130 × 170 cm, woven in a small mill.", 8900, 9, 340},
		{"ceramic-planter", "Ceramic Planter", "A matte 18 cm planter with a drainage hole and saucer.", 3200, 31, 150},
	}
}

func (s *Shop) product(slug string) (Product, bool) {
	for _, p := range s.products {
		if p.Slug == slug {
			return p, true
		}
	}
	return Product{}, false
}

// search matches every word of q against name and description.
func (s *Shop) search(q string) []Product {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	var out []Product
	for _, p := range s.products {
		text := strings.ToLower(p.Name + " " + p.Description)
		match := true
		for _, w := range words {
			if !strings.Contains(text, w) {
				match = false
				break
			}
		}
		if match {
			out = append(out, p)
		}
	}
	return out
}

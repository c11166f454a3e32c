package generator

import (
	"math/rand/v2"
	"strconv"
)

// origin is the shop whose pages the generator visits; in-site referrers
// are full URLs on it, as browsers send them.
const origin = "https://shop.example"

type pageKind uint8

const (
	pageHome pageKind = iota
	pageCart
	pageCheckout
	pageCategory
	pageSearch
	pageItem
)

// page is one URL of the shop. Strings are built once so that events
// reference them without allocating.
type page struct {
	path string
	url  string // origin + path, the referrer of the next click
	item string // item id on item pages, "" elsewhere
	kind pageKind
}

var categories = []string{
	"shoes", "electronics", "books", "kitchen", "toys", "garden",
	"sports", "beauty", "fashion", "music", "office", "pets",
}

// searchTerms are ordered by popularity; searches pick them Zipf-wise.
var searchTerms = []string{
	"iphone", "running+shoes", "laptop", "headphones", "lego", "coffee+maker",
	"usb+c+cable", "gaming+mouse", "yoga+mat", "air+fryer", "kindle", "backpack",
	"office+chair", "monitor", "sneakers", "dress", "watch", "tent", "drone",
	"keyboard", "vacuum", "blender", "jacket", "sunglasses", "phone+case",
	"camera", "printer", "desk+lamp", "water+bottle", "board+games",
	"bluetooth+speaker", "hoodie", "wallet", "perfume", "socks", "charger",
	"ssd", "router", "tv", "guitar", "dog+food", "cat+litter", "plant+pot",
	"frying+pan", "knife+set", "suitcase", "baby+stroller", "bike+helmet",
}

// catalog is the shop's page table: fixed pages first, then categories,
// searches and items. itemRank maps a popularity rank to an item page so
// that the most popular items are spread over the id range.
type catalog struct {
	pages    []page
	firstCat int
	firstQ   int
	firstIt  int
	items    int
	itemRank []int32
}

func newCatalog(items int, rng *rand.Rand) *catalog {
	c := &catalog{items: items}
	add := func(path, item string, k pageKind) {
		c.pages = append(c.pages, page{path: path, url: origin + path, item: item, kind: k})
	}
	add("/", "", pageHome)
	add("/cart", "", pageCart)
	add("/checkout", "", pageCheckout)
	c.firstCat = len(c.pages)
	for _, n := range categories {
		add("/category/"+n, "", pageCategory)
	}
	c.firstQ = len(c.pages)
	for _, t := range searchTerms {
		add("/search?q="+t, "", pageSearch)
	}
	c.firstIt = len(c.pages)
	for i := 1; i <= items; i++ {
		id := strconv.Itoa(i)
		add("/item/"+id, id, pageItem)
	}
	c.itemRank = make([]int32, items)
	for i := range c.itemRank {
		c.itemRank[i] = int32(c.firstIt + i)
	}
	rng.Shuffle(items, func(i, j int) { c.itemRank[i], c.itemRank[j] = c.itemRank[j], c.itemRank[i] })
	return c
}

package report

import (
	"image/png"
	"os"
	"testing"
)

// topLeftPixel returns the RGB of a point inside the page's banner.
func topLeftPixel(t *testing.T, path string) [3]uint8 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	r, g, b, _ := img.At(10, 10).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

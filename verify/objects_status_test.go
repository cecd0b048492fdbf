package verify

import "testing"

func TestObjectsStatus(t *testing.T) {
	cases := []struct {
		name string
		r    ObjectsResult
		opt  ObjectOptions
		want string
	}{
		{"all by checksum", ObjectsResult{SourceObjects: 3, ByChecksum: 3}, ObjectOptions{}, StatusMatch},
		{"a difference wins", ObjectsResult{SourceObjects: 3, Differing: 1, SizeOnly: 2}, ObjectOptions{}, StatusDiffer},
		{"empty source", ObjectsResult{}, ObjectOptions{}, StatusEmptySource},
		{"extra on target only", ObjectsResult{TargetObjects: 2, Differing: 2}, ObjectOptions{}, StatusDiffer},
		{"size only is unverified", ObjectsResult{SourceObjects: 3, ByChecksum: 2, SizeOnly: 1}, ObjectOptions{}, StatusUnverified},
		{"size only accepted", ObjectsResult{SourceObjects: 3, SizeOnly: 3}, ObjectOptions{AllowSizeOnly: true}, StatusMatch},
	}
	for _, c := range cases {
		if got := objectsStatus(c.r, c.opt); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMissingNames(t *testing.T) {
	seen := map[string]bool{"shop": true, "shop.orders": true, "shop.items": true}
	if err := missingNames(seen, []string{"shop"}, []string{"shop.orders"}); err != nil {
		t.Fatalf("all present: %v", err)
	}
	err := missingNames(seen, []string{"shop,shpo"}, []string{"shop.orders", "shop.ordres"})
	want := "not on the source: shop.ordres, shpo; check the spelling in --databases/--tables (tables as db.table) and the user's SELECT grants"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

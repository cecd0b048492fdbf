package verify

import (
	"fmt"
	"testing"
	"time"

	"github.com/evac-dev/evac/replicator/chunk"
)

func TestDiffHashCounts(t *testing.T) {
	hc := func(pairs ...any) []hashCount {
		var out []hashCount
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, hashCount{pairs[i].(string), int64(pairs[i+1].(int))})
		}
		return out
	}
	cases := []struct {
		name     string
		src, dst []hashCount
		want     string
	}{
		{"equal", hc("a", 1, "b", 2), hc("a", 1, "b", 2), "[]"},
		{"duplicated row", hc("a", 1), hc("a", 2), "[extra_on_target a 1 2]"},
		{"missing copy", hc("a", 3), hc("a", 2), "[missing_on_target a 3 2]"},
		{"only source", hc("a", 1, "c", 1), hc("c", 1), "[missing_on_target a 1 0]"},
		{"only target", hc("c", 1), hc("b", 1, "c", 1), "[extra_on_target b 0 1]"},
		{"both ends", hc("a", 1), hc("z", 1), "[missing_on_target a 1 0 extra_on_target z 0 1]"},
	}
	for _, c := range cases {
		var got []string
		for _, d := range diffHashCounts(c.src, c.dst) {
			got = append(got, fmt.Sprint(d.Kind, " ", d.RowHash, " ", d.SourceCount, " ", d.TargetCount))
		}
		if fmt.Sprint("[", join(got), "]") != c.want {
			t.Errorf("%s: got %v, want %s", c.name, got, c.want)
		}
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestLiteral(t *testing.T) {
	cases := []struct {
		c    column
		v    []byte
		want string
	}{
		{column{DataType: "int"}, []byte("-5"), "-5"},
		{column{DataType: "int"}, nil, "NULL"},
		{column{DataType: "double"}, []byte("0-"), "-0e0"},
		{column{DataType: "float"}, []byte("1.0000001192092896"), "1.0000001192092896"},
		{column{DataType: "datetime"}, []byte("2024-01-01 00:00:00.000001"), "'2024-01-01 00:00:00.000001'"},
		{column{DataType: "varchar", Collation: "utf8mb4_general_ci"}, []byte("a'b"), "CONVERT(X'612762' USING utf8mb4)"},
		{column{DataType: "blob"}, []byte{0, 0xff}, "X'00FF'"},
		{column{DataType: "json"}, []byte("{}"), "CONVERT(X'7B7D' USING utf8mb4)"},
		{column{DataType: "bit"}, []byte("255"), "255"},
	}
	for _, c := range cases {
		if got := literal(c.c, c.v); got != c.want {
			t.Errorf("%s %q: got %s, want %s", c.c.DataType, c.v, got, c.want)
		}
	}
}

func TestRowExpr(t *testing.T) {
	const fl = "CONCAT(CAST(`f` AS DOUBLE), IF(`f` = 0 AND ATAN2(`f`, -1) < 0, '-', ''))"
	cases := []struct {
		name string
		cols []column
		want string
	}{
		{"nullable", []column{{Name: "id", DataType: "int"}, {Name: "f", DataType: "float"}, {Name: "s", DataType: "varchar"}, {Name: "b", DataType: "bit"}},
			"CONCAT(COALESCE(CONCAT(`id`,','),'N'),COALESCE(CONCAT(" + fl + ",','),'N')," +
				"COALESCE(CONCAT(OCTET_LENGTH(`s`),':',CAST(`s` AS BINARY)),'N'),COALESCE(CONCAT(CONCAT(`b` + 0),','),'N'))"},
		{"not null", []column{{Name: "id", DataType: "int", NotNull: true}, {Name: "f", DataType: "float", NotNull: true},
			{Name: "s", DataType: "varchar", NotNull: true}, {Name: "d", DataType: "datetime", NotNull: true}},
			"CONCAT(`id`,','," + fl + ",',',OCTET_LENGTH(`s`),':',CAST(`s` AS BINARY),`d`,',')"},
		{"one nullable blob", []column{{Name: "s", DataType: "blob"}}, "COALESCE(CONCAT(OCTET_LENGTH(`s`),':',CAST(`s` AS BINARY)),'N')"},
		{"one nullable enum", []column{{Name: "s", DataType: "enum"}}, "COALESCE(CONCAT(LENGTH(CAST(`s` AS BINARY)),':',CAST(`s` AS BINARY)),'N')"},
	}
	for _, c := range cases {
		if got := rowExpr(c.cols); got != c.want {
			t.Errorf("%s rowExpr:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if got := hashExpr([]column{{Name: "s", DataType: "json", NotNull: true}}); got != "LEFT(SHA1(CONCAT(LENGTH(CAST(`s` AS BINARY)),':',CAST(`s` AS BINARY))),32)" {
		t.Errorf("hashExpr: %s", got)
	}
}

func TestAdapt(t *testing.T) {
	v := &tableVerifier{opt: TableOptions{}}
	v.opt.defaults()
	j := &tableJob{}
	j.size.Store(1000)
	v.adapt(j, 1000, 10*time.Millisecond) // 50x too fast: grows at most 2x
	if j.size.Load() != 2000 {
		t.Fatalf("size %d, want 2000", j.size.Load())
	}
	v.adapt(j, 2000, 2*time.Second) // 4x too slow
	if j.size.Load() != 1000 {
		t.Fatalf("size %d, want the 1000-row floor", j.size.Load())
	}
	j.size.Store(150000)
	v.adapt(j, 150000, 100*time.Millisecond)
	if j.size.Load() != 200000 {
		t.Fatalf("size %d, want the 200000-row cap", j.size.Load())
	}
}

func TestDiffKeys(t *testing.T) {
	k := func(coll string) chunk.Key {
		return chunk.Key{Index: "PRIMARY", Columns: []chunk.Column{{Name: "a", DataType: "varchar", Kind: chunk.KindString, Collation: coll}}}
	}
	if msg := diffKeys(k("utf8mb4_general_ci"), k("utf8mb4_general_ci")); msg != "" {
		t.Fatal(msg)
	}
	if msg := diffKeys(k("utf8mb4_general_ci"), k("utf8mb4_bin")); msg != "key column a collation differs: source utf8mb4_general_ci vs target utf8mb4_bin" {
		t.Fatal(msg)
	}
}

func TestStartSizeCarriesRate(t *testing.T) {
	v := &tableVerifier{opt: TableOptions{}}
	v.opt.defaults()
	a := &tableJob{rowLen: 200}
	if n := v.startSize(a); n != 1000 {
		t.Fatalf("first table starts at %d rows, want MinChunkRows 1000", n)
	}
	a.size.Store(1000)
	v.adapt(a, 1000, 10*time.Millisecond) // 100k rows/s of 200-byte rows
	b := &tableJob{rowLen: 400}
	if n := v.startSize(b); n != 25000 { // twice as wide: 50k rows/s x 500ms
		t.Fatalf("next table starts at %d rows, want 25000", n)
	}
	if n := v.startSize(&tableJob{rowLen: 1}); n != 200000 {
		t.Fatalf("narrow rows start at %d, want the 200000-row cap", n)
	}
	if n := v.startSize(&tableJob{}); n != 1000 {
		t.Fatalf("unknown row length starts at %d, want 1000", n)
	}
}

package preflight

import (
	"testing"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/schema"
)

func TestCycleMessage(t *testing.T) {
	a := change.TableID{Schema: "d", Name: "a"}
	b := change.TableID{Schema: "d", Name: "b"}
	ab := schema.ForeignKey{Name: "fk_ab", Table: a, Ref: b, OnDelete: "CASCADE", OnUpdate: "RESTRICT"}
	ba := schema.ForeignKey{Name: "fk_ba", Table: b, Ref: a, OnDelete: "RESTRICT", OnUpdate: "RESTRICT"}
	cases := []struct {
		keys []schema.ForeignKey
		want string
	}{
		{[]schema.ForeignKey{ab, ba}, `tables d.a, d.b reference each other in a foreign-key cycle through fk_ab (d.a -> d.b, ON DELETE CASCADE ON UPDATE RESTRICT), fk_ba (d.b -> d.a, ON DELETE RESTRICT ON UPDATE RESTRICT); evac copies referenced tables before referencing ones and does not copy cycles (REPLICATION.md, "Foreign-key cycles"): drop on the source, for the migration, a key that does not cascade (it only validates, so no cascaded write is lost; ALTER TABLE ` + "`d`.`b`" + ` DROP FOREIGN KEY ` + "`fk_ba`" + `; re-add it on both sides after cutover), or exclude the tables with --exclude-tables and copy them separately (e.g. mariadb-dump --single-transaction during cutover)`},
		{[]schema.ForeignKey{ab, {Name: "fk_ba", Table: b, Ref: a, OnDelete: "RESTRICT", OnUpdate: "SET NULL"}}, `tables d.a, d.b reference each other in a foreign-key cycle through fk_ab (d.a -> d.b, ON DELETE CASCADE ON UPDATE RESTRICT), fk_ba (d.b -> d.a, ON DELETE RESTRICT ON UPDATE SET NULL); evac copies referenced tables before referencing ones and does not copy cycles (REPLICATION.md, "Foreign-key cycles"): every key of the cycle cascades, so dropping one changes what the source does: exclude the tables with --exclude-tables and copy them separately (e.g. mariadb-dump --single-transaction during cutover)`},
	}
	for i, c := range cases {
		if got := cycleMessage([]change.TableID{a, b}, c.keys); got != c.want {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, c.want)
		}
	}
}

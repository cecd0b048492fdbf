package testenv_test

// Smoke tests of the real test servers (issue 2 acceptance): a row inserted on
// the source arrives as a rows event through go-mysql's BinlogSyncer; an object
// makes a put/list/get/delete round trip through versitygw with aws-sdk-go-v2;
// a stopped server fails the helpers with a clear message instead of skipping.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/testenv"
)

func TestSmokeBinlogRowsEvent(t *testing.T) {
	db := testenv.SourceDB(t)
	name := testenv.FreshDatabase(t)
	testenv.Exec(t, db, "CREATE TABLE `"+name+"`.items (id INT PRIMARY KEY, label VARCHAR(40), price DECIMAL(10,2), note TEXT NULL)")

	var file string
	var pos uint32
	var doDB, ignoreDB any
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		t.Fatalf("SHOW MASTER STATUS: %v", err)
	}

	cfg, err := mysql.ParseDSN(testenv.SourceDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(cfg.Addr[len("127.0.0.1:"):])
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: 10000 + rand.Uint32N(100000), Flavor: gomysql.MariaDBFlavor,
		Host: "127.0.0.1", Port: uint16(port), User: cfg.User, Password: cfg.Passwd,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Decode only this test's rows: other tests write to the shared source at the same time.
		RowsEventDecodeFunc: func(re *replication.RowsEvent, data []byte) error {
			pos, err := re.DecodeHeader(data)
			if err != nil || string(re.Table.Schema) != name {
				return err
			}
			return re.DecodeData(pos, data)
		},
	})
	defer syncer.Close()
	stream, err := syncer.StartSync(gomysql.Position{Name: file, Pos: pos})
	if err != nil {
		t.Fatalf("start binlog sync at %s:%d: %v", file, pos, err)
	}

	testenv.Exec(t, db, "INSERT INTO `"+name+"`.items VALUES (7, 'héllo wörld', 12.50, NULL)")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		ev, err := stream.GetEvent(ctx)
		if err != nil {
			t.Fatalf("no rows event for %s.items within 30s: %v", name, err)
		}
		rows, ok := ev.Event.(*replication.RowsEvent)
		if !ok || string(rows.Table.Schema) != name {
			continue
		}
		if ev.Header.EventType != replication.WRITE_ROWS_EVENTv1 && ev.Header.EventType != replication.WRITE_ROWS_EVENTv2 {
			t.Fatalf("event type = %v, want WRITE_ROWS", ev.Header.EventType)
		}
		if got, want := string(rows.Table.Table), "items"; got != want {
			t.Fatalf("table = %q, want %q", got, want)
		}
		if got, want := fmt.Sprint(rows.Table.ColumnNameString()), "[id label price note]"; got != want {
			t.Errorf("column names (binlog_row_metadata=FULL) = %s, want %s", got, want)
		}
		if len(rows.Rows) != 1 {
			t.Fatalf("rows = %d, want 1", len(rows.Rows))
		}
		got := fmt.Sprintf("%#v", rows.Rows[0])
		want := fmt.Sprintf("%#v", []any{int32(7), "héllo wörld", "12.50", nil})
		if got != want {
			t.Fatalf("row values = %s, want %s", got, want)
		}
		return
	}
}

func TestSmokeS3PutListGetDelete(t *testing.T) {
	env := testenv.S3(t)
	c := testenv.S3Client(t)
	bucket := testenv.NewBucket(t)
	ctx := context.Background()
	key, body := "dir/hello.txt", []byte("hello evac \x00\xff binary-safe\n")

	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put: %v", err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != key || aws.ToInt64(list.Contents[0].Size) != int64(len(body)) {
		t.Fatalf("list = %+v, want one object %s of %d bytes", list.Contents, key, len(body))
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, err := io.ReadAll(get.Body)
	_ = get.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get body = %q (err %v), want %q", got, err, body)
	}
	onDisk, err := os.ReadFile(filepath.Join(env.Root, bucket, key))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Fatalf("posix backend file = %q (err %v), want %q", onDisk, err, body)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	list, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("list after delete = %+v (err %v), want empty", list, err)
	}
}

func TestStartVersityPrivateServer(t *testing.T) {
	env := testenv.StartVersity(t)
	c := testenv.NewS3Client(env)
	bucket := testenv.NewBucketOn(t, env)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: bytes.NewReader([]byte("v"))}); err != nil {
		t.Fatalf("put: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(env.Root, bucket, "k"))
	if err != nil || string(b) != "v" {
		t.Fatalf("object on disk = %q (err %v), want \"v\"", b, err)
	}
}
